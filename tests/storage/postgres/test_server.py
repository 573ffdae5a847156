"""``corral server --datastore postgres://…`` end to end, and riding out an outage.

A real server process on a real PostgreSQL, driven by the real kubectl and
by plain HTTPS, as a user would.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kubectlproc import get_json, kubectl_argv, kubectl_env, kubectl_ok
from pgserver import PASSWORD, PostgresServer, started_postgres
from serverproc import CorralServer, free_port, run_corral, running_server

CMS = "/api/v1/namespaces/default/configmaps"
DEADLINE = 30.0


def _configmap(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"k": name},
    }


def _until(check: object, what: str) -> None:
    assert callable(check)
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {DEADLINE}s")
        time.sleep(0.1)


def _readyz(server: CorralServer) -> httpx.Response:
    return httpx.get(f"{server.http_url}/readyz?verbose", timeout=10)


def _watch_lines(server: CorralServer, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *kubectl_argv(server, "get", "cm", "-n", "default"),
            "-w",
            "--output-watch-events",
            "-o",
            'jsonpath={.type} {.object.metadata.name}{"\\n"}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kubectl_env(home),
    )


def _next_named(watcher: subprocess.Popen[str], name: str) -> str:
    assert watcher.stdout is not None
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        line = watcher.stdout.readline()
        if not line:
            raise AssertionError(
                f"the watch ended: {watcher.stderr.read() if watcher.stderr else ''}"
            )
        if line.split()[-1:] == [name]:
            return line.strip()
    raise AssertionError(f"no event for {name}")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def test_kubectl_create_get_watch_on_postgres(
    postgres_server: PostgresServer, fresh_database: str, tmp_path: Path, home: Path
) -> None:
    with running_server(tmp_path / "data", ("--datastore", fresh_database)) as server:
        assert PASSWORD not in server.stderr()
        kubectl_ok(server, home, "create", "configmap", "first", "--from-literal=k=v")
        got = get_json(server, home, "configmap", "first")
        assert got["data"] == {"k": "v"}
        watcher = _watch_lines(server, home)
        try:
            assert _next_named(watcher, "first") == "ADDED first"
            kubectl_ok(server, home, "create", "configmap", "second", "--from-literal=k=w")
            assert _next_named(watcher, "second") == "ADDED second"
            kubectl_ok(server, home, "delete", "configmap", "first")
            assert _next_named(watcher, "first") == "DELETED first"
        finally:
            watcher.kill()
            watcher.wait()
    # Everything is in PostgreSQL, not in the data directory.
    assert not (tmp_path / "data" / "state.db").exists()
    database = fresh_database.rsplit("/", 1)[1].split("?")[0]
    names = postgres_server.psql(
        "SELECT name FROM corral_current WHERE NOT deleted AND name LIKE '%configmaps/default/%'",
        database,
    ).split()
    assert [name.rsplit("/", 1)[1] for name in names] == ["second"]


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own: it is going to be stopped."""
    with started_postgres() as server:
        yield server


def test_an_unreachable_datastore_makes_the_server_unready_and_writes_503(
    own_postgres: PostgresServer, tmp_path: Path, home: Path
) -> None:
    url = own_postgres.url(own_postgres.create_database())
    with running_server(tmp_path / "data", ("--datastore", url)) as server:
        kubectl_ok(server, home, "create", "configmap", "before", "--from-literal=k=v")
        watcher = _watch_lines(server, home)
        try:
            assert _next_named(watcher, "before") == "ADDED before"
            with server.client(server.token) as client:
                own_postgres.stop()

                _until(lambda: _readyz(server).status_code != 200, "readyz failing")
                readyz = _readyz(server).text
                assert "[-]storage failed" in readyz
                assert "unreachable" in readyz
                assert PASSWORD not in readyz

                refused = client.post(CMS, json=_configmap("during"))
                assert refused.status_code == 503, refused.text
                status = refused.json()
                assert status["reason"] == "ServiceUnavailable"
                assert "datastore is unreachable" in status["message"]
                assert PASSWORD not in refused.text

                own_postgres.start()
                _until(lambda: _readyz(server).status_code == 200, "readyz passing again")
                created = client.post(CMS, json=_configmap("after"))
                assert created.status_code == 201, created.text
            # The watch started before the outage carries on, without the refused write.
            assert _next_named(watcher, "after") == "ADDED after"
        finally:
            watcher.kill()
            watcher.wait()
        names = [item["metadata"]["name"] for item in get_json(server, home, "cm")["items"]]
        assert "during" not in names
        assert {"before", "after"} <= set(names)
        assert PASSWORD not in server.stderr()


def test_a_wrong_password_stops_the_server_with_a_clear_message(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.url("postgres", password="Not-The-Pass-42")
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
            url,
        ]
    )
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "password authentication failed" in output
    assert f"postgres://corral@127.0.0.1:{postgres_server.port}/postgres" in output
    assert "Not-The-Pass-42" not in output


def test_two_servers_on_one_database_see_each_others_writes(
    fresh_database: str, tmp_path: Path, home: Path
) -> None:
    args = ("--datastore", fresh_database)
    # Replicas share the encryption key file (docs/encryption.md).
    shared_key = ("--encryption-provider-config", str(tmp_path / "a" / "encryption-config.json"))
    with (
        running_server(tmp_path / "a", args) as a,
        running_server(tmp_path / "b", args + shared_key) as b,
        a.client(a.token) as through_a,
    ):
        watcher = _watch_lines(b, home)
        try:
            for i in range(5):
                created = through_a.post(CMS, json=_configmap(f"from-a-{i}"))
                assert created.status_code == 201, created.text
                # A consistent LIST through the other server sees it at once.
                listed = kubectl_ok(b, home, "get", "cm", "-o", "name")
                assert f"configmap/from-a-{i}" in listed.split()
            for i in range(5):
                assert _next_named(watcher, f"from-a-{i}") == f"ADDED from-a-{i}"
        finally:
            watcher.kill()
            watcher.wait()
