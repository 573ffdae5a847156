"""The agent's errors (the tree is in the package docstring); str() is one line, no secret."""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error that stops the agent."""


class PinningError(AgentError):
    """The server's CA could not be fetched, or its checksum is not ``--ca-checksum``."""


class UntrustedServer(AgentError):
    """A connection to the server failed verification against the pinned CA and hostname."""


class DeclarationError(AgentError):
    """The agent cannot read, or set up, what it declares about its own cluster."""
