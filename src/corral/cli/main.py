"""The ``corral`` command, and the one place errors become exit codes.

`main` runs the click group without click's own error handling, so that
every expected failure prints exactly one line, ``corral: error: <what>``,
and exits 1; usage errors (an unknown flag, a bad value on the command line
or in a ``CORRAL_*`` variable) keep click's usage message and exit 2. No
traceback is printed for anything expected. Importing this module is cheap
(click only); subcommands import what they need when they run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from corral import __version__
from corral.cli.backup_command import backup_command, restore_command
from corral.cli.cluster_command import cluster_command, kubeconfig_command
from corral.cli.errors import CLIError
from corral.cli.login_command import login_command, logout_command
from corral.cli.secrets_encrypt import secrets_encrypt_command
from corral.cli.server_command import server_command
from corral.cli.user_command import user_command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "--version", prog_name="corral", message="%(prog)s %(version)s")
def cli() -> None:
    """Corral: one control plane for many Kubernetes clusters."""


cli.add_command(server_command)
cli.add_command(secrets_encrypt_command)
cli.add_command(login_command)
cli.add_command(logout_command)
cli.add_command(user_command)
cli.add_command(cluster_command)
cli.add_command(kubeconfig_command)
cli.add_command(backup_command)
cli.add_command(restore_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``corral`` script; exits with the command's status."""
    try:
        result = cli.main(args=argv, prog_name="corral", standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except CLIError as exc:
        _fail(str(exc), 1)
    except (click.Abort, KeyboardInterrupt):
        _fail("aborted", 1)
    sys.exit(result if isinstance(result, int) else 0)


def _fail(message: str, code: int) -> None:
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"corral: error: {first_line}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
