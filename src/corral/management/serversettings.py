"""The server's own Settings: ``server-url``, ``cacerts``, ``agent-image``.

Decisions (Contract 3, Rancher's settings):

- ``server-url`` is the address agents and kubeconfigs use to reach this
  server. The ``--server-url`` flag (``CORRAL_SERVER_URL``, config key
  ``server-url``) writes it at every start when given; otherwise it is left
  as people set it (``kubectl edit setting server-url``). It must be an
  ``https://`` URL with a host and nothing after the optional port: no
  path (a lone ``/`` is dropped), query, fragment or user info
  (`check_server_url`; a bad value is a 422 naming ``value``).
- ``cacerts`` is the server CA's PEM, written at every start from the CA
  file's exact bytes: agents hash exactly those bytes for
  ``--ca-checksum``.
- ``agent-image`` defaults to ``corral/corral:<version>``.

`ensure_settings` creates or updates the three at start; it never clears a
``server-url`` someone set when the flag is not given.
"""

from __future__ import annotations

import contextlib
import hashlib
from importlib import metadata
from typing import Any, Final
from urllib.parse import urlsplit

from corral.client import Client
from corral.machinery.status import AlreadyExists, Conflict, FieldError, Invalid, NotFound
from corral.management.clusterkinds import SETTINGS
from corral.management.kinds import GROUP

SERVER_URL: Final = "server-url"
CACERTS: Final = "cacerts"
AGENT_IMAGE: Final = "agent-image"
AGENT_IMAGE_REPOSITORY: Final = "corral/corral"


def corral_version() -> str:
    try:
        return metadata.version("corral")
    except metadata.PackageNotFoundError:
        return "dev"


def default_agent_image() -> str:
    return f"{AGENT_IMAGE_REPOSITORY}:{corral_version()}"


def ca_checksum(pem: str | bytes) -> str:
    """The sha256 (hex) of the exact bytes of the ``cacerts`` value: ``--ca-checksum``."""
    data = pem.encode() if isinstance(pem, str) else pem
    return hashlib.sha256(data).hexdigest()


def server_url_problem(value: str) -> str:
    """Why ``value`` is not a usable server URL ("" when it is)."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme != "https":
        return "must be an https:// URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not carry user info"
    if parts.path not in ("", "/"):
        return "must not have a path"
    if parts.query or "?" in value:
        return "must not have a query"
    if parts.fragment or "#" in value:
        return "must not have a fragment"
    if port == 0:
        return "port must be 1-65535"
    return ""


def check_server_url(value: str, *, field: str = "value") -> str:
    """``value`` without a trailing ``/``, or `Invalid` naming ``field``."""
    problem = server_url_problem(value)
    if problem:
        error = FieldError.invalid(field, value, problem)
        raise Invalid("Setting", SERVER_URL, [error], group=GROUP)
    return value.rstrip("/")


def _setting(name: str, value: str, default: str = "") -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Setting",
        "metadata": {"name": name},
        "value": value,
        "default": default,
    }


async def put_setting(client: Client, name: str, value: str, *, default: str = "") -> None:
    """Create ``name`` with ``value``, or set ``value`` (and ``default``) on the stored one."""
    for _ in range(5):
        try:
            found = await client.get(SETTINGS, name)
        except NotFound:
            with contextlib.suppress(AlreadyExists):
                await client.create(SETTINGS, _setting(name, value, default))
                return
            continue
        if found.get("value", "") == value and found.get("default", "") == default:
            return
        found["value"], found["default"] = value, default
        try:
            await client.update(SETTINGS, found)
            return
        except Conflict:
            continue
    raise Conflict("settings", name, "changed concurrently too many times", group=GROUP)


async def ensure_settings(client: Client, *, server_url: str | None, ca_pem: bytes) -> None:
    """Write ``cacerts``, ``agent-image``'s default, and ``server-url`` when given."""
    await put_setting(client, CACERTS, ca_pem.decode())
    try:
        image = await client.get(SETTINGS, AGENT_IMAGE)
    except NotFound:
        image = None
    await put_setting(
        client,
        AGENT_IMAGE,
        "" if image is None else str(image.get("value", "")),
        default=default_agent_image(),
    )
    if server_url is not None:
        await put_setting(client, SERVER_URL, check_server_url(server_url))
        return
    with contextlib.suppress(AlreadyExists):
        await client.create(SETTINGS, _setting(SERVER_URL, ""))
