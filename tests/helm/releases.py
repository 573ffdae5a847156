"""Helm v4 against a test server, and what Helm leaves in it.

The Helm engine is helm-python-sdk: Helm's own Go SDK (``helm.sh/helm/v4``)
compiled into a shared library and called through ctypes, so every request
Helm sends (discovery, the release Secrets, creates, patches, the watches
behind ``wait``) is Helm's and nothing here re-implements it. `helm_config`
binds it to a server's admin kubeconfig.

`install` is the one action that needs more than the SDK's Python surface:
Helm 4 installs with server-side apply unless told otherwise, and the Python
wrapper does not pass the ABI's ``server_side_apply`` option through, so
`install` calls the ABI itself when a test asks for client-side apply.
Upgrades and rollbacks keep the release's recorded apply method (Helm's
``auto``), so they need no such option; `upgrade_forcing_conflicts` calls
the ABI for ``force_conflicts``, which the wrapper does not pass either.

`release_secrets` and `decode_release` read Helm's storage as a user would
with kubectl: Secrets of type ``helm.sh/release.v1`` labelled
``owner=helm,name=<release>``, whose ``release`` key holds base64 of the
gzipped JSON release (itself base64 again in the API's ``data`` field).
"""

from __future__ import annotations

import base64
import enum
import gzip
import json
from pathlib import Path
from typing import Any

import helm_python as helm
import httpx
from helm_python import _native

from kubectlproc import get_json
from serverproc import CorralServer

CHARTS = Path(__file__).parent / "charts"
GREETER = CHARTS / "greeter"
WIDGETS = CHARTS / "widgets"
RELEASE_SECRET_TYPE = "helm.sh/release.v1"
WAIT_SECONDS = 90


class ApplyMethod(enum.Enum):
    """How Helm writes a release's objects on install."""

    DEFAULT = "Helm's default (server-side apply in Helm 4)"
    CLIENT_SIDE = "client-side apply (create, then three-way merge patches)"


def helm_config(server: CorralServer, namespace: str) -> helm.Config:
    """Helm's action configuration for ``namespace`` through the server's admin kubeconfig."""
    return helm.Config(kubeconfig_path=server.kubeconfig_path, namespace=namespace)


def install(
    cfg: helm.Config,
    name: str,
    values: dict[str, Any],
    apply: ApplyMethod,
    chart: Path = GREETER,
    wait: str | None = "watcher",
) -> dict[str, Any]:
    """``helm install`` of ``chart`` as ``name``, waiting with Helm's ``wait`` strategy
    (``watcher``: Helm 4's kstatus watches; ``legacy``: Helm 3's polling; None: no
    wait); Helm's release summary."""
    if apply is ApplyMethod.DEFAULT:
        if wait:
            return cfg.install(chart, name, values, wait=wait, timeout=WAIT_SECONDS)
        return cfg.install(chart, name, values)
    options: dict[str, Any] = {"server_side_apply": False}
    if wait:
        options |= {"wait": wait, "timeout_seconds": WAIT_SECONDS}
    payload = _native.call_string(
        "helm_install",
        cfg._raw(),
        _native.HANDLE(0),  # no cancellation context
        _native.HANDLE(0),  # no loaded chart: the chart is a path
        str(chart),
        name,
        json.dumps(values),
        json.dumps(options),
    )
    summary: dict[str, Any] = json.loads(payload)
    return summary


def upgrade_forcing_conflicts(
    cfg: helm.Config, name: str, values: dict[str, Any], chart: Path = GREETER
) -> dict[str, Any]:
    """``helm upgrade --force-conflicts --wait=watcher`` (server-side apply taking over
    fields other managers own); the wrapper does not pass ``force_conflicts`` through."""
    options = {"wait": "watcher", "timeout_seconds": WAIT_SECONDS, "force_conflicts": True}
    payload = _native.call_string(
        "helm_upgrade",
        cfg._raw(),
        _native.HANDLE(0),
        _native.HANDLE(0),
        str(chart),
        name,
        json.dumps(values),
        json.dumps(options),
    )
    summary: dict[str, Any] = json.loads(payload)
    return summary


def serves_server_side_apply(server: CorralServer) -> bool:
    """Whether the server takes an apply patch (a dry run; nothing is written)."""
    with server.client(server.token) as http:
        answer = http.patch(
            "/api/v1/namespaces/default/configmaps/helm-apply-probe",
            params={"fieldManager": "helm-test", "dryRun": "All"},
            headers={"Content-Type": "application/apply-patch+yaml"},
            content=b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"helm-apply-probe"}}',
        )
    return answer.status_code != httpx.codes.UNSUPPORTED_MEDIA_TYPE


def release_secrets(server: CorralServer, home: Path, namespace: str, name: str) -> list[Any]:
    """Helm's release Secrets for release ``name``, oldest revision first (via kubectl)."""
    selector = f"owner=helm,name={name}"
    items: list[Any] = get_json(server, home, "secrets", "-n", namespace, "-l", selector)["items"]
    return sorted(items, key=lambda s: int(s["metadata"]["labels"]["version"]))


def decode_release(secret: dict[str, Any]) -> dict[str, Any]:
    """The JSON release a release Secret holds: base64 (API) → base64 → gzip → JSON."""
    stored = base64.b64decode(secret["data"]["release"])
    release: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(stored)))
    return release
