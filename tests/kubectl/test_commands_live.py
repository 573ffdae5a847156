"""kubectl's everyday commands, default flags, against a real ``corral server``.

No controllers run here: every command below changes or reads objects
directly, and each test asserts on the objects kubectl leaves behind (read back
with ``kubectl get -o json``), not only on exit codes. Commands that need
controllers and pods (``wait --for=condition=Available``, ``rollout history``)
are in test_workloads_live.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kubectlproc import (
    get_json,
    get_json_or_none,
    kubectl_argv,
    kubectl_env,
    kubectl_ok,
    run_kubectl,
)
from serverproc import CorralServer, module_server

NS = "cli"

server = module_server("kubectl-commands")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, server: CorralServer) -> Path:
    path = tmp_path_factory.mktemp("kubectl-home")
    kubectl_ok(server, path, "create", "namespace", NS)
    return path


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return tmp_path


def kubectl(server: CorralServer, home: Path, *args: str, stdin: str = "") -> str:
    return kubectl_ok(server, home, "-n", NS, *args, stdin=stdin)


def get(server: CorralServer, home: Path, *args: str) -> Any:
    return get_json(server, home, "-n", NS, *args)


def deployment(name: str, image: str = "nginx:1.27", **extra: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": image, **extra}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container]},
            },
        },
    }


def write(path: Path, *objects: dict[str, Any]) -> str:
    """A manifest file of `objects` (several become a v1 List, as kubectl accepts)."""
    doc = (
        objects[0] if len(objects) == 1 else {"apiVersion": "v1", "kind": "List", "items": objects}
    )
    path.write_text(json.dumps(doc))
    return str(path)


def container(obj: Any, index: int = 0) -> Any:
    return obj["spec"]["template"]["spec"]["containers"][index]


# --- apply ----------------------------------------------------------------------------------


def test_apply_creates_updates_and_prunes_what_the_file_dropped(
    server: CorralServer, home: Path, files: Path
) -> None:
    manifest = files / "app.json"
    first = deployment(
        "applied",
        env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        ports=[{"containerPort": 80}, {"containerPort": 443}],
    )
    first["metadata"]["annotations"] = {"team": "a", "extra": "x"}
    out = kubectl(server, home, "apply", "-f", write(manifest, first))
    assert out.strip() == "deployment.apps/applied created"
    created = get(server, home, "deployment", "applied")
    assert created["metadata"]["annotations"]["team"] == "a"
    last = json.loads(
        created["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert last["metadata"]["name"] == "applied"

    # someone else adds a label; the file changes the image, drops an annotation,
    # an env entry and a port
    kubectl(server, home, "label", "deployment", "applied", "owner=ops")
    second = deployment(
        "applied",
        image="nginx:1.28",
        env=[{"name": "A", "value": "1"}],
        ports=[{"containerPort": 80}],
    )
    second["metadata"]["annotations"] = {"team": "a"}
    out = kubectl(server, home, "apply", "-f", write(manifest, second))
    assert out.strip() == "deployment.apps/applied configured"
    updated = get(server, home, "deployment", "applied")
    annotations = updated["metadata"]["annotations"]
    assert annotations["team"] == "a"
    assert "extra" not in annotations
    assert updated["metadata"]["labels"] == {"app": "applied", "owner": "ops"}
    assert container(updated)["image"] == "nginx:1.28"
    assert container(updated)["env"] == [{"name": "A", "value": "1"}]
    assert [p["containerPort"] for p in container(updated)["ports"]] == [80]
    assert updated["metadata"]["generation"] == 2

    out = kubectl(server, home, "apply", "-f", str(manifest))
    assert out.strip() == "deployment.apps/applied unchanged"
    assert get(server, home, "deployment", "applied")["metadata"]["generation"] == 2


# --- edit -----------------------------------------------------------------------------------


def editor(files: Path, code: str) -> dict[str, str]:
    """KUBE_EDITOR: a Python script that rewrites the file kubectl hands it.

    Every text it is handed is appended to ``seen.log``, to check what the user saw.
    """
    script = files / "editor.py"
    script.write_text(
        "import re, sys\n"
        "path = sys.argv[1]\n"
        "text = open(path).read()\n"
        f"open({str(files / 'seen.log')!r}, 'a').write(text)\n"
        f"{code}\n"
        "open(path, 'w').write(text)\n"
    )
    return {"KUBE_EDITOR": f"{sys.executable} {script}"}


def run_with_env(
    server: CorralServer, home: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        kubectl_argv(server, "-n", NS, *args),
        capture_output=True,
        text=True,
        env={**kubectl_env(home), **env},
        timeout=60,
    )


def test_edit_changes_the_object(server: CorralServer, home: Path, files: Path) -> None:
    kubectl(server, home, "create", "configmap", "edited", "--from-literal=color=blue")
    env = editor(files, "text = text.replace('color: blue', 'color: green')")
    done = run_with_env(server, home, env, "edit", "configmap", "edited")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "configmap/edited edited"
    assert get(server, home, "configmap", "edited")["data"] == {"color": "green"}


def test_an_edit_the_server_rejects_shows_the_error(
    server: CorralServer, home: Path, files: Path
) -> None:
    kubectl(server, home, "apply", "-f", write(files / "d.json", deployment("badedit")))
    env = editor(files, "text = re.sub(r'replicas: 1', 'replicas: -3', text, count=1)")
    done = run_with_env(server, home, env, "edit", "deployment", "badedit")
    assert done.returncode != 0
    assert 'deployments.apps "badedit" is invalid' in done.stderr
    # kubectl reopens the editor with the server's reasons as comments on top
    seen = (files / "seen.log").read_text()
    assert '# deployments.apps "badedit" was not valid:' in seen
    assert "# * spec.replicas: Invalid value: -3: must be greater than or equal to 0" in seen
    assert get(server, home, "deployment", "badedit")["spec"]["replicas"] == 1


# --- diff -----------------------------------------------------------------------------------


def test_diff_exits_1_with_a_diff_and_0_when_equal(
    server: CorralServer, home: Path, files: Path
) -> None:
    manifest = files / "diff.json"
    kubectl(server, home, "apply", "-f", write(manifest, deployment("diffed")))
    same = run_kubectl(server, home, "-n", NS, "diff", "-f", str(manifest))
    assert (same.returncode, same.stdout, same.stderr) == (0, "", "")
    changed = run_kubectl(
        server, home, "-n", NS, "diff", "-f", write(manifest, deployment("diffed", "nginx:2"))
    )
    assert changed.returncode == 1, changed.stderr
    changes = [line.split() for line in changed.stdout.splitlines() if line[:1] in "+-"]
    assert ["-", "-", "image:", "nginx:1.27"] in changes
    assert ["+", "-", "image:", "nginx:2"] in changes
    assert container(get(server, home, "deployment", "diffed"))["image"] == "nginx:1.27"


# --- replace --------------------------------------------------------------------------------


def test_replace_and_replace_force(server: CorralServer, home: Path, files: Path) -> None:
    manifest = files / "r.json"
    kubectl(server, home, "create", "-f", write(manifest, deployment("replaced")))
    before = get(server, home, "deployment", "replaced")
    out = kubectl(server, home, "replace", "-f", write(manifest, deployment("replaced", "nginx:2")))
    assert out.strip() == "deployment.apps/replaced replaced"
    after = get(server, home, "deployment", "replaced")
    assert container(after)["image"] == "nginx:2"
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    out = kubectl(
        server, home, "replace", "--force", "-f", write(manifest, deployment("replaced", "nginx:3"))
    )
    assert out.split() == [
        "deployment.apps",
        '"replaced"',
        "deleted",
        "deployment.apps/replaced",
        "replaced",
    ]
    forced = get(server, home, "deployment", "replaced")
    assert container(forced)["image"] == "nginx:3"
    assert forced["metadata"]["uid"] != before["metadata"]["uid"]


# --- create --dry-run=server ----------------------------------------------------------------


def test_create_deployment_dry_run_server_stores_nothing(server: CorralServer, home: Path) -> None:
    out = kubectl(
        server,
        home,
        "create",
        "deployment",
        "dry",
        "--image=nginx:1.27",
        "--dry-run=server",
        "-o",
        "yaml",
    )
    assert "name: dry" in out
    assert "imagePullPolicy: IfNotPresent" in out  # defaulted by the server
    assert "uid:" in out
    assert get_json_or_none(server, home, "-n", NS, "deployment", "dry") is None


# --- wait -----------------------------------------------------------------------------------


def test_wait_for_jsonpath(server: CorralServer, home: Path) -> None:
    kubectl(server, home, "create", "configmap", "waited", "--from-literal=state=pending")
    env = kubectl_env(home)
    waiter = subprocess.Popen(
        kubectl_argv(
            server,
            "-n",
            NS,
            "wait",
            "--for=jsonpath={.data.state}=done",
            "configmap/waited",
            "--timeout=30s",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        # whether kubectl is already watching or reads the object after this, it is met
        kubectl(server, home, "patch", "configmap", "waited", "-p", '{"data":{"state":"done"}}')
        out, err = waiter.communicate(timeout=40)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, err
    assert out.strip() == "configmap/waited condition met"


def test_wait_for_delete(server: CorralServer, home: Path) -> None:
    kubectl(server, home, "run", "doomed", "--image=busybox", "--restart=Never")
    env = kubectl_env(home)
    waiter = subprocess.Popen(
        kubectl_argv(server, "-n", NS, "wait", "--for=delete", "pod/doomed", "--timeout=30s"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        kubectl(server, home, "delete", "pod", "doomed", "--wait=false")
        out, err = waiter.communicate(timeout=40)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, err
    # If kubectl's first read came after the delete, there is nothing to wait for: it exits 0
    # without a line (kubectl treats "nothing found" as deleted).
    assert out.strip() in ("pod/doomed condition met", "")
    assert get_json_or_none(server, home, "-n", NS, "pod", "doomed") is None


# --- auth can-i -----------------------------------------------------------------------------


def test_auth_can_i_answers_yes_for_the_admin(server: CorralServer, home: Path) -> None:
    assert kubectl(server, home, "auth", "can-i", "create", "deployments").strip() == "yes"
    assert kubectl_ok(server, home, "auth", "can-i", "'*'", "'*'").strip() == "yes"
    listing = kubectl(server, home, "auth", "can-i", "--list")
    assert "Resources" in listing.splitlines()[0]


# --- set ------------------------------------------------------------------------------------


def test_set_env_image_and_resources(server: CorralServer, home: Path, files: Path) -> None:
    kubectl(server, home, "apply", "-f", write(files / "s.json", deployment("settable")))
    kubectl(server, home, "set", "env", "deployment/settable", "MODE=fast", "LEVEL=3")
    kubectl(server, home, "set", "image", "deployment/settable", "app=nginx:1.29")
    kubectl(
        server,
        home,
        "set",
        "resources",
        "deployment/settable",
        "--limits=cpu=200m,memory=128Mi",
        "--requests=cpu=100m",
    )
    c = container(get(server, home, "deployment", "settable"))
    assert c["image"] == "nginx:1.29"
    assert c["env"] == [{"name": "MODE", "value": "fast"}, {"name": "LEVEL", "value": "3"}]
    assert c["resources"] == {
        "limits": {"cpu": "200m", "memory": "128Mi"},
        "requests": {"cpu": "100m"},
    }
    kubectl(server, home, "set", "env", "deployment/settable", "MODE-")
    c = container(get(server, home, "deployment", "settable"))
    assert c["env"] == [{"name": "LEVEL", "value": "3"}]


# --- expose ---------------------------------------------------------------------------------


def test_expose_deployment(server: CorralServer, home: Path, files: Path) -> None:
    kubectl(server, home, "apply", "-f", write(files / "e.json", deployment("exposed")))
    out = kubectl(
        server, home, "expose", "deployment", "exposed", "--port=80", "--target-port=8080"
    )
    assert out.strip() == "service/exposed exposed"
    service = get(server, home, "service", "exposed")
    assert service["spec"]["selector"] == {"app": "exposed"}
    assert service["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["clusterIP"]


# --- label, annotate ------------------------------------------------------------------------


def test_label_and_annotate(server: CorralServer, home: Path) -> None:
    kubectl(server, home, "create", "configmap", "tagged")
    kubectl(server, home, "label", "configmap", "tagged", "tier=web", "env=prod")
    kubectl(server, home, "annotate", "configmap", "tagged", "owner=team-a")
    kubectl(server, home, "label", "configmap", "tagged", "tier=db", "--overwrite")
    kubectl(server, home, "label", "configmap", "tagged", "env-")
    refused = run_kubectl(server, home, "-n", NS, "label", "configmap", "tagged", "tier=x")
    assert refused.returncode != 0
    assert "'tier' already has a value (db)" in refused.stderr
    cm = get(server, home, "configmap", "tagged")
    assert cm["metadata"]["labels"] == {"tier": "db"}
    assert cm["metadata"]["annotations"] == {"owner": "team-a"}


# --- patch ----------------------------------------------------------------------------------


def test_patch_strategic_merge_and_json(server: CorralServer, home: Path, files: Path) -> None:
    kubectl(
        server,
        home,
        "apply",
        "-f",
        write(files / "p.json", deployment("patched", env=[{"name": "A", "value": "1"}])),
    )
    kubectl(
        server,
        home,
        "patch",
        "deployment",
        "patched",
        "--type=strategic",
        "-p",
        json.dumps(
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "app", "env": [{"name": "B", "value": "2"}]},
                                {"name": "sidecar", "image": "busybox"},
                            ]
                        }
                    }
                }
            }
        ),
    )
    d = get(server, home, "deployment", "patched")
    assert [c["name"] for c in d["spec"]["template"]["spec"]["containers"]] == ["app", "sidecar"]
    assert container(d)["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]

    kubectl(
        server,
        home,
        "patch",
        "deployment",
        "patched",
        "--type=merge",
        "-p",
        json.dumps({"metadata": {"labels": {"patched": "yes"}}, "spec": {"replicas": 3}}),
    )
    kubectl(
        server,
        home,
        "patch",
        "deployment",
        "patched",
        "--type=json",
        "-p",
        json.dumps([{"op": "remove", "path": "/spec/template/spec/containers/1"}]),
    )
    d = get(server, home, "deployment", "patched")
    assert d["spec"]["replicas"] == 3
    assert d["metadata"]["labels"] == {"app": "patched", "patched": "yes"}
    assert [c["name"] for c in d["spec"]["template"]["spec"]["containers"]] == ["app"]

    bad = run_kubectl(
        server,
        home,
        "-n",
        NS,
        "patch",
        "deployment",
        "patched",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}',
    )
    assert bad.returncode != 0
    assert 'merge key "name"' in bad.stderr
    assert "500" not in bad.stderr


# --- scale ----------------------------------------------------------------------------------


def test_scale(server: CorralServer, home: Path, files: Path) -> None:
    kubectl(server, home, "apply", "-f", write(files / "sc.json", deployment("scaled")))
    out = kubectl(server, home, "scale", "deployment/scaled", "--replicas=4")
    assert out.strip() == "deployment.apps/scaled scaled"
    assert get(server, home, "deployment", "scaled")["spec"]["replicas"] == 4
    refused = run_kubectl(
        server, home, "-n", NS, "scale", "deployment/scaled", "--replicas=2", "--current-replicas=3"
    )
    assert refused.returncode != 0
    assert get(server, home, "deployment", "scaled")["spec"]["replicas"] == 4


# --- delete -f ------------------------------------------------------------------------------


def test_delete_f(server: CorralServer, home: Path, files: Path) -> None:
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "gone", "namespace": NS},
    }
    manifest = write(files / "del.json", deployment("deleted"), configmap)
    kubectl(server, home, "apply", "-f", manifest)
    out = kubectl(server, home, "delete", "-f", manifest)
    assert out.splitlines() == ['deployment.apps "deleted" deleted', 'configmap "gone" deleted']
    assert get_json_or_none(server, home, "-n", NS, "deployment", "deleted") is None
    assert get_json_or_none(server, home, "-n", NS, "configmap", "gone") is None


# --- get -w ---------------------------------------------------------------------------------


def test_get_watch_shows_a_new_object(server: CorralServer, home: Path) -> None:
    kubectl(server, home, "create", "configmap", "watched-old")
    watcher = subprocess.Popen(
        kubectl_argv(server, "-n", NS, "get", "configmaps", "-w", "-o", "name"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl_env(home),
    )
    try:
        assert watcher.stdout is not None
        first = watcher.stdout.readline()  # the existing list comes first
        assert first.startswith("configmap/")
        kubectl(server, home, "create", "configmap", "watched-new")
        deadline = time.monotonic() + 20
        line = first
        while time.monotonic() < deadline and "watched-new" not in line:
            line = watcher.stdout.readline()
        assert line.strip() == "configmap/watched-new"
    finally:
        watcher.kill()
        watcher.wait()


def test_patch_follows_each_kinds_schema(server: CorralServer, home: Path) -> None:
    """A PodDisruptionBudget's selector is replaced (patchStrategy "replace" in its schema)."""
    kubectl(
        server, home, "create", "pdb", "budget", "--selector=app=a,tier=web", "--min-available=1"
    )
    kubectl(
        server,
        home,
        "patch",
        "pdb",
        "budget",
        "-p",
        '{"spec":{"selector":{"matchLabels":{"app":"b"}}}}',
    )
    assert get(server, home, "pdb", "budget")["spec"]["selector"] == {"matchLabels": {"app": "b"}}
    bad = run_kubectl(
        server, home, "-n", NS, "patch", "pdb", "budget", "-p", '{"spec":{"$patch":"explode"}}'
    )
    assert bad.returncode != 0
    assert bad.stderr.startswith("Error from server (BadRequest): ")
    assert 'unknown "$patch" directive "explode" in spec' in bad.stderr


WIDGETS = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer"},
                                    "shade": {"type": "string"},
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


def test_apply_updates_a_custom_resource(server: CorralServer, home: Path, files: Path) -> None:
    """kubectl sends a JSON merge patch for custom resources (they take no strategic one)."""
    kubectl_ok(server, home, "apply", "-f", write(files / "crd.json", WIDGETS))
    kubectl_ok(server, home, "wait", "--for=condition=Established", "crd/widgets.example.com")
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": NS},
        "spec": {"size": 3, "shade": "red"},
    }
    manifest = files / "widget.json"
    kubectl(server, home, "apply", "-f", write(manifest, widget))
    widget["spec"] = {"size": 4}
    out = kubectl(server, home, "apply", "-f", write(manifest, widget))
    assert out.strip() == "widget.example.com/w1 configured"
    assert get(server, home, "widget", "w1")["spec"] == {"size": 4}


def test_apply_switches_union_fields_with_retain_keys(
    server: CorralServer, home: Path, files: Path
) -> None:
    """kubectl sends $retainKeys for Deployment.spec.strategy and each volume (their schemas)."""
    manifest = files / "union.json"
    first = deployment("unions")
    first["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2}}
    first["spec"]["template"]["spec"]["volumes"] = [{"name": "v", "emptyDir": {}}]
    kubectl(server, home, "apply", "-f", write(manifest, first))
    second = deployment("unions")
    second["spec"]["strategy"] = {"type": "Recreate"}
    second["spec"]["template"]["spec"]["volumes"] = [{"name": "v", "configMap": {"name": "c"}}]
    kubectl(server, home, "apply", "-f", write(manifest, second))
    d = get(server, home, "deployment", "unions")
    assert d["spec"]["strategy"] == {"type": "Recreate"}
    assert d["spec"]["template"]["spec"]["volumes"] == [
        {"name": "v", "configMap": {"name": "c", "defaultMode": 420}}
    ]
