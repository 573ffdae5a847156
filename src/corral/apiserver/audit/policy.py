"""What an audit record may hold: levels, request bodies never recorded, redaction.

Decisions:

- Levels, as kube-apiserver's: ``None`` (no records), ``Metadata`` (who,
  what, when, outcome; no body), ``Request`` (Metadata plus the request
  body). There is no ``RequestResponse``: response bodies are never recorded.
- Some request bodies are **never** recorded, whatever the level, because
  they carry credentials: Secrets (any verb), ``serviceaccounts/token``
  (TokenRequest), ``tokenreviews``, Corral's ``tokens``, and every
  non-resource request under ``/v3`` and ``/v3-public`` (login, password
  changes, token calls). Their metadata is still recorded.
- The request URI is recorded with the values of sensitive query parameters
  (`SENSITIVE_PARAMETERS`) replaced by ``[redacted]``, and a cluster import
  URL (``/v3/import/<registration token>_<cluster>.yaml``) recorded as
  ``/v3/import/[redacted]``.
"""

from __future__ import annotations

import enum
from urllib.parse import unquote_plus

from corral.apiserver.requestinfo import RequestInfo
from corral.machinery.redaction import redact_path_secrets

REDACTED = "[redacted]"

#: Query parameters whose values are credentials (lower-case names).
SENSITIVE_PARAMETERS = frozenset(
    {
        "token",
        "password",
        "access_token",
        "id_token",
        "refresh_token",
        "client_secret",
        "code",
    }
)

#: (API group, resource, subresource) whose request bodies are never recorded;
#: "*" matches any subresource.
_UNRECORDED_BODIES = frozenset(
    {
        ("", "secrets", "*"),
        ("", "serviceaccounts", "token"),
        ("authentication.k8s.io", "tokenreviews", "*"),
        ("management.corral.io", "tokens", "*"),
    }
)
_UNRECORDED_PATHS = ("/v3/", "/v3-public/")


class Level(enum.Enum):
    """How much an audit record holds."""

    NONE = "None"
    METADATA = "Metadata"
    REQUEST = "Request"

    @classmethod
    def parse(cls, text: str) -> Level:
        for level in cls:
            if level.value.lower() == text.strip().lower():
                return level
        raise ValueError(f"{text!r} is not one of None, Metadata, Request")


def may_record_body(info: RequestInfo) -> bool:
    """False for requests whose body must never reach an audit record."""
    if not info.is_resource_request:
        path = info.path.rstrip("/") + "/"
        return not path.startswith(_UNRECORDED_PATHS)
    for group, resource, subresource in _UNRECORDED_BODIES:
        if (info.group, info.resource) == (group, resource) and subresource in (
            "*",
            info.subresource,
        ):
            return False
    return True


def redacted_path(path: str) -> str:
    """``path`` with any credential in it replaced: an import path keeps its
    cluster id (``/v3/import/<redacted>_c-abcde.yaml``, `redact_path_secrets`)."""
    return redact_path_secrets(path)


def redacted_query(query: str) -> str:
    """``query`` (raw, without ``?``) with sensitive parameters' values replaced.

    Other parameters keep their original encoding.
    """
    if not query:
        return ""
    parts = []
    for item in query.split("&"):
        name, eq, _ = item.partition("=")
        if eq and unquote_plus(name).lower() in SENSITIVE_PARAMETERS:
            parts.append(f"{name}={REDACTED}")
        else:
            parts.append(item)
    return "&".join(parts)


def request_uri(path: str, query: str) -> str:
    """The URI an audit record shows: redacted path and query."""
    shown = redacted_path(path)
    safe_query = redacted_query(query)
    return f"{shown}?{safe_query}" if safe_query else shown
