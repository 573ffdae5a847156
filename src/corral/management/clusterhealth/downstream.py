"""A client of one downstream cluster's API, from the access the agent gave us.

`Client(HTTPTransport(access.config, dialer=access.dialer))` (issue 9,
Contract 1): through the agent's tunnel when the access carries a dialer
(TLS end to end over the dialed stream, against the cluster's CA), directly
otherwise. Requests time out after ``timeout`` seconds (watches are bounded
by the server instead), so a cluster that stops answering is noticed.
"""

from __future__ import annotations

from corral.client import Client
from corral.client.dialing import ClusterAccess

USER_AGENT = "corral-cluster-health"


def downstream_client(access: ClusterAccess, *, timeout: float = 10.0) -> Client:
    """A client of the cluster ``access`` reaches (close it when done)."""
    # httpx is imported only once a cluster is connected: it is a quarter of a
    # second of `corral server`'s start-up otherwise.
    from corral.client.httptransport import HTTPTransport

    transport = HTTPTransport(
        access.config, dialer=access.dialer, timeout=timeout, user_agent=USER_AGENT
    )
    return Client(transport, namespace=access.config.namespace)
