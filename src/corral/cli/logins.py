"""What ``corral login`` keeps: the user's Corral logins, one file, mode 0600.

The file is ``$XDG_CONFIG_HOME/corral/logins.json`` (``~/.config/corral/``
without XDG_CONFIG_HOME), in a directory of mode 0700. It maps each server
URL to the username, the session token and the server's CA certificate
(trusted at the first login), and names the current server (the last one
logged in to). It is rewritten atomically; a token never appears anywhere
else, and never in an error message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from corral.cli.errors import CLIError

FILE_NAME = "logins.json"


class LoginStoreError(CLIError):
    """The logins file cannot be read or written; the message names it."""


@dataclass(frozen=True, slots=True)
class Login:
    """One server's login."""

    server: str
    username: str
    token: str
    ca_pem: str


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "corral"


def store_path() -> Path:
    return config_dir() / FILE_NAME


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {"current": "", "servers": {}}
    except (OSError, orjson.JSONDecodeError) as exc:
        raise LoginStoreError(f"{path}: cannot be read: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("servers"), dict):
        raise LoginStoreError(f"{path}: is not a Corral logins file")
    return doc


def _save(path: Path, doc: dict[str, Any]) -> None:
    from corral.pki.errors import PKIError
    from corral.pki.files import ensure_private_directory, write_secret_file

    try:
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        ensure_private_directory(path.parent)
        write_secret_file(path, orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    except (OSError, PKIError) as exc:
        raise LoginStoreError(f"{path}: cannot be written: {exc}") from None


def find(server: str | None = None) -> Login | None:
    """The login for ``server`` (the current one when None), or None."""
    doc = _load(store_path())
    url = server or doc.get("current") or ""
    entry = doc["servers"].get(url)
    if not isinstance(entry, dict):
        return None
    return Login(
        url, str(entry.get("username", "")), str(entry.get("token", "")), str(entry.get("ca", ""))
    )


def save(login: Login) -> Path:
    path = store_path()
    doc = _load(path)
    doc["servers"][login.server] = {
        "username": login.username,
        "token": login.token,
        "ca": login.ca_pem,
    }
    doc["current"] = login.server
    _save(path, doc)
    return path


def forget(server: str) -> None:
    path = store_path()
    doc = _load(path)
    doc["servers"].pop(server, None)
    if doc.get("current") == server:
        doc["current"] = next(iter(doc["servers"]), "")
    _save(path, doc)
