"""Binding the listening sockets before anything else starts.

The server binds both ports itself, first, and hands the sockets to
uvicorn: a port that is taken is then a one-line error (`StartupError`)
before the datastore is opened or any file is written. Sockets use
``SO_REUSEADDR`` (a restart does not wait out TIME_WAIT) but not
``SO_REUSEPORT`` (a second server cannot share the port). ``::`` listens on
IPv6 and IPv4.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from corral.cli.errors import StartupError

BACKLOG = 2048


def bind_listener(host: str, port: int, what: str, flag: str) -> socket.socket:
    """A listening, non-blocking TCP socket on ``host:port``.

    ``what`` ("HTTPS") and ``flag`` ("--https-port") phrase the error.
    """
    addr = ipaddress.ip_address(host)
    family = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(
                socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if addr.is_unspecified else 1
            )
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        if exc.errno == errno.EADDRINUSE:
            message = (
                f"{what} port {port} is already in use on {shown} (choose another with {flag})"
            )
        elif exc.errno == errno.EACCES:
            message = (
                f"no permission to listen on {what} port {port} (choose one above 1023 with {flag})"
            )
        elif exc.errno == errno.EADDRNOTAVAIL:
            message = (
                f"cannot listen on {shown}: the address is not on this machine (--bind-address)"
            )
        else:
            message = f"cannot listen on {shown}:{port} for {what}: {exc.strerror or exc}"
        raise StartupError(message) from None
    return sock
