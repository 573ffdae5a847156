"""The client's own failures: what went wrong before or instead of an API answer.

An API server that answers with a failure speaks ``metav1.Status``, and the
client raises that as the matching `corral.machinery.status.StatusError`
subclass (``NotFound``, ``Conflict``, ``Expired``…), so callers catch by the
same names the server raises. Everything else (the server could not be
reached, the answer could not be read, the configuration is wrong) is a
`ClientError`, one tree so that no httpx, ssl or OS exception escapes the
public API::

    ClientError                 base of everything below
    ├── ConfigError             kubeconfig / in-cluster configuration unusable
    ├── TransportError          no (complete) answer from the server
    │   ├── ConnectionFailed    could not connect, or the connection dropped
    │   ├── RequestTimeout      the server did not answer in time
    │   └── TLSError            the TLS handshake failed (untrusted or wrong certificate)
    ├── DecodeError             an answer that is not the JSON it should be
    └── NoMatchError            discovery knows no resource for a kind/resource name

Transports (`corral.client.transport.Transport`) report failures with the
builtin ``ConnectionError`` and ``TimeoutError`` (so that a transport living
in another package need not import this one); the client turns them into
`ConnectionFailed` and `RequestTimeout` once its retries are spent. Any other
exception from a transport (such as `TLSError`) is not retried.
"""

from __future__ import annotations


class ClientError(Exception):
    """A client-side failure: no usable API answer."""


class ConfigError(ClientError):
    """The connection configuration (kubeconfig, in-cluster files) cannot be used."""


class TransportError(ClientError):
    """The request got no complete answer from the server."""


class ConnectionFailed(TransportError, ConnectionError):
    """Connecting failed, or the connection dropped before the answer was complete."""


class RequestTimeout(TransportError, TimeoutError):
    """The server did not answer within the client's timeout."""


class TLSError(TransportError):
    """The TLS handshake failed: the server's certificate is not trusted or names another host.

    Not a ``ConnectionError``: retrying cannot help, so it is never retried.
    """


class DecodeError(ClientError):
    """The server's answer is not the JSON document it was expected to be."""


class NoMatchError(ClientError):
    """Discovery found no resource for the kind or resource name asked about."""
