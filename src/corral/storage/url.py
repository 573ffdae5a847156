"""Choosing a driver from a datastore URL: ``open_backend``.

The server's ``--datastore`` flag is a URL, so that one setting names both
the driver and its address. This module decides the accepted forms:

- ``sqlite:///abs/path.db`` (an absolute path), ``sqlite://rel/path.db`` (a
  path relative to the working directory); percent-escapes are decoded.
- ``memory://``: nothing kept after the process ends (tests, demos).
- ``postgres://user:password@host:port/database`` (or ``postgresql://``):
  a PostgreSQL database (`corral.storage.postgres.address` parses it).
- ``etcd://host:port[,host:port...][/root]``: an etcd v3 cluster (`EtcdBackend`).

Errors never echo the URL itself, which may carry a password; they name the
scheme and the forms that are supported.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from corral.storage.backend import Backend
from corral.storage.errors import DatastoreURLError
from corral.storage.memory import MemoryBackend
from corral.storage.options import StorageOptions
from corral.storage.sqlite import SQLiteBackend

SUPPORTED = (
    "sqlite:///path/to/state.db, sqlite://relative/path.db, memory://,"
    " postgres://user:password@host:port/database, etcd://host:port[,host:port...][/root]"
)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")


def open_backend(url: str, options: StorageOptions | None = None) -> Backend:
    """The backend the URL names, not yet started: the caller awaits ``start()``."""
    scheme, separator, address = url.partition("://")
    scheme = scheme.lower()
    if not separator or not _SCHEME.fullmatch(scheme):
        raise DatastoreURLError(f"malformed datastore URL; expected one of: {SUPPORTED}")
    if scheme == "sqlite":
        if "?" in address or "#" in address:
            raise DatastoreURLError("a sqlite:// datastore URL takes no query or fragment")
        path = unquote(address)
        if not path:
            raise DatastoreURLError(f"a sqlite:// datastore URL needs a path, e.g. {SUPPORTED}")
        return SQLiteBackend(path, options)
    if scheme == "memory":
        if address:
            raise DatastoreURLError("a memory:// datastore URL takes no address")
        return MemoryBackend(options)
    if scheme in ("postgres", "postgresql"):
        # Imported only when used, as etcd's: asyncpg is not needed otherwise.
        from corral.storage.postgres import PostgresBackend, parse_postgres_url

        return PostgresBackend(parse_postgres_url(url), options)
    if scheme == "etcd":
        # Imported only when used: gRPC costs about 0.15 s to import.
        from corral.storage.etcd import EtcdBackend, parse_etcd_url

        return EtcdBackend(parse_etcd_url(address), options)
    raise DatastoreURLError(f"unsupported datastore URL scheme {scheme!r}; supported: {SUPPORTED}")
