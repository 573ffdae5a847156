"""The SQLite driver: the default datastore, one file in WAL mode.

Modules, one concept each: `schema` (tables, schema version, migrations),
`datastore` (opening a file safely: checks, lock, backup), `writer` (group
commit), `reader` (read pool and queries), `failures` (sqlite3 and OS errors
mapped to storage errors) and `backend` (the `SQLiteBackend` gluing them).
docs/storage.md tells the whole flow.
"""

from corral.storage.sqlite.backend import SQLiteBackend

__all__ = ["SQLiteBackend"]
