"""The PostgreSQL driver: ``postgres://user:password@host:port/database``.

Several Corral servers may share one database (see `PostgresBackend`); how it
works is told in docs/storage.md, "PostgreSQL".
"""

from corral.storage.postgres.address import PostgresAddress, parse_postgres_url
from corral.storage.postgres.backend import PostgresBackend

__all__ = ["PostgresAddress", "PostgresBackend", "parse_postgres_url"]
