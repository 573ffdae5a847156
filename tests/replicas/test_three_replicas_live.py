"""Three ``corral server`` replicas on one PostgreSQL (and one etcd) datastore.

What an operator of an HA install relies on, checked with real processes:
one CA and one admin token on every replica; a write through one replica is
seen by a watch on another and by a consistent GET on a third right after;
a resourceVersion nobody wrote is Kubernetes' 504; and ``kill -9`` of the
controller-manager leader hands the lease to another replica within lease
duration + 2 * retry period, loses no acknowledged write, and leaves a
watch on a surviving replica with every event, in order, without a gap.
The kill test runs last in the module: it ends one of the replicas.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kubernetes import client as kube_client  # type: ignore[import-untyped]
from kubernetes import config as kube_config
from kubernetes import watch as kube_watch

from kubectlproc import kubectl_ok
from serverproc import CorralServer, kubeconfig_token

from .datastores import DRIVERS, shared_datastore
from .replicaset import LEASE_DURATION, RETRY_PERIOD, get, leader_of, lease_holder, start_replicas

pytestmark = pytest.mark.timeout(240)

CMS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture(scope="module", params=DRIVERS)
def replicas(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[CorralServer]]:
    with shared_datastore(request.param) as url:
        root = tmp_path_factory.mktemp(f"replicas-{request.param}")
        with start_replicas(root, url) as servers:
            yield servers


def create(server: CorralServer, token: str, name: str, ns: str = "default") -> dict[str, Any]:
    with server.client(token) as c:
        response = c.post(
            f"/api/v1/namespaces/{ns}/configmaps",
            json={"metadata": {"name": name}, "data": {"k": name}},
        )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_every_replica_serves_one_ca_and_accepts_the_admin_token(
    replicas: list[CorralServer], tmp_path: Path
) -> None:
    home = tmp_path
    first = replicas[0]
    token = first.token
    for server in replicas:
        assert server.ca_path.read_bytes() == first.ca_path.read_bytes()
        assert kubeconfig_token(server.kubeconfig_path) == token
        # Trusting only the first replica's CA file, with its token.
        with httpx.Client(base_url=server.https_url, verify=first.ssl_context(), timeout=10) as c:
            response = c.get("/api/v1/namespaces", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert (
            kubectl_ok(server, home, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
            == "admin"
        )


def test_a_write_through_a_is_seen_by_a_watch_on_b(replicas: list[CorralServer]) -> None:
    a, b = replicas[0], replicas[1]
    api_client = kube_config.new_client_from_config(config_file=str(b.kubeconfig_path))
    core = kube_client.CoreV1Api(api_client)
    start_rv = core.list_namespaced_config_map("default").metadata.resource_version
    seen: list[tuple[str, str, str]] = []
    watching = threading.Event()

    def watch() -> None:
        w = kube_watch.Watch()
        watching.set()
        for event in w.stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=start_rv,
            timeout_seconds=20,
        ):
            obj = event["object"]
            seen.append((event["type"], obj.metadata.name, obj.metadata.resource_version))
            if obj.metadata.name == "watched-3":
                w.stop()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    watching.wait(5)
    written = [create(a, a.token, f"watched-{i}") for i in range(4)]
    thread.join(25)
    assert not thread.is_alive(), "the watch on B did not see the writes on A"
    assert seen == [
        ("ADDED", w["metadata"]["name"], w["metadata"]["resourceVersion"]) for w in written
    ]
    api_client.close()


def test_a_consistent_get_on_c_right_after_a_write_on_a_sees_it(
    replicas: list[CorralServer],
) -> None:
    a, c = replicas[0], replicas[2]
    with a.client(a.token) as on_a, c.client(a.token) as on_c:
        for i in range(20):
            name = f"consistent-{i}"
            created = on_a.post(CMS, json={"metadata": {"name": name}})
            assert created.status_code == 201, created.text
            got = on_c.get(f"{CMS}/{name}")
            assert got.status_code == 200, got.text
            assert (
                got.json()["metadata"]["resourceVersion"]
                == (created.json()["metadata"]["resourceVersion"])
            )
            listed = on_c.get(CMS).json()
            assert name in {item["metadata"]["name"] for item in listed["items"]}
            assert int(listed["metadata"]["resourceVersion"]) >= int(
                created.json()["metadata"]["resourceVersion"]
            )


def test_a_resource_version_nobody_wrote_is_504_too_large(replicas: list[CorralServer]) -> None:
    b = replicas[1]
    current = int(get(b, b.token, CMS).json()["metadata"]["resourceVersion"])
    future = current + 100_000
    response = get(b, b.token, CMS, resourceVersion=str(future))
    assert response.status_code == 504
    status = response.json()
    assert status["reason"] == "Timeout"
    assert status["message"].startswith(f"Timeout: Too large resource version: {future}, current: ")
    assert status["details"]["causes"] == [
        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    ]
    assert status["details"]["retryAfterSeconds"] == 1


class WatchRecorder(threading.Thread):
    """A raw watch of one namespace's ConfigMaps on one replica, recording every event."""

    def __init__(self, server: CorralServer, token: str, namespace: str, rv: str) -> None:
        super().__init__(daemon=True)
        self.url = f"/api/v1/namespaces/{namespace}/configmaps"
        self.server, self.token, self.rv = server, token, rv
        self.events: list[tuple[str, str, int]] = []
        self.stop_at = ""
        self.started = threading.Event()

    def run(self) -> None:
        with (
            self.server.client(self.token) as c,
            c.stream(
                "GET",
                self.url,
                params={"watch": "1", "resourceVersion": self.rv, "timeoutSeconds": "60"},
                timeout=httpx.Timeout(10, read=60),
            ) as response,
        ):
            self.started.set()
            for line in response.iter_lines():
                if not line:
                    continue
                event = orjson.loads(line)
                meta = event["object"]["metadata"]
                self.events.append((event["type"], meta["name"], int(meta["resourceVersion"])))
                if meta["name"] == self.stop_at:
                    return


def test_kill_9_of_the_leader_fails_over_without_losing_writes_or_events(
    replicas: list[CorralServer],
) -> None:
    token = replicas[0].token
    holder = wait_for_holder(replicas, token)
    leader = leader_of(replicas, holder)
    assert leader is not None, f"no replica logged that {holder} leads"
    survivors = [s for s in replicas if s is not leader]
    watched_on, writer = survivors
    with writer.client(token) as c:
        made = c.post("/api/v1/namespaces", json={"metadata": {"name": "failover"}})
        assert made.status_code == 201, made.text
        start_rv = c.get("/api/v1/namespaces/failover/configmaps").json()["metadata"][
            "resourceVersion"
        ]
    recorder = WatchRecorder(watched_on, token, "failover", start_rv)
    recorder.start()
    assert recorder.started.wait(10)

    acknowledged: list[tuple[str, int]] = []
    for i in range(10):  # through the leader and a survivor, before the kill
        via = leader if i % 2 == 0 else writer
        body = create(via, token, f"before-{i}", "failover")
        acknowledged.append((body["metadata"]["name"], int(body["metadata"]["resourceVersion"])))
    leader.proc.kill()
    killed_at = time.monotonic()
    leader.proc.wait(10)

    new_holder = ""
    for i in range(10**6):  # writes go on through a survivor while the lease moves
        body = create(writer, token, f"after-{i}", "failover")
        acknowledged.append((body["metadata"]["name"], int(body["metadata"]["resourceVersion"])))
        new_holder = lease_holder(watched_on, token)
        if new_holder != holder and leader_of(survivors, new_holder) is not None:
            break
        assert time.monotonic() - killed_at < 30, "no replica took the lease over"
    took_over = time.monotonic() - killed_at
    # Measured from the kill, including this loop's write and read: the bound, with
    # a little room for one poll round on a loaded machine.
    assert took_over <= LEASE_DURATION + 2 * RETRY_PERIOD + 0.5, took_over

    recorder.stop_at = "last"
    last = create(writer, token, "last", "failover")
    acknowledged.append(("last", int(last["metadata"]["resourceVersion"])))
    recorder.join(30)
    assert not recorder.is_alive(), "the watch on the surviving replica stalled"

    listed = get(watched_on, token, "/api/v1/namespaces/failover/configmaps").json()
    present = {
        (i["metadata"]["name"], int(i["metadata"]["resourceVersion"])) for i in listed["items"]
    }
    assert set(acknowledged) <= present
    # Every acknowledged write, in revision order, each once: no gap, no repeat.
    assert recorder.events == [
        ("ADDED", name, rv) for name, rv in sorted(acknowledged, key=lambda a: a[1])
    ]


def wait_for_holder(replicas: list[CorralServer], token: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        holder = lease_holder(replicas[0], token)
        if holder and leader_of(replicas, holder) is not None:
            return holder
        assert time.monotonic() < deadline, "no replica became the leader"
        time.sleep(0.1)
