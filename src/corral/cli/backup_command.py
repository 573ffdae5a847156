"""The ``corral backup FILE`` and ``corral restore FILE`` commands.

Both name the datastore as ``corral server`` does: ``--datastore URL``, or by
default the SQLite file ``state.db`` under ``--data-dir`` (same flags, same
``CORRAL_*`` variables). What they decide:

- ``backup`` never creates a datastore: a SQLite file that does not exist is
  an error, not an empty backup.
- A SQLite datastore belongs to one process. While a server holds it,
  ``backup`` reads the file beside it through one SQLite read transaction
  (WAL lets another process read one commit while the server writes), and
  ``restore`` refuses with the server's pid. On etcd (shared by design) a
  backup runs beside live servers, reading one consistent revision.
- ``restore`` refuses a non-empty datastore unless ``--force``, and checks the
  whole file before writing anything.

The file format is `corral.storage.backup`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import click

from corral.cli.datadir import data_dir_option
from corral.cli.errors import DatastoreCommandError

if TYPE_CHECKING:
    from corral.storage import Backend
    from corral.storage.backup import Snapshot

_DATA_DIR = data_dir_option(
    "The server's data directory (its datastore is state.db there by default)."
)
_DATASTORE = click.option(
    "--datastore",
    metavar="URL",
    default=None,
    show_default="sqlite:///<data-dir>/state.db",
    envvar="CORRAL_DATASTORE",
    show_envvar=True,
    help="Datastore URL: sqlite:///path or etcd://host:port[,host:port...][/root].",
)


def datastore_url(data_dir: str, datastore: str | None) -> str:
    """The datastore a command works on, as ``corral server`` would choose it."""
    if datastore:
        return datastore
    directory = Path(os.path.abspath(os.path.expanduser(data_dir)))
    return f"sqlite://{directory / 'state.db'}"


def _sqlite_path(url: str) -> Path | None:
    scheme, _, address = url.partition("://")
    return Path(unquote(address)) if scheme.lower() == "sqlite" else None


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_DATA_DIR
@_DATASTORE
def backup_command(file: Path, data_dir: str, datastore: str | None) -> None:
    """Write a consistent snapshot of the datastore to FILE (replaced atomically)."""
    url = datastore_url(data_dir, datastore)
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        raise DatastoreCommandError(f"no datastore at {path} (check --data-dir or --datastore)")
    revision, keys, beside = asyncio.run(_backup(url, file, path))
    note = " (read beside the running server)" if beside else ""
    click.echo(f"backed up {keys} keys at revision {revision} to {file}{note}")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Delete every key of a non-empty datastore first.")
@_DATA_DIR
@_DATASTORE
def restore_command(file: Path, force: bool, data_dir: str, datastore: str | None) -> None:
    """Load the backup FILE into the datastore (which must be empty, unless --force)."""
    from corral.storage import StorageError
    from corral.storage.backup import read_backup

    try:
        snapshot = read_backup(file)
    except StorageError as error:
        raise DatastoreCommandError(str(error)) from None
    url = datastore_url(data_dir, datastore)
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = asyncio.run(_restore(url, snapshot, force))
    click.echo(f"restored {keys} keys (backed up at revision {snapshot.revision}) from {file}")


async def _backup(url: str, file: Path, sqlite_file: Path | None) -> tuple[int, int, bool]:
    """Back up; returns the revision, the key count, and whether a server held the file."""
    from corral.storage import StorageError
    from corral.storage.backup import write_backup, write_sqlite_file_backup

    try:
        async with _opened(url, held_ok=sqlite_file is not None) as backend:
            try:
                snapshot = await write_backup(backend, file)
            except StorageError as error:
                raise DatastoreCommandError(str(error)) from None
        return snapshot.revision, len(snapshot.entries), False
    except _HeldByServer:
        assert sqlite_file is not None
    try:
        snapshot = await write_sqlite_file_backup(sqlite_file, file)
    except StorageError as error:
        raise DatastoreCommandError(str(error)) from None
    return snapshot.revision, len(snapshot.entries), True


class _HeldByServer(Exception):
    """The SQLite datastore is held by a running server (backup reads it beside it)."""


async def _restore(url: str, snapshot: Snapshot, force: bool) -> int:
    from corral.storage import StorageError
    from corral.storage.backup import restore_backup

    async with _opened(url) as backend:
        try:
            return await restore_backup(backend, snapshot, force=force)
        except StorageError as error:
            raise DatastoreCommandError(str(error)) from None


@contextlib.asynccontextmanager
async def _opened(url: str, *, held_ok: bool = False) -> AsyncIterator[Backend]:
    from corral.storage import DatastoreInUseError, StorageError, StorageOptions, open_backend

    # No background compaction from a short-lived command.
    options = StorageOptions(compact_interval=0)
    try:
        backend = open_backend(url, options)
    except StorageError as error:
        raise DatastoreCommandError(f"--datastore: {error}") from None
    try:
        await backend.start()
    except StorageError as error:
        with contextlib.suppress(Exception):
            await backend.close()
        if held_ok and isinstance(error, DatastoreInUseError):
            raise _HeldByServer() from None
        raise DatastoreCommandError(_explain(error)) from None
    try:
        yield backend
    finally:
        await backend.close()


def _explain(error: Exception) -> str:
    from corral.storage import DatastoreInUseError

    if isinstance(error, DatastoreInUseError):
        return (
            f"{error}; a SQLite datastore belongs to one process: stop the server "
            "before restoring into it"
        )
    return str(error)
