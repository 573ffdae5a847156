"""``corral cluster`` and ``corral kubeconfig``: clusters over the logged-in session.

- ``corral cluster create NAME [--description D]`` creates a Cluster (id
  ``c-xxxxx``, display name NAME) and prints its id and the two commands
  that import it (``kubectl apply -f …`` and ``corral agent …``), once the
  server has written them (it needs the ``server-url`` setting).
- ``corral cluster list``: a table of ID, NAME, STATE, VERSION, NODES.
- ``corral cluster delete ID|NAME``: deletes it (its namespace, token and
  credentials go with it).
- ``corral kubeconfig [CLUSTER…]`` (ids or display names; none: every
  cluster the user may use) prints a kubeconfig with one context per
  cluster through Corral's proxy and a fresh kubeconfig token
  (``-o FILE`` writes it with mode 0600 instead).

They use the current login of ``corral login`` (or ``--server``). The
import commands carry the cluster's registration token: they are printed
for the user who asked, and never logged.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from corral.cli.errors import CLIError
from corral.cli.user_command import _send, _session, failure, server_option

if TYPE_CHECKING:
    import httpx

CLUSTERS = "/apis/management.corral.io/v1/clusters"
#: How long ``cluster create`` waits for the server to write the import commands.
COMMANDS_WAIT_SECONDS = 10.0


def _clusters(http: httpx.Client) -> list[dict[str, Any]]:
    answer = _send(http, "GET", CLUSTERS)
    if answer.status_code != 200:
        raise CLIError(f"cannot list clusters: {failure(answer)}")
    items: list[dict[str, Any]] = answer.json().get("items") or []
    return items


def _display(cluster: dict[str, Any]) -> str:
    return str((cluster.get("spec") or {}).get("displayName") or "")


def _resolve(http: httpx.Client, ref: str) -> str:
    """The id of the cluster ``ref`` (an id or a display name)."""
    answer = _send(http, "GET", f"{CLUSTERS}/{ref}")
    if answer.status_code == 200:
        return ref
    if answer.status_code != 404:
        raise CLIError(f"cannot read cluster {ref}: {failure(answer)}")
    for cluster in _clusters(http):
        if _display(cluster) == ref:
            return str(cluster["metadata"]["name"])
    raise CLIError(f"no cluster has the id or name {ref!r}")


@click.group("cluster")
def cluster_command() -> None:
    """Create, list and delete the clusters Corral manages."""


@cluster_command.command("create")
@click.argument("name")
@click.option("--description", default="", help="What the cluster is for.")
@server_option
def create_cluster(name: str, description: str, server: str | None) -> None:
    """Create a cluster to import; prints its id and the commands that import it."""
    body = {
        "apiVersion": "management.corral.io/v1",
        "kind": "Cluster",
        "metadata": {"generateName": "c-"},
        "spec": {"displayName": name, "description": description},
    }
    with _session(server) as http:
        answer = _send(http, "POST", CLUSTERS, json=body)
        if answer.status_code != 201:
            raise CLIError(f"cluster {name} not created: {failure(answer)}")
        cluster_id = str(answer.json()["metadata"]["name"])
        registration = _wait_for_commands(http, cluster_id)
    click.echo(cluster_id)
    if not registration:
        click.echo(
            "No import commands yet: the server-url setting is empty "
            "(kubectl edit setting server-url), or the server is still writing them.",
            err=True,
        )
        return
    click.echo("Import it by running, against the cluster, either:")
    click.echo(f"  {registration['command']}")
    click.echo(f"  {registration['agentCommand']}")


def _wait_for_commands(http: httpx.Client, cluster_id: str) -> dict[str, str]:
    deadline = time.monotonic() + COMMANDS_WAIT_SECONDS
    while True:
        answer = _send(http, "GET", f"{CLUSTERS}/{cluster_id}")
        if answer.status_code == 200:
            registration = (answer.json().get("status") or {}).get("registration") or {}
            if registration.get("command") and registration.get("agentCommand"):
                return {k: str(v) for k, v in registration.items()}
        if time.monotonic() > deadline:
            return {}
        time.sleep(0.1)


@cluster_command.command("list")
@server_option
def list_clusters(server: str | None) -> None:
    """List the clusters: ID, NAME, STATE, VERSION, NODES."""
    with _session(server) as http:
        clusters = _clusters(http)
    rows = [("ID", "NAME", "STATE", "VERSION", "NODES")]
    for cluster in sorted(clusters, key=lambda c: str(c["metadata"]["name"])):
        status = cluster.get("status") or {}
        nodes = status.get("nodeCount")
        rows.append(
            (
                str(cluster["metadata"]["name"]),
                _display(cluster),
                str(status.get("state") or ""),
                str((status.get("version") or {}).get("gitVersion") or ""),
                "" if nodes is None else str(nodes),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("   ".join(cells).rstrip())


@cluster_command.command("delete")
@click.argument("cluster")
@server_option
def delete_cluster(cluster: str, server: str | None) -> None:
    """Delete a cluster (by id or name) from Corral."""
    with _session(server) as http:
        cluster_id = _resolve(http, cluster)
        answer = _send(http, "DELETE", f"{CLUSTERS}/{cluster_id}")
    if answer.status_code not in (200, 202):
        raise CLIError(f"cluster {cluster} not deleted: {failure(answer)}")
    click.echo(f"cluster/{cluster_id} deleted")


@click.command("kubeconfig")
@click.argument("clusters", nargs=-1)
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(dir_okay=False),
    help="Write the kubeconfig to FILE (mode 0600) instead of printing it.",
)
@server_option
def kubeconfig_command(clusters: tuple[str, ...], output: str | None, server: str | None) -> None:
    """Print a kubeconfig for clusters (ids or names; none: every cluster you may use)."""
    with _session(server) as http:
        answer = _send(
            http,
            "POST",
            "/v3/clusters?action=generateKubeconfig",
            json={"clusters": list(clusters)},
        )
    if answer.status_code != 200:
        raise CLIError(f"no kubeconfig: {failure(answer)}")
    config = str(answer.json()["config"])
    if output is None:
        click.echo(config, nl=False)
        return
    from pathlib import Path

    from corral.pki.errors import PKIError
    from corral.pki.files import write_secret_file

    try:
        write_secret_file(Path(output), config.encode())
    except PKIError as exc:
        raise CLIError(str(exc)) from None
    click.echo(f"Wrote {output}", err=True)
