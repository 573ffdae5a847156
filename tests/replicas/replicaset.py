"""Several real ``corral server`` processes on one datastore, for the replica tests.

`start_replicas` starts the first replica alone (it creates the encryption
key file and the shared material), then the others with the same
``--datastore`` and ``--encryption-provider-config``, each with its own data
directory and ports, controllers on under short leases. `lease_holder`
reads the controller-manager Lease; `leader_of` finds which process holds
it, by the "<identity> is the leader" line only that process logs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from serverproc import CorralServer, controller_args, start_server, stop_server

LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/corral-controller-manager"
#: The short leases of `serverproc.SHORT_LEASES`: duration and retry period, in seconds.
LEASE_DURATION, RETRY_PERIOD = 4.0, 0.5


def replica_args(root: Path, datastore: str) -> tuple[str, ...]:
    return (
        "--datastore",
        datastore,
        "--encryption-provider-config",
        str(root / "encryption-config.json"),
        *controller_args("namespace"),
    )


@contextlib.contextmanager
def start_replicas(
    root: Path, datastore: str, count: int = 3, extra: Sequence[str] = ()
) -> Iterator[list[CorralServer]]:
    """``count`` replicas on ``datastore``; every one still running is stopped at the end."""
    servers: list[CorralServer] = []
    args = (*replica_args(root, datastore), *extra)
    try:
        for i in range(count):
            servers.append(start_server(root / f"replica-{i}", args))
        yield servers
    finally:
        for server in servers:
            if server.proc.poll() is None:
                stop_server(server)


def lease_holder(server: CorralServer, token: str) -> str:
    with server.client(token) as c:
        response = c.get(LEASE)
    if response.status_code != 200:
        return ""
    holder: str = response.json()["spec"].get("holderIdentity") or ""
    return holder


def leader_of(servers: Sequence[CorralServer], holder: str) -> CorralServer | None:
    for server in servers:
        if holder and f"{holder} is the leader" in server.stderr():
            return server
    return None


def get(server: CorralServer, token: str, path: str, **params: str) -> httpx.Response:
    with server.client(token) as c:
        return c.get(path, params=params)
