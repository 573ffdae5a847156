"""The cluster agent: runs next to a downstream Kubernetes API and dials Corral.

An imported cluster usually sits behind NAT, so Corral never connects to it:
the agent connects out. `run_agent` does, in order (docs/agent.md):

1. `pinning`: fetch ``/v3/settings/cacerts`` (unverified, no token sent),
   compare the SHA-256 of its exact bytes with ``--ca-checksum``, and build
   the TLS context every later connection uses (that CA, and the hostname);
2. `declaration`: what the agent tells the server about its cluster — the
   API address, its CA and the ``corral-agent`` service-account token
   (in a pod from the mounted long-lived token Secret; with
   ``--kubeconfig`` after making the service account, RBAC and Secret);
3. `connection`: dial ``/v3/connect/register`` (then ``/v3/connect``) and
   serve a tunnel session whose dials reach only that API address,
   reconnecting with jittered backoff (`backoff`).

Errors (everything that stops the agent; one line each, no secret)::

    AgentError
    ├── PinningError        the CA cannot be fetched, or its checksum is not the one given
    ├── UntrustedServer     the pinned TLS handshake failed (another certificate: a MITM?)
    └── DeclarationError    the cluster's own API cannot be read or set up
"""

from __future__ import annotations

from corral.agent.errors import AgentError, DeclarationError, PinningError, UntrustedServer

__all__ = ["AgentError", "DeclarationError", "PinningError", "UntrustedServer"]
