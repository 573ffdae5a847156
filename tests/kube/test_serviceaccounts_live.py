"""Service accounts and the root CA ConfigMap on a real ``corral server``, with kubectl.

A namespace created with kubectl gets its ``default`` ServiceAccount and the
ConfigMap ``kube-root-ca.crt`` carrying the server's own CA certificate (the
one in the data directory that kubectl trusts); a deleted ``default`` account
comes back. Polls with deadlines, no fixed sleeps.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

import polling
from kubectlproc import kubectl_ok, run_kubectl
from serverproc import CorralServer, controller_args, module_server

DEADLINE = 45.0


server = module_server("sa", controller_args("serviceaccount"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


poll = partial(polling.poll, deadline=DEADLINE)


def test_new_namespace_gets_default_account_and_root_ca(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "create", "namespace", "fresh")
    poll(
        lambda: (
            run_kubectl(server, home, "get", "serviceaccount", "default", "-n", "fresh").returncode
            == 0
        ),
        "default service account",
    )
    ca = poll(
        lambda: (
            run_kubectl(
                server,
                home,
                "get",
                "configmap",
                "kube-root-ca.crt",
                "-n",
                "fresh",
                "-o",
                r"jsonpath={.data.ca\.crt}",
            ).stdout
        ),
        "kube-root-ca.crt",
    )
    assert ca == server.ca_path.read_text()
    uid = kubectl_ok(
        server, home, "get", "sa", "default", "-n", "fresh", "-o", "jsonpath={.metadata.uid}"
    )
    kubectl_ok(server, home, "delete", "serviceaccount", "default", "-n", "fresh")
    poll(
        lambda: (
            run_kubectl(
                server,
                home,
                "get",
                "sa",
                "default",
                "-n",
                "fresh",
                "-o",
                "jsonpath={.metadata.uid}",
            ).stdout
            not in ("", uid)
        ),
        "default service account re-created",
    )
