"""The server's `ssl.SSLContext`: TLS 1.2 or newer, HTTP/1.1, our certificate.

One context serves every HTTPS connection. It is built once at start-up and
then only ever reloaded in place (`load_into`) by the renewer, so handshakes
started after a renewal present the new certificate while open connections
keep theirs.
"""

from __future__ import annotations

import ssl

from corral.pki.errors import CertificateFileError
from corral.pki.store import TLSPaths


def server_context(paths: TLSPaths) -> ssl.SSLContext:
    """A server context presenting the serving certificate under ``paths``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    load_into(ctx, paths)
    return ctx


def load_into(ctx: ssl.SSLContext, paths: TLSPaths) -> None:
    """(Re)load the serving certificate and key into ``ctx``."""
    try:
        ctx.load_cert_chain(paths.serving_cert, paths.serving_key)
    except (ssl.SSLError, OSError) as exc:
        raise CertificateFileError(
            paths.serving_cert, f"cannot be loaded with {paths.serving_key.name}: {exc}"
        ) from None
