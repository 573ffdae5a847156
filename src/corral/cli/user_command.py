"""``corral user``: an admin's commands for local users, over the logged-in session.

``corral user create NAME`` (password prompted twice, or one line of stdin
with ``--password-stdin``; the user must change it at first login unless
``--no-must-change-password``), ``corral user set-password NAME`` (an
admin's reset) and ``corral user disable|enable NAME`` (a disabled user's
tokens stop working at once). They use the current login of ``corral
login`` (or ``--server``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from corral.cli import logins
from corral.cli.errors import CLIError

if TYPE_CHECKING:
    import httpx

USERS = "/apis/management.corral.io/v1/users"


def _session(server: str | None) -> httpx.Client:
    from corral.cli.serverapi import http_client, normalise_server

    login = logins.find(normalise_server(server) if server else None)
    if login is None:
        raise CLIError("not logged in: run 'corral login SERVER_URL --username NAME' first")
    return http_client(login.server, login.ca_pem, login.token)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return value


def _send(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The answer, or `CLIError` (naming the server) if there is none."""
    import httpx

    try:
        return http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise CLIError(f"cannot reach {http.base_url}: {exc}") from None


def failure(answer: httpx.Response) -> str:
    from corral.cli.serverapi import failure as message

    return message(answer)


server_option = click.option("--server", help="Server URL (default: the current login).")


@click.group("user")
def user_command() -> None:
    """Manage Corral's local users."""


@user_command.command("create")
@click.argument("name")
@click.option("--display-name", default="", help="The name shown for the user.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option(
    "--must-change-password/--no-must-change-password",
    default=True,
    help="Whether the user must change the password at first login.",
)
@server_option
def create_user(
    name: str,
    display_name: str,
    password_stdin: bool,
    must_change_password: bool,
    server: str | None,
) -> None:
    """Create a local user with an initial password."""
    body = {
        "username": name,
        "password": _password(password_stdin),
        "displayName": display_name,
        "mustChangePassword": must_change_password,
    }
    with _session(server) as http:
        answer = _send(http, "POST", "/v3/users", json=body)
    if answer.status_code != 201:
        raise CLIError(f"user {name} not created: {failure(answer)}")
    click.echo(f"user/{name} created")


@user_command.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@server_option
def set_password(name: str, password_stdin: bool, server: str | None) -> None:
    """Reset a user's password (they must change it at their next login)."""
    body = {"newPassword": _password(password_stdin), "mustChangePassword": True}
    with _session(server) as http:
        answer = _send(http, "POST", f"/v3/users/{name}?action=setpassword", json=body)
    if answer.status_code != 200:
        raise CLIError(f"password of {name} not set: {failure(answer)}")
    click.echo(f"user/{name} password set")


def _set_enabled(name: str, enabled: bool, server: str | None) -> None:
    with _session(server) as http:
        answer = _send(
            http,
            "PATCH",
            f"{USERS}/{name}",
            content=b'{"enabled": %s}' % (b"true" if enabled else b"false"),
            headers={"Content-Type": "application/merge-patch+json"},
        )
    if answer.status_code != 200:
        raise CLIError(f"user {name} not changed: {failure(answer)}")
    click.echo(f"user/{name} {'enabled' if enabled else 'disabled'}")


@user_command.command("disable")
@click.argument("name")
@server_option
def disable_user(name: str, server: str | None) -> None:
    """Disable a user: every token of theirs stops working at once."""
    _set_enabled(name, False, server)


@user_command.command("enable")
@click.argument("name")
@server_option
def enable_user(name: str, server: str | None) -> None:
    """Enable a disabled user again."""
    _set_enabled(name, True, server)
