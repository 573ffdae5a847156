"""A Deployment survives a server restart: the same ReplicaSet (same pod-template
hash) is found again, nothing is recreated, and a later scale reuses it."""

from __future__ import annotations

from pathlib import Path

from kubectlproc import kubectl_ok
from serverproc import running_server

from .test_deployment_kubectl import ARGS, deployment_yaml
from .workloads import Api, FakeKubelet, wait_for


def test_restart_keeps_the_replica_set_and_its_hash(tmp_path: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    with running_server(data, ARGS) as server:
        api = Api(server)
        ns = api.new_namespace()
        with FakeKubelet(server, ns):
            kubectl_ok(server, home, "-n", ns, "apply", "-f", "-", stdin=deployment_yaml("keep", 2))
            kubectl_ok(server, home, "-n", ns, "rollout", "status", "deployment/keep")
        [before] = api.replica_sets(ns)
        api.close()
    with running_server(data, ARGS) as server:
        api = Api(server)
        with FakeKubelet(server, ns):
            kubectl_ok(server, home, "-n", ns, "scale", "deployment/keep", "--replicas=3")
            kubectl_ok(server, home, "-n", ns, "rollout", "status", "deployment/keep")
            wait_for(lambda: len(api.active_pods(ns)) == 3, what="3 pods")
        [after] = api.replica_sets(ns)
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
        assert after["metadata"]["name"] == before["metadata"]["name"]
        assert after["spec"]["replicas"] == 3
        d = api.deployment(ns, "keep")
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
        assert d["status"]["availableReplicas"] == 3
        api.close()
