"""A client of one downstream cluster's API, from the access the agent gave us.

`Client(HTTPTransport(access.config, dialer=access.dialer))` is the
contract (issue 9, Contract 1): through the agent's tunnel when the access
carries a dialer, directly otherwise. The tunnel dialer support of
`HTTPTransport` arrives with the cluster proxy; until then an access that
needs a dialer is `ClusterUnavailable`, which the supervisor reports on the
Cluster (``Ready`` False) and retries with back-off.
"""

from __future__ import annotations

import inspect

from corral.client import Client
from corral.client.dialing import ClusterAccess, ClusterUnavailable
from corral.client.httptransport import HTTPTransport

USER_AGENT = "corral-cluster-health"


def _supports_dialer() -> bool:
    return "dialer" in inspect.signature(HTTPTransport).parameters


def downstream_client(access: ClusterAccess, *, timeout: float = 10.0) -> Client:
    """A client of the cluster ``access`` reaches (close it when done)."""
    if access.dialer is None:
        transport = HTTPTransport(access.config, timeout=timeout, user_agent=USER_AGENT)
    elif _supports_dialer():
        transport = HTTPTransport(  # type: ignore[call-arg,unused-ignore]
            access.config, timeout=timeout, user_agent=USER_AGENT, dialer=access.dialer
        )
    else:
        raise ClusterUnavailable(f"cluster {access.cluster}: tunnelled access is not supported yet")
    return Client(transport, namespace=access.config.namespace)
