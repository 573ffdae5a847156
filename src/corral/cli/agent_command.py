"""``corral agent``: run the cluster agent as a process (docs/agent.md).

In a pod, the import manifest's Deployment passes ``CORRAL_SERVER``,
``CORRAL_TOKEN`` and ``CORRAL_CA_CHECKSUM`` from the Secret
``corral-credentials``; on a workstation the same values are flags, and
``--kubeconfig`` names the cluster to import (the agent then sets up its own
service account in it). SIGTERM and SIGINT close the tunnel and exit 0; a CA
that does not match the checksum, or a server the pinned CA does not verify,
exits 1 with one line, before the token is sent. The token is read from the
environment rather than a flag where possible: flags show in ``ps``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from corral.cli.errors import CLIError
from corral.cli.logs import log_options


@click.command("agent")
@click.option(
    "--server",
    "server_url",
    required=True,
    envvar="CORRAL_SERVER",
    show_envvar=True,
    help="The Corral server's URL (https://host:port).",
)
@click.option(
    "--token",
    required=True,
    envvar="CORRAL_TOKEN",
    show_envvar=True,
    help="The cluster's registration token (prefer the environment variable).",
)
@click.option(
    "--ca-checksum",
    required=True,
    envvar="CORRAL_CA_CHECKSUM",
    show_envvar=True,
    help="SHA-256 (hex) of the server's CA certificate, as the import command shows it.",
)
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, exists=True),
    envvar="CORRAL_KUBECONFIG",
    show_envvar=True,
    help="Import the cluster of this kubeconfig (default: the cluster this pod runs in).",
)
@click.option(
    "--backoff-scale",
    type=click.FloatRange(min=0.001, max=10.0),
    default=1.0,
    envvar="CORRAL_AGENT_BACKOFF_SCALE",
    hidden=True,
)
@log_options
def agent_command(
    server_url: str,
    token: str,
    ca_checksum: str,
    kubeconfig: str | None,
    backoff_scale: float,
    log_format: str,
    log_level: str,
) -> None:
    """Connect a cluster to a Corral server through an outbound tunnel."""
    from corral.agent import AgentError
    from corral.agent.agent import AgentOptions, run_agent
    from corral.cli.logs import configure_logging

    if not server_url.startswith("https://"):  # the token never crosses a network in clear
        raise click.BadParameter("must be an https:// URL", param_hint="--server")
    configure_logging(log_format, log_level)
    options = AgentOptions(server_url, token, ca_checksum, kubeconfig, backoff_scale)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await run_agent(options, stop)
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(signum)

    try:
        asyncio.run(main())
    except AgentError as exc:
        raise CLIError(str(exc)) from None
