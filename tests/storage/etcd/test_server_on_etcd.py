"""``corral server --datastore etcd://…`` end to end, driven by the real kubectl."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcdserver import EtcdServer, unique_root
from kubectlproc import get_json, kubectl_argv, kubectl_env, kubectl_ok
from serverproc import CorralServer, free_port, run_corral, running_server


@pytest.fixture(scope="module")
def etcd_url(etcd_session: EtcdServer) -> str:
    return etcd_session.url(unique_root())


@pytest.fixture(scope="module")
def server(etcd_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    data = tmp_path_factory.mktemp("server-on-etcd") / "data"
    with running_server(data, ["--datastore", etcd_url]) as srv:
        yield srv


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def test_create_get_and_watch(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "create", "namespace", "shop")
    kubectl_ok(
        server, home, "create", "configmap", "settings", "-n", "shop", "--from-literal=mood=calm"
    )
    got = get_json(server, home, "configmap", "settings", "-n", "shop")
    assert got["data"] == {"mood": "calm"}
    created_rv = int(got["metadata"]["resourceVersion"])

    watcher = subprocess.Popen(
        [
            *kubectl_argv(server, "get", "cm", "settings", "-n", "shop"),
            "-w",
            "--output-watch-events",
            "-o",
            'jsonpath={.type} {.object.data.mood} {.object.metadata.resourceVersion}{"\\n"}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl_env(home),
    )
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().split() == ["ADDED", "calm", str(created_rv)]
        kubectl_ok(
            server, home, "patch", "cm", "settings", "-n", "shop", "-p", '{"data":{"mood":"happy"}}'
        )
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline and "happy" not in line:
            line = watcher.stdout.readline()
        kind, mood, revision = line.split()
        assert (kind, mood) == ("MODIFIED", "happy")
        assert int(revision) > created_rv
    finally:
        watcher.kill()
        watcher.wait()
    listed = get_json(server, home, "configmaps", "-n", "shop")
    assert [item["metadata"]["name"] for item in listed["items"]] == ["settings"]
    kubectl_ok(server, home, "delete", "configmap", "settings", "-n", "shop")
    gone = subprocess.run(
        kubectl_argv(server, "get", "cm", "settings", "-n", "shop"),
        capture_output=True,
        text=True,
        env=kubectl_env(home),
        timeout=60,
    )
    assert "NotFound" in gone.stderr


def test_a_second_server_on_the_same_etcd_sees_the_same_objects(
    server: CorralServer, etcd_url: str, home: Path, tmp_path: Path
) -> None:
    kubectl_ok(server, home, "create", "namespace", "shared")
    kubectl_ok(server, home, "create", "configmap", "one", "-n", "shared", "--from-literal=a=1")
    shared_key = str(server.data_dir / "encryption-config.json")  # replicas share the key file
    second_args = ["--datastore", etcd_url, "--encryption-provider-config", shared_key]
    with running_server(tmp_path / "second", second_args) as second:
        got = get_json(second, home, "configmap", "one", "-n", "shared")
        assert got["data"] == {"a": "1"}
        kubectl_ok(second, home, "create", "configmap", "two", "-n", "shared")
    names = [
        item["metadata"]["name"]
        for item in get_json(server, home, "configmaps", "-n", "shared")["items"]
    ]
    assert {"one", "two"} <= set(names)


def test_an_unreachable_etcd_is_one_clear_error(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    done = run_corral(
        [
            "server",
            "--data-dir",
            str(tmp_path / "data"),
            "--bind-address",
            "127.0.0.1",
            "--https-port",
            str(free_port()),
            "--http-port",
            str(free_port()),
            "--datastore",
            f"etcd://127.0.0.1:{port}",
        ],
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("corral: error: ")]
    assert f"etcd at 127.0.0.1:{port}: unavailable" in line
    backup = run_corral(
        ["backup", str(tmp_path / "b"), "--datastore", f"etcd://127.0.0.1:{port}"], timeout=60
    )
    assert backup.returncode == 1
    assert f"corral: error: etcd at 127.0.0.1:{port}: unavailable" in backup.stderr
