"""``corral login`` and ``corral logout``: a user's session with a Corral server.

``corral login SERVER_URL --username U`` asks for the password (or reads one
line from stdin with ``--password-stdin``), logs in, and keeps the session
token in the logins file (`corral.cli.logins`). Trust in the server:

- ``--ca-file FILE``: the CA certificate to verify the server with;
- otherwise the CA the server serves at ``/cacerts`` is fetched (without
  verification) and its SHA-256 checksum shown; it is trusted if it equals
  ``--ca-checksum`` or, at a terminal, if the user says yes (trust on first
  use). Every request after that verifies the server against that CA, and
  later logins to the same server reuse it.

If the user must change the password (a new user, the bootstrap admin),
``corral login`` asks for a new one at a terminal and changes it; it refuses
otherwise. ``--kubeconfig FILE`` also writes a kubeconfig (mode 0600) holding
a new ``kubeconfig`` token (its lifetime is the server's
``--kubeconfig-token-ttl``). ``corral logout`` revokes the session token and
forgets the login. Passwords and tokens are never echoed or logged.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from corral.cli import logins
from corral.cli.errors import CLIError


@click.command("login")
@click.argument("server_url")
@click.option("--username", "-u", required=True, help="The Corral user to log in as.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@click.option(
    "--ca-file",
    type=click.Path(dir_okay=False),
    help="The CA certificate (PEM) to verify the server with.",
)
@click.option(
    "--ca-checksum",
    help="Trust the CA the server serves if its SHA-256 (hex) is this (no question asked).",
)
@click.option(
    "--kubeconfig",
    "kubeconfig_path",
    type=click.Path(dir_okay=False),
    help="Also write a kubeconfig with a new kubeconfig token to FILE (replacing it).",
)
def login_command(
    server_url: str,
    username: str,
    password_stdin: bool,
    ca_file: str | None,
    ca_checksum: str | None,
    kubeconfig_path: str | None,
) -> None:
    """Log in to a Corral server and keep the session for later commands."""
    from corral.cli import serverapi as api

    server = api.normalise_server(server_url)
    ca_pem = api.trusted_ca(server, ca_file, ca_checksum)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, err=True)
    with api.http_client(server, ca_pem) as http:
        answer = api.post(http, api.LOGIN_PATH, {"username": username, "password": password})
    if answer.status_code == 429:
        wait = answer.headers.get("retry-after", "a few")
        raise CLIError(f"too many failed logins; try again in {wait} seconds")
    if answer.status_code != 201:
        raise CLIError(f"login failed: {api.failure(answer)}")
    result = answer.json()
    token = str(result["token"])
    with api.http_client(server, ca_pem, token) as http:
        if result.get("mustChangePassword"):
            try:
                api.change_password(http, password, interactive=not password_stdin)
            except BaseException:
                api.post(http, "/v3/tokens?action=logout", {})
                raise
        path = logins.save(logins.Login(server, username, token, ca_pem))
        if kubeconfig_path is not None:
            made = api.post(
                http,
                "/v3/tokens",
                {"tokenKind": "kubeconfig", "description": "kubeconfig written by corral login"},
            )
            if made.status_code != 201:
                raise CLIError(f"no kubeconfig token: {api.failure(made)}")
            api.write_kubeconfig(
                Path(kubeconfig_path), server, ca_pem, username, made.json()["token"]
            )
            click.echo(f"Wrote {kubeconfig_path}", err=True)
    click.echo(f"Logged in to {server} as {username} (session kept in {path})")


@click.command("logout")
@click.argument("server_url", required=False)
def logout_command(server_url: str | None) -> None:
    """Revoke the session with a Corral server (the current one by default) and forget it."""
    from corral.cli import serverapi as api

    server = api.normalise_server(server_url) if server_url else None
    login = logins.find(server)
    if login is None:
        raise CLIError(f"not logged in to {server or 'any server'}")
    with api.http_client(login.server, login.ca_pem, login.token) as http:
        answer = api.post(http, "/v3/tokens?action=logout", {})
    if answer.status_code not in (200, 401):
        raise CLIError(f"logout failed: {api.failure(answer)}")
    logins.forget(login.server)
    click.echo(f"Logged out of {login.server}")
