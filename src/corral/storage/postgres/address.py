"""Where a PostgreSQL datastore is, from its URL, and how to name it safely.

``postgres://user:password@host:port/database?sslmode=…&connect_timeout=…``
(``postgresql://`` too). This module decides what is accepted: a host is
required, the port defaults to 5432, the database to the user's name as libpq
does, percent-escapes are decoded, and only the query parameters listed in
`_QUERY` are known (anything else is refused rather than silently ignored).

The password is kept only in `PostgresAddress.password` (left out of its
repr); `display` is
the form every message uses: ``postgres://user@host:port/database``, never
with the password and never the URL as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args
from urllib.parse import parse_qsl, unquote, urlsplit

from corral.storage.errors import DatastoreURLError

SSLMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
_SSLMODES: tuple[SSLMode, ...] = get_args(SSLMode)
_QUERY = ("sslmode", "connect_timeout")
DEFAULT_PORT = 5432
DEFAULT_CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class PostgresAddress:
    """A parsed ``postgres://`` URL (see the module docstring)."""

    host: str
    port: int
    user: str
    database: str
    password: str | None = field(default=None, repr=False)
    sslmode: SSLMode = "prefer"
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT

    @property
    def display(self) -> str:
        """The address for messages and logs: no password."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgres://{self.user}@{host}:{self.port}/{self.database}"


def parse_postgres_url(url: str) -> PostgresAddress:
    """Parse a ``postgres://`` or ``postgresql://`` URL; errors never echo it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DatastoreURLError(
            "malformed postgres:// datastore URL (bad host or port); expected "
            "postgres://user:password@host:port/database"
        ) from None
    if parts.scheme.lower() not in ("postgres", "postgresql"):
        raise DatastoreURLError("not a postgres:// datastore URL")
    if parts.fragment:
        raise DatastoreURLError("a postgres:// datastore URL takes no fragment")
    host = unquote(parts.hostname or "")
    if not host:
        raise DatastoreURLError(
            "a postgres:// datastore URL needs a host: postgres://user:password@host:port/database"
        )
    user = unquote(parts.username or "")
    if not user:
        raise DatastoreURLError(
            "a postgres:// datastore URL needs a user: postgres://user:password@host:port/database"
        )
    password = unquote(parts.password) if parts.password is not None else None
    database = unquote(parts.path.lstrip("/")) or user
    if "/" in database:
        raise DatastoreURLError("a postgres:// datastore URL names one database: /database")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(_QUERY))
    if unknown:
        raise DatastoreURLError(
            f"unknown postgres:// datastore URL parameter {unknown[0]!r};"
            f" known: {', '.join(_QUERY)}"
        )
    sslmodes: dict[str, SSLMode] = {mode: mode for mode in _SSLMODES}
    sslmode = sslmodes.get(options.get("sslmode", "prefer"))
    if sslmode is None:
        raise DatastoreURLError(f"sslmode must be one of {', '.join(_SSLMODES)}")
    timeout = DEFAULT_CONNECT_TIMEOUT
    if "connect_timeout" in options:
        try:
            timeout = float(options["connect_timeout"])
        except ValueError:
            timeout = -1.0
        if not timeout > 0:
            raise DatastoreURLError("connect_timeout must be a positive number of seconds")
    return PostgresAddress(
        host=host,
        port=port or DEFAULT_PORT,
        user=user,
        database=database,
        password=password,
        sslmode=sslmode,
        connect_timeout=timeout,
    )
