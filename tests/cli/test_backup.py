"""``corral backup`` / ``corral restore``: a store made through a real server is
backed up, restored into a fresh store of the same or another driver, and a
server started on the restored store serves every object to kubectl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etcdserver import EtcdServer, etcd_session, unique_root
from kubectlproc import get_json, kubectl_ok
from serverproc import CorralServer, run_corral, running_server

__all__ = ["etcd_session"]

NAMESPACES = ("alpha", "beta", "gamma")
CONFIGMAPS = 15
SECRETS = 4
DEPLOYMENTS = 2


def manifest() -> str:
    """Several kinds in several namespaces: namespaces, configmaps, secrets, deployments."""
    docs: list[dict[str, object]] = []
    for ns in NAMESPACES:
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for i in range(CONFIGMAPS):
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"cm-{i}", "namespace": ns},
                    "data": {"index": str(i), "ns": ns},
                }
            )
        for i in range(SECRETS):
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": f"secret-{i}", "namespace": ns},
                    "stringData": {"password": f"pw-{ns}-{i}"},
                }
            )
        for i in range(DEPLOYMENTS):
            labels = {"app": f"web-{i}"}
            docs.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": f"web-{i}", "namespace": ns},
                    "spec": {
                        "replicas": 2,
                        "selector": {"matchLabels": labels},
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                        },
                    },
                }
            )
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})


def populate(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "apply", "-f", "-", stdin=manifest())


def assert_every_object(server: CorralServer, home: Path) -> None:
    names = {item["metadata"]["name"] for item in get_json(server, home, "namespaces")["items"]}
    assert set(NAMESPACES) <= names
    for ns in NAMESPACES:
        cms = get_json(server, home, "configmaps", "-n", ns)["items"]
        mine = {cm["metadata"]["name"]: cm["data"] for cm in cms if "index" in cm.get("data", {})}
        assert mine == {f"cm-{i}": {"index": str(i), "ns": ns} for i in range(CONFIGMAPS)}
        secrets = get_json(server, home, "secrets", "-n", ns)["items"]
        assert {s["metadata"]["name"] for s in secrets} >= {f"secret-{i}" for i in range(SECRETS)}
        deployments = get_json(server, home, "deployments", "-n", ns)["items"]
        assert sorted(d["metadata"]["name"] for d in deployments) == [
            f"web-{i}" for i in range(DEPLOYMENTS)
        ]
        assert all(d["spec"]["replicas"] == 2 for d in deployments)
    secret = get_json(server, home, "secret", "secret-1", "-n", "beta")
    assert secret["data"]["password"] == "cHctYmV0YS0x"  # base64 of pw-beta-1


def corral_ok(*args: str) -> str:
    done = run_corral(args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def corral_fails(*args: str) -> str:
    """The one ``corral: error:`` line of a command that must fail (exit 1)."""
    done = run_corral(args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("corral: error: ")]
    return line


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def test_sqlite_to_etcd_and_back(tmp_path: Path, home: Path, etcd_session: EtcdServer) -> None:
    data = tmp_path / "data"
    backup = tmp_path / "sqlite.backup"
    with running_server(data) as server:
        populate(server, home)
        # The server holds the SQLite file: the backup reads it beside the server.
        out = corral_ok("backup", str(backup), "--data-dir", str(data))
        assert out.startswith("backed up ")
        assert "read beside the running server" in out
        # Restoring into a datastore a server holds is refused, with the reason.
        line = corral_fails("restore", str(backup), "--data-dir", str(data), "--force")
        assert "stop the server before restoring" in line
    header = json.loads(backup.read_bytes().split(b"\n", 1)[0])
    assert header["format"] == "corral-backup"
    assert header["keys"] > len(NAMESPACES) * (CONFIGMAPS + SECRETS + DEPLOYMENTS)
    stopped = tmp_path / "stopped.backup"
    out = corral_ok("backup", str(stopped), "--data-dir", str(data))
    assert "read beside" not in out

    # SQLite -> etcd: the same data directory (TLS, kubeconfig), the store on etcd.
    etcd_url = etcd_session.url(unique_root())
    out = corral_ok("restore", str(backup), "--datastore", etcd_url)
    assert out.startswith("restored ")
    with running_server(data, ["--datastore", etcd_url]) as server:
        assert_every_object(server, home)
        kubectl_ok(server, home, "create", "configmap", "made-on-etcd", "-n", "alpha")
        # etcd -> SQLite, taken while the server runs on etcd.
        second = tmp_path / "etcd.backup"
        corral_ok("backup", str(second), "--datastore", etcd_url)

    fresh = tmp_path / "restored" / "state.db"
    corral_ok("restore", str(second), "--datastore", f"sqlite://{fresh}")
    with running_server(data, ["--datastore", f"sqlite://{fresh}"]) as server:
        assert_every_object(server, home)
        get_json(server, home, "configmap", "made-on-etcd", "-n", "alpha")


def test_restore_refuses_a_non_empty_store_unless_forced(tmp_path: Path, home: Path) -> None:
    data = tmp_path / "data"
    with running_server(data) as server:
        kubectl_ok(server, home, "create", "namespace", "kept")
    backup = tmp_path / "one.backup"
    corral_ok("backup", str(backup), "--data-dir", str(data))
    with running_server(data) as server:
        kubectl_ok(server, home, "create", "namespace", "later")

    line = corral_fails("restore", str(backup), "--data-dir", str(data))
    assert "not empty" in line
    assert "--force" in line
    corral_ok("restore", str(backup), "--data-dir", str(data), "--force")
    with running_server(data) as server:
        names = {i["metadata"]["name"] for i in get_json(server, home, "namespaces")["items"]}
        assert "kept" in names
        assert "later" not in names


def test_corrupt_foreign_and_newer_files_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    target = f"sqlite://{tmp_path / 'target.db'}"
    with running_server(data):
        pass
    backup = tmp_path / "good.backup"
    corral_ok("backup", str(backup), "--data-dir", str(data))
    good = backup.read_bytes()

    corrupt = tmp_path / "corrupt.backup"
    middle = len(good) // 2
    corrupt.write_bytes(good[:middle] + bytes([good[middle] ^ 0x01]) + good[middle + 1 :])
    assert "damaged" in corral_fails("restore", str(corrupt), "--datastore", target)

    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(good[: len(good) - 40])
    assert "damaged" in corral_fails("restore", str(truncated), "--datastore", target)

    foreign = tmp_path / "foreign.yaml"
    foreign.write_text("apiVersion: v1\nkind: ConfigMap\n")
    assert "not a Corral backup" in corral_fails("restore", str(foreign), "--datastore", target)

    header, rest = good.split(b"\n", 1)
    newer = json.loads(header)
    newer["version"] = 99
    (tmp_path / "newer.backup").write_bytes(json.dumps(newer).encode() + b"\n" + rest)
    line = corral_fails("restore", str(tmp_path / "newer.backup"), "--datastore", target)
    assert "newer Corral" in line
    # The file is checked before the datastore is opened: nothing was created.
    assert not (tmp_path / "target.db").exists()

    missing = corral_fails("backup", str(tmp_path / "x.backup"), "--data-dir", str(tmp_path / "no"))
    assert "no datastore at" in missing
