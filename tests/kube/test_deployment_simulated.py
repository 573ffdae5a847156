"""A Deployment end to end with the real scheduler and simulated nodes (no test
kubelet): create, roll out, update the image, scale down — all through kubectl."""

from __future__ import annotations

from pathlib import Path

from kubectlproc import kubectl_ok
from serverproc import CorralServer, controller_args, module_server

from .workloads import Api, wait_for

server = module_server(
    "sim", controller_args("deployment,replicaset,scheduler", "--simulate-nodes", "2")
)


def test_rollout_on_simulated_nodes(server: CorralServer, tmp_path: Path) -> None:
    api = Api(server)
    ns = api.new_namespace()

    def kubectl(*args: str) -> str:
        return kubectl_ok(server, tmp_path, "-n", ns, *args)

    kubectl("create", "deployment", "web", "--image=nginx:1", "--replicas=3")
    kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    pods = api.active_pods(ns)
    assert len(pods) == 3
    assert all(p["spec"].get("nodeName", "").startswith("corral-sim-") for p in pods)

    kubectl("set", "image", "deployment/web", "nginx=nginx:2")
    kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    d = api.deployment(ns, "web")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert d["status"]["updatedReplicas"] == 3

    kubectl("scale", "deployment/web", "--replicas=1")
    wait_for(lambda: len(api.pods(ns)) == 1, deadline=60, what="one pod left")
    [pod] = api.pods(ns)
    assert pod["spec"]["containers"][0]["image"] == "nginx:2"
    api.close()
