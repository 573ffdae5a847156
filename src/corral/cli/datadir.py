"""The data directory: created private, checked usable before anything else.

Start-up creates ``--data-dir`` (and its parents) if missing, with mode 0700
(the CA key and the admin token live inside), tightens an existing one that
we own to 0700, and proves it writable by creating and removing a file in
it — file modes alone cannot tell (root ignores them, a read-only mount
does not show in them). Each failure is a `StartupError` naming the path.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from corral.cli.errors import StartupError

DATA_DIR_MODE = 0o700


def prepare_data_dir(path: Path) -> None:
    """Make ``path`` an existing, private, writable directory, or raise."""
    try:
        path.mkdir(mode=DATA_DIR_MODE, parents=True, exist_ok=True)
    except FileExistsError:
        raise StartupError(f"data directory {path} exists and is not a directory") from None
    except OSError as exc:
        raise StartupError(f"cannot create data directory {path}: {exc.strerror or exc}") from None
    if not path.is_dir():
        raise StartupError(f"data directory {path} exists and is not a directory")
    try:
        st = path.stat()
        if st.st_uid == os.geteuid() and st.st_mode & 0o077:
            path.chmod(DATA_DIR_MODE)
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StartupError(f"data directory {path} is not usable: {exc.strerror or exc}") from None


def data_dir_option(help_text: str) -> Callable[[Any], Any]:
    """``--data-dir`` (``CORRAL_DATA_DIR``, default ``./data``) as every command takes it."""
    return click.option(
        "--data-dir",
        metavar="DIR",
        default="./data",
        show_default=True,
        envvar="CORRAL_DATA_DIR",
        show_envvar=True,
        help=help_text,
    )
