"""The configuration of a process running in a pod: its service account, as client-go reads it.

Inside a pod, the kubelet provides the API server's address in
``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT`` and mounts the
service account at ``/var/run/secrets/kubernetes.io/serviceaccount``:
``token`` (a projected token the kubelet rotates, so it is given as a token
*file* and re-read when it changes), ``ca.crt`` (the cluster CA) and
``namespace`` (the pod's namespace, the default for requests). Missing
variables or files raise `ConfigError`; a missing ``namespace`` file means
``default``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

from corral.client.config import DEFAULT_NAMESPACE, ClusterConfig
from corral.client.errors import ConfigError

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def in_cluster_config(
    root: str | Path = SERVICE_ACCOUNT_DIR, environ: Mapping[str, str] | None = None
) -> ClusterConfig:
    """The `ClusterConfig` of this pod's service account (``root``: the mounted directory)."""
    env = os.environ if environ is None else environ
    host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError(
            "not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"
        )
    root = Path(root)
    token_file, ca_file = root / "token", root / "ca.crt"
    for required in (token_file, ca_file):
        if not required.is_file():
            raise ConfigError(f"not in a cluster: {required} is missing")
    try:
        namespace = (root / "namespace").read_text().strip() or DEFAULT_NAMESPACE
    except FileNotFoundError:
        namespace = DEFAULT_NAMESPACE
    except OSError as exc:
        raise ConfigError(f"cannot read {root / 'namespace'}: {exc.strerror or exc}") from None
    return ClusterConfig(
        server=f"https://{_host(host)}:{port}",
        ca_file=ca_file,
        token_file=token_file,
        namespace=namespace,
    )


def _host(host: str) -> str:
    """An IPv6 literal in brackets, as a URL needs it."""
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host
