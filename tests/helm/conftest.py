"""Fixtures shared by the Helm test modules.

Each module defines its own ``server`` (a `module_server` with the
controllers and simulated nodes it needs). Each test class names the apply
method it runs Helm with (``apply``) and its own namespace (``namespace``):
`release_namespace` creates that namespace, or skips the class when the
server cannot serve the apply method, and `cfg` is Helm bound to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import helm_python as helm
import pytest

from kubectlproc import kubectl_ok
from serverproc import CorralServer

from .releases import ApplyMethod, helm_config, serves_server_side_apply


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubectl-home")


@pytest.fixture(scope="class", autouse=True)
def release_namespace(request: pytest.FixtureRequest, server: CorralServer, home: Path) -> str:
    """The class's namespace, created; the class is skipped if its apply method is not served.
    A test outside such a class gets ``default``."""
    apply: ApplyMethod | None = getattr(request.cls, "apply", None)
    namespace: str | None = getattr(request.cls, "namespace", None)
    if apply is None or namespace is None:
        return "default"
    if apply is ApplyMethod.DEFAULT and not serves_server_side_apply(server):
        pytest.skip("Helm 4 installs with server-side apply; this server does not serve it")
    kubectl_ok(server, home, "create", "namespace", namespace)
    return namespace


@pytest.fixture(scope="class")
def cfg(server: CorralServer, release_namespace: str) -> Iterator[helm.Config]:
    """Helm bound to the server's admin kubeconfig and the class's namespace."""
    with helm_config(server, release_namespace) as config:
        yield config
