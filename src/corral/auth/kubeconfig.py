"""The admin kubeconfig: rendering it, and reading its token back.

The file is rendered from a fixed template in which every value is a JSON
string (a JSON string is a valid YAML scalar), so writing it needs no YAML
library and cannot be broken by odd characters. It has one cluster
(``corral``, with the CA embedded as ``certificate-authority-data``), one user
(``admin``, with the bearer token) and one context (``corral``), which is
current. Reading one back (to refresh an existing file) uses PyYAML, since a
user may have edited it; that is loaded only then.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

CLUSTER_NAME = "corral"
USER_NAME = "admin"
CONTEXT_NAME = "corral"


@dataclass(frozen=True, slots=True)
class KubeconfigFields:
    """What a Corral admin kubeconfig says."""

    server: str
    ca_pem: bytes
    token: str


def render(fields: KubeconfigFields) -> bytes:
    """The kubeconfig file's bytes."""

    def q(value: str) -> str:
        return orjson.dumps(value).decode()

    ca_data = base64.b64encode(fields.ca_pem).decode()
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        f"- name: {q(CLUSTER_NAME)}\n"
        "  cluster:\n"
        f"    server: {q(fields.server)}\n"
        f"    certificate-authority-data: {q(ca_data)}\n"
        "users:\n"
        f"- name: {q(USER_NAME)}\n"
        "  user:\n"
        f"    token: {q(fields.token)}\n"
        "contexts:\n"
        f"- name: {q(CONTEXT_NAME)}\n"
        "  context:\n"
        f"    cluster: {q(CLUSTER_NAME)}\n"
        f"    user: {q(USER_NAME)}\n"
        f"current-context: {q(CONTEXT_NAME)}\n"
        "preferences: {}\n"
    ).encode()


def read_admin_token(path: Path) -> str | None:
    """The ``admin`` user's token in the kubeconfig at ``path``, or None if the
    file cannot be read or parsed or has no such token."""
    import yaml  # only when an existing file is refreshed

    try:
        doc: Any = yaml.safe_load(path.read_bytes())
    except (OSError, yaml.YAMLError):
        return None
    try:
        for entry in doc["users"]:
            if entry["name"] == USER_NAME:
                token = entry["user"]["token"]
                return token if isinstance(token, str) else None
    except (KeyError, TypeError):
        return None
    return None
