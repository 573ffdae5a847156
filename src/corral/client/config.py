"""Where the API server is and how to prove who we are: `ClusterConfig`, from a kubeconfig.

A `ClusterConfig` is everything `HTTPTransport` needs: the server URL, how
to trust it (a CA bundle, or explicitly no verification), how to
authenticate (client certificate and key, a bearer token or a token file
re-read when it changes, or basic auth), and the default namespace.

`load_kubeconfig` decides it the way kubectl does:

- Files: the ``path`` given; else every file in ``$KUBECONFIG`` (separated
  by ``os.pathsep``, missing files skipped); else ``~/.kube/config``.
  Several files merge: for each named cluster, user and context, and for
  ``current-context``, the first file that sets it wins.
- Relative file paths (``certificate-authority``, ``client-certificate``,
  ``client-key``, ``tokenFile``) are relative to the file that names them.
- The context is ``context`` if given, else ``current-context``; the
  namespace is the context's, else ``default``.
- A ``*-data`` field (base64 PEM) wins over its file twin; a ``token`` wins
  over ``tokenFile``. ``exec`` and ``auth-provider`` plugins are not
  supported and say so.

The in-cluster service-account configuration is in `corral.client.incluster`.
Errors: `ConfigError`, naming the file and the entry at fault.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from corral.client.errors import ConfigError

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """How to reach and authenticate to one API server."""

    server: str
    ca_data: bytes | None = None
    ca_file: Path | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    client_cert_data: bytes | None = None
    client_cert_file: Path | None = None
    client_key_data: bytes | None = None
    client_key_file: Path | None = None
    token: str | None = None
    token_file: Path | None = None
    username: str | None = None
    password: str | None = None
    namespace: str = DEFAULT_NAMESPACE

    def __repr__(self) -> str:
        # Never print secrets (DESIGN §5): only say which credential is present.
        creds = [
            name
            for name, value in (
                ("token", self.token),
                ("token_file", self.token_file),
                ("client_cert", self.client_cert_data or self.client_cert_file),
                ("basic", self.username),
            )
            if value
        ]
        return f"ClusterConfig(server={self.server!r}, namespace={self.namespace!r}, auth={creds})"


@dataclass(frozen=True, slots=True)
class _Entry:
    """One named entry of a kubeconfig, with the file that defined it."""

    body: Mapping[str, Any]
    origin: Path


def kubeconfig_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The files kubectl would read, in precedence order (only existing ones from $KUBECONFIG)."""
    env = os.environ if environ is None else environ
    listed = env.get("KUBECONFIG", "")
    if listed:
        return [Path(p).expanduser() for p in listed.split(os.pathsep) if p and Path(p).exists()]
    home = Path(env.get("HOME") or Path.home())
    return [home / ".kube" / "config"]


def load_kubeconfig(
    path: str | Path | Sequence[str | Path] | None = None,
    *,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClusterConfig:
    """The `ClusterConfig` of ``context`` (default: the current context) in a kubeconfig."""
    if path is None:
        paths = kubeconfig_paths(environ)
    elif isinstance(path, (str, Path)):
        paths = [Path(path)]
    else:
        paths = [Path(p) for p in path]
    if not paths:
        raise ConfigError("no kubeconfig: $KUBECONFIG names no existing file")
    merged = _merge([(p, _read(p)) for p in paths])
    return _resolve(merged, context)


def kubeconfig_from_dict(
    doc: Mapping[str, Any], *, context: str | None = None, base_dir: str | Path = "."
) -> ClusterConfig:
    """The `ClusterConfig` of an already-parsed kubeconfig; relative paths from ``base_dir``."""
    origin = Path(base_dir) / "<kubeconfig>"
    return _resolve(_merge([(origin, doc)]), context)


def _read(path: Path) -> Mapping[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read kubeconfig {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"kubeconfig {path} is not valid YAML: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, Mapping):
        raise ConfigError(f"kubeconfig {path} is not a mapping")
    return doc


@dataclass
class _Merged:
    clusters: dict[str, _Entry]
    users: dict[str, _Entry]
    contexts: dict[str, _Entry]
    current_context: str


def _merge(docs: Sequence[tuple[Path, Mapping[str, Any]]]) -> _Merged:
    merged = _Merged({}, {}, {}, "")
    for origin, doc in docs:
        for section, field, target in (
            ("clusters", "cluster", merged.clusters),
            ("users", "user", merged.users),
            ("contexts", "context", merged.contexts),
        ):
            items = doc.get(section) or []
            if not isinstance(items, list):
                raise ConfigError(f"kubeconfig {origin}: {section} is not a list")
            for item in items:
                if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                    raise ConfigError(f"kubeconfig {origin}: an entry of {section} has no name")
                body = item.get(field) or {}
                if not isinstance(body, Mapping):
                    raise ConfigError(f"kubeconfig {origin}: {section} {item['name']!r} is invalid")
                target.setdefault(item["name"], _Entry(body, origin))
        current = doc.get("current-context")
        if not merged.current_context and isinstance(current, str):
            merged.current_context = current
    return merged


def _resolve(merged: _Merged, context: str | None) -> ClusterConfig:
    name = context or merged.current_context
    if not name:
        raise ConfigError("kubeconfig: no context given and current-context is not set")
    ctx = merged.contexts.get(name)
    if ctx is None:
        raise ConfigError(f"kubeconfig: context {name!r} not found")
    cluster_name, user_name = ctx.body.get("cluster"), ctx.body.get("user")
    cluster = merged.clusters.get(cluster_name) if isinstance(cluster_name, str) else None
    if cluster is None:
        raise ConfigError(f"kubeconfig: cluster {cluster_name!r} of context {name!r} not found")
    user = merged.users.get(user_name) if isinstance(user_name, str) else None
    if user_name and user is None:
        raise ConfigError(f"kubeconfig: user {user_name!r} of context {name!r} not found")
    server = cluster.body.get("server")
    if not isinstance(server, str) or not server:
        raise ConfigError(f"kubeconfig: cluster {cluster_name!r} has no server")
    u = user.body if user else {}
    for plugin in ("exec", "auth-provider"):
        if u.get(plugin):
            raise ConfigError(f"kubeconfig: user {user_name!r} uses {plugin}, not supported")
    user_origin = user.origin if user else cluster.origin
    namespace = ctx.body.get("namespace")
    return ClusterConfig(
        server=server.rstrip("/"),
        ca_data=_data(cluster, "certificate-authority-data"),
        ca_file=_file(cluster, "certificate-authority"),
        insecure_skip_tls_verify=bool(cluster.body.get("insecure-skip-tls-verify", False)),
        tls_server_name=_text(cluster.body, "tls-server-name"),
        client_cert_data=_data(user, "client-certificate-data"),
        client_cert_file=_file(user, "client-certificate"),
        client_key_data=_data(user, "client-key-data"),
        client_key_file=_file(user, "client-key"),
        token=_text(u, "token"),
        token_file=_file(_Entry(u, user_origin), "tokenFile"),
        username=_text(u, "username"),
        password=_text(u, "password"),
        namespace=namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE,
    )


def _text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None


def _data(entry: _Entry | None, key: str) -> bytes | None:
    value = _text(entry.body, key) if entry else None
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"kubeconfig: {key} is not valid base64") from None


def _file(entry: _Entry | None, key: str) -> Path | None:
    value = _text(entry.body, key) if entry else None
    if value is None or entry is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else entry.origin.parent / path
