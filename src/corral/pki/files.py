"""Writing secret and public files so that a reader never sees half a file.

Certificates, keys and kubeconfigs are replaced while the server runs (the
renewer) and may be read at any moment by another process (kubectl, an agent
installer). A file is therefore written to a temporary sibling, flushed to
disk, given its final mode, and renamed over the old one; the directory is
synced so the rename survives a crash. The mode is set explicitly, so the
process umask never widens a key file.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from corral.pki.errors import TLSWriteError

#: Mode of files holding private keys or credentials.
SECRET_MODE = 0o600
#: Mode of certificates and other files anyone on the machine may read.
PUBLIC_MODE = 0o644
#: Mode of directories holding secret files.
SECRET_DIR_MODE = 0o700


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` (file mode ``mode``) in one rename.

    Raises `TLSWriteError` naming the file if anything fails; the old file, if
    any, is then left as it was and no temporary file is left behind.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, mode
        )
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise TLSWriteError(path, exc.strerror or str(exc)) from None
    sync_directory(path.parent)


def write_secret_file(path: Path, data: bytes) -> None:
    """Atomically write a file only its owner may read (mode 0600)."""
    write_atomically(path, data, SECRET_MODE)


def write_public_file(path: Path, data: bytes) -> None:
    """Atomically write a file anyone may read (mode 0644)."""
    write_atomically(path, data, PUBLIC_MODE)


def ensure_private_directory(path: Path) -> None:
    """Create ``path`` with mode 0700 if needed; tighten it if we own it."""
    try:
        path.mkdir(mode=SECRET_DIR_MODE, parents=False, exist_ok=True)
        st = path.stat()
        if st.st_uid == os.geteuid() and st.st_mode & 0o077:
            path.chmod(SECRET_DIR_MODE)
    except FileExistsError:
        raise TLSWriteError(path, "exists and is not a directory") from None
    except OSError as exc:
        raise TLSWriteError(path, exc.strerror or str(exc)) from None
    if not path.is_dir():
        raise TLSWriteError(path, "exists and is not a directory")


def sync_directory(path: Path) -> None:
    """Flush a directory's entries (a rename) to disk; best effort."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
