"""The cluster proxy's own failures (one hierarchy; each becomes a ``Status``).

    ProxyError                    base
    ├── ClusterNotFound           no such cluster (404 to those who may see clusters)
    └── ImpersonationMissing      a request about to leave without Corral's
                                  Impersonate-User (refused: it would run with
                                  the agent's own rights)

Messages name the cluster and what went wrong, never a token or a header value.
"""

from __future__ import annotations


class ProxyError(Exception):
    """Base of the cluster proxy's failures."""


class ClusterNotFound(ProxyError):
    """The cluster does not exist (or its credentials were never registered)."""


class ImpersonationMissing(ProxyError):
    """The outgoing request does not carry exactly Corral's Impersonate-User."""
