"""Talking to a Corral server for the ``login``, ``logout`` and ``user`` commands.

Holds what needs httpx (imported only when such a command runs, so ``corral``
itself starts fast): a client that trusts exactly one CA, the server's
message of a failed answer, deciding which CA to trust at login
(`trusted_ca`: ``--ca-file``, the stored one, or the one ``/cacerts`` serves
once its checksum is confirmed), the forced password change, and writing a
kubeconfig (mode 0600). Passwords and tokens are never echoed or put in an
error message.
"""

from __future__ import annotations

import hashlib
import ssl
import sys
from pathlib import Path
from typing import Any

import click
import httpx

from corral.cli import logins
from corral.cli.errors import CLIError

LOGIN_PATH = "/v3-public/localProviders/local?action=login"
TIMEOUT = 30.0


def normalise_server(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith("https://") or len(url) <= len("https://"):
        raise click.BadParameter("must be an https:// URL", param_hint="SERVER_URL")
    return url


def http_client(server: str, ca_pem: str, token: str | None = None) -> httpx.Client:
    """An HTTPS client of ``server`` trusting exactly ``ca_pem``."""
    context = ssl.create_default_context(cadata=ca_pem)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server, verify=context, headers=headers, timeout=TIMEOUT)


def failure(answer: httpx.Response) -> str:
    """The server's message for a failed answer (a Status), without any secret."""
    try:
        message = answer.json().get("message")
    except ValueError:
        message = None
    return str(message or f"HTTP {answer.status_code}")


def trusted_ca(server: str, ca_file: str | None, checksum: str | None) -> str:
    if ca_file is not None:
        try:
            return Path(ca_file).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise CLIError(f"--ca-file {ca_file}: cannot be read: {exc}") from None
    known = logins.find(server)
    if known is not None and known.ca_pem and checksum is None:
        return known.ca_pem
    try:
        with httpx.Client(base_url=server, verify=False, timeout=TIMEOUT) as http:  # noqa: S501
            answer = http.get("/cacerts")
    except httpx.HTTPError as exc:
        raise CLIError(f"cannot reach {server}: {exc}") from None
    if answer.status_code != 200 or b"BEGIN CERTIFICATE" not in answer.content:
        raise CLIError(f"{server} serves no CA certificate at /cacerts")
    digest = hashlib.sha256(answer.content).hexdigest()
    if checksum is not None:
        if checksum.strip().lower().removeprefix("sha256:") != digest:
            raise CLIError(f"the server's CA checksum is {digest}, not the one given")
        return answer.text
    if not sys.stdin.isatty():
        raise CLIError(
            f"the server's CA checksum is {digest}; "
            "pass --ca-checksum or --ca-file to trust it without a terminal"
        )
    click.echo(f"The server's CA certificate has SHA-256 checksum {digest}", err=True)
    if not click.confirm("Trust it?", default=False, err=True):
        raise CLIError("the server's CA certificate was not trusted")
    return answer.text


def post(http: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    try:
        return http.post(path, json=body)
    except httpx.HTTPError as exc:
        raise CLIError(f"cannot reach {http.base_url}: {exc}") from None


def change_password(http: httpx.Client, current: str, interactive: bool) -> None:
    if not interactive:
        raise CLIError(
            "this user must change the initial password: run 'corral login' at a terminal"
        )
    click.echo("You must change your password now.", err=True)
    new = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    answer = post(
        http,
        "/v3/users?action=changepassword",
        {"currentPassword": current, "newPassword": new},
    )
    if answer.status_code != 200:
        raise CLIError(f"the password was not changed: {failure(answer)}")


def write_kubeconfig(path: Path, server: str, ca_pem: str, username: str, token: str) -> None:
    import base64

    import yaml

    from corral.pki.errors import PKIError
    from corral.pki.files import write_secret_file

    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "corral",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(),
                },
            }
        ],
        "users": [{"name": username, "user": {"token": token}}],
        "contexts": [{"name": "corral", "context": {"cluster": "corral", "user": username}}],
        "current-context": "corral",
    }
    try:
        write_secret_file(path, yaml.safe_dump(doc, sort_keys=False).encode())
    except PKIError as exc:
        raise CLIError(str(exc)) from None
