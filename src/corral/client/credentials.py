"""Turning a `ClusterConfig` into what goes on the wire: a TLS context and an Authorization header.

Decisions:

- Trust: ``insecure_skip_tls_verify`` turns verification off entirely;
  otherwise the CA data (PEM) or CA file is the only trust root when given,
  and the system store is used when neither is. ``tls_server_name``
  overrides the name the server certificate must carry (see `HTTPTransport`).
- Client certificate: data wins over file. Python's ``ssl`` loads a key pair
  only from files, so data is written to a private temporary directory,
  loaded, and removed at once.
- Token: a literal token wins over a token file. A `TokenFile` is re-read
  whenever its status (inode, size, mtime) changes, which catches the
  kubelet's rotation of projected service-account tokens (an atomic symlink
  swap). Basic auth is used only when no token is configured.

Errors: unreadable or invalid files raise `ConfigError`; secrets never
appear in a message.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from pathlib import Path

from corral.client.config import ClusterConfig
from corral.client.errors import ConfigError


def ssl_context(config: ClusterConfig) -> ssl.SSLContext:
    """The TLS client context ``config`` asks for."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        if config.insecure_skip_tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif config.ca_data is not None:
            ctx = ssl.create_default_context(cadata=config.ca_data.decode("ascii", "replace"))
        elif config.ca_file is not None:
            ctx = ssl.create_default_context(cafile=str(config.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the certificate authority: {_why(exc)}") from None
    _load_client_cert(ctx, config)
    return ctx


def _load_client_cert(ctx: ssl.SSLContext, config: ClusterConfig) -> None:
    cert, key = config.client_cert_data, config.client_key_data
    cert_file, key_file = config.client_cert_file, config.client_key_file
    if cert is None and cert_file is None:
        if key is not None or key_file is not None:
            raise ConfigError("a client key is configured without a client certificate")
        return
    if key is None and key_file is None:
        raise ConfigError("a client certificate is configured without a client key")
    try:
        with tempfile.TemporaryDirectory(prefix="corral-client-") as tmp:
            if cert is not None:
                cert_file = _private_file(Path(tmp) / "client.crt", cert)
            if key is not None:
                key_file = _private_file(Path(tmp) / "client.key", key)
            assert cert_file is not None
            ctx.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the client certificate and key: {_why(exc)}") from None


def _private_file(path: Path, data: bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename or ''}: {exc.strerror}".lstrip(": ")
    return str(exc)


class TokenFile:
    """A bearer token kept in a file that may be replaced at any time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._token = ""

    def token(self) -> str:
        """The file's token, re-read if the file changed since the last read."""
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            if stamp != self._stamp:
                self._token = self.path.read_text().strip()
                self._stamp = stamp
        except OSError as exc:
            if not self._token:
                raise ConfigError(f"cannot read token file {self.path}: {_why(exc)}") from None
            # Mid-rotation the file can vanish for an instant: keep the last token.
        return self._token


class Authorizer:
    """The Authorization header for each request, from the configured credential."""

    def __init__(self, config: ClusterConfig) -> None:
        self._token = config.token
        self._file = (
            TokenFile(config.token_file) if config.token_file and not config.token else None
        )
        self._basic = None
        if not config.token and not config.token_file and config.username:
            pair = f"{config.username}:{config.password or ''}".encode()
            self._basic = "Basic " + base64.b64encode(pair).decode("ascii")
        if self._file is not None:
            self._file.token()  # fail at construction, not at the first request

    def header(self) -> str | None:
        if self._token:
            return f"Bearer {self._token}"
        if self._file is not None:
            token = self._file.token()
            return f"Bearer {token}" if token else None
        return self._basic
