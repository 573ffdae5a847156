"""``corral secrets-encrypt``: see and rotate the keys of encryption at rest.

The server holds the datastore while it runs, so these commands work on the
two files: the key file (``--encryption-provider-config``, default
``<data-dir>/encryption-config.json``) and the status the server writes
after each re-encryption (``<data-dir>/encryption-status.json``).

- ``status``: the keys (primary first) and how many stored values are under
  each, as of the server's last check or rewrite.
- ``rotate``: adds a new primary key. A running server notices the file
  change within seconds (or at its next start), encrypts new writes with
  the new key and re-encrypts every stored value in the background.
- ``prune``: removes every key but the primary, refused until the status
  shows every value under the primary (removing a key that still decrypts
  something would make those values unreadable) and compaction has removed
  the history older than the rewrite (a watch or read at an older
  resourceVersion would otherwise meet values it cannot decrypt);
  ``--force`` skips the second condition.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from corral.cli.datadir import data_dir_option
from corral.cli.errors import KeyRotationError


def _data_dir(data_dir: str) -> Path:
    return Path(os.path.abspath(os.path.expanduser(data_dir)))


def _key_path(data_dir: str, config: str | None) -> Path:
    path = Path(os.path.expanduser(config or "encryption-config.json"))
    return path if path.is_absolute() else _data_dir(data_dir) / path


def _status(data_dir: str) -> dict[str, Any] | None:
    import orjson

    from corral.storage.encryption import status_path_for

    try:
        doc = orjson.loads(status_path_for(_data_dir(data_dir)).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


_options = [
    data_dir_option("The server's data directory."),
    click.option(
        "--encryption-provider-config",
        "config",
        metavar="FILE",
        default=None,
        show_default="<data-dir>/encryption-config.json",
        envvar="CORRAL_ENCRYPTION_PROVIDER_CONFIG",
        show_envvar=True,
        help="The key file, as given to the server.",
    ),
]


def _with_options(f: Any) -> Any:
    for option in reversed(_options):
        f = option(f)
    return f


@click.group("secrets-encrypt")
def secrets_encrypt_command() -> None:
    """See and rotate the keys that encrypt Secrets at rest."""


@secrets_encrypt_command.command("status")
@_with_options
def status_command(data_dir: str, config: str | None) -> None:
    """Show the keys and which of them the stored values are under."""
    from corral.storage.encryption import EncryptionError, load_key_file

    path = _key_path(data_dir, config)
    try:
        keys = load_key_file(path)
    except EncryptionError as exc:
        raise KeyRotationError(str(exc)) from None
    click.echo(f"key file: {path}")
    click.echo(f"primary key: {keys.primary.name}")
    click.echo(f"keys: {', '.join(keys.names)}")
    status = _status(data_dir)
    if status is None:
        click.echo("stored values: unknown (the server has not reported yet)")
        return
    counts = status.get("counts") or {}
    shown = ", ".join(f"{name}={count}" for name, count in sorted(counts.items())) or "none"
    click.echo(f"stored values: {shown}")
    click.echo(f"re-encryption: {status.get('state')} (as of {status.get('updated')})")
    current = status.get("configured") == list(keys.names)
    if not current:
        click.echo("the server has not loaded this key file yet")
    elif status.get("settled") and len(keys.names) > 1:
        if status.get("historyClear"):
            click.echo(
                "every value is under the primary key: 'corral secrets-encrypt prune' may run"
            )
        else:
            click.echo(
                "every value is under the primary key; history older than the rewrite "
                f"(revision {status.get('rewriteRevision')}) awaits compaction "
                f"(now at {status.get('compactedRevision')}) before 'prune'"
            )


@secrets_encrypt_command.command("rotate")
@_with_options
def rotate_command(data_dir: str, config: str | None) -> None:
    """Add a new primary key; the server re-encrypts everything with it."""
    from corral.storage.encryption import EncryptionError, load_key_file, rotated, write_key_file

    path = _key_path(data_dir, config)
    try:
        keys = rotated(load_key_file(path))
        write_key_file(path, keys)
    except EncryptionError as exc:
        raise KeyRotationError(str(exc)) from None
    click.echo(f"new primary key {keys.primary.name} written to {path}")
    click.echo(
        "a running server re-encrypts stored values in the background; follow it with "
        "'corral secrets-encrypt status', then remove old keys with 'prune'"
    )


@secrets_encrypt_command.command("prune")
@_with_options
@click.option(
    "--force",
    is_flag=True,
    default=False,
    help="Prune before compaction has removed the older history: reads and watches "
    "at an older resourceVersion may then fail to decrypt.",
)
def prune_command(data_dir: str, config: str | None, force: bool) -> None:
    """Remove every key but the primary, once nothing uses them."""
    from corral.storage.encryption import EncryptionError, load_key_file, pruned, write_key_file

    path = _key_path(data_dir, config)
    try:
        keys = load_key_file(path)
    except EncryptionError as exc:
        raise KeyRotationError(str(exc)) from None
    if len(keys.names) == 1:
        click.echo(f"only the primary key {keys.primary.name} is left; nothing to prune")
        return
    status = _status(data_dir)
    if status is None or status.get("configured") != list(keys.names):
        raise KeyRotationError(
            "the server has not reported on this key file yet; "
            "wait for 'corral secrets-encrypt status' to show it"
        )
    if not status.get("settled"):
        counts = status.get("counts") or {}
        still = sorted(n for n, c in counts.items() if c and n != keys.primary.name)
        raise KeyRotationError(
            f"stored values are still under {', '.join(still) or 'older keys'}; "
            "wait for the re-encryption to finish"
        )
    if not force and not status.get("historyClear"):
        raise KeyRotationError(
            f"history older than the re-encryption (revision {status.get('rewriteRevision')}) "
            f"is not compacted yet (compacted: {status.get('compactedRevision')}); "
            "wait, or prune with --force"
        )
    try:
        write_key_file(path, pruned(keys))
    except EncryptionError as exc:
        raise KeyRotationError(str(exc)) from None
    removed = ", ".join(keys.names[1:])
    click.echo(f"removed {removed}; {keys.primary.name} is the only key")
