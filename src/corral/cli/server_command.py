"""The ``corral server`` command: its options, and resolving them into settings.

Every option is a flag, a ``CORRAL_*`` environment variable (shown in
``--help``) and a key of the ``--config`` YAML file; click resolves them in
that precedence (`corral.cli.config_file`). `resolve_settings` does exactly
what the command does up to the point of starting, which is how the tests
check precedence without starting a server. Heavy modules (uvicorn,
cryptography) are imported only once the server really starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from corral.cli.config_file import load_config_callback
from corral.cli.datadir import data_dir_option
from corral.cli.duration import DurationType
from corral.cli.logs import log_options
from corral.cli.settings import ServerSettings


class SANType(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.4
    """A TLS SAN: an IP address or a DNS name; comma-separated in the env var.

    An empty item (``CORRAL_TLS_SAN="a,,b"``) converts to "" and is dropped.
    """

    name = "san"
    envvar_list_splitter = ","

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from corral.pki.errors import InvalidSANError
        from corral.pki.sans import parse_san

        text = str(value).strip()
        if text:
            try:
                parse_san(text)
            except InvalidSANError as exc:
                self.fail(str(exc), param, ctx)
        return text


def _drop_empty(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    return tuple(v for v in value if v)


@click.command("server")
@click.option(
    "--config",
    metavar="FILE",
    type=str,
    envvar="CORRAL_CONFIG",
    show_envvar=True,
    is_eager=True,
    expose_value=False,
    callback=load_config_callback,
    help="YAML file of settings; its keys are these option names (e.g. https-port).",
)
@data_dir_option("Directory for the datastore, TLS files and the admin kubeconfig.")
@click.option(
    "--https-port",
    metavar="PORT",
    type=click.IntRange(0, 65535),
    default=8443,
    envvar="CORRAL_HTTPS_PORT",
    show_envvar=True,
    help="Port of the API, console and agent tunnel (TLS).",
)
@click.option(
    "--http-port",
    metavar="PORT",
    type=click.IntRange(0, 65535),
    default=8080,
    envvar="CORRAL_HTTP_PORT",
    show_envvar=True,
    help="Port of health probes and the redirect to HTTPS.",
)
@click.option(
    "--bind-address",
    metavar="IP",
    default="0.0.0.0",  # noqa: S104 (a server listens on all interfaces by default)
    envvar="CORRAL_BIND_ADDRESS",
    show_envvar=True,
    help="IP address both ports listen on.",
)
@click.option(
    "--datastore",
    metavar="URL",
    default=None,
    show_default="sqlite:///<data-dir>/state.db",
    envvar="CORRAL_DATASTORE",
    show_envvar=True,
    help="Datastore URL: sqlite:///path, postgres://user:password@host:port/db, "
    "etcd://host:port[,host:port...][/root] or memory://.",
)
@click.option(
    "--tls-san",
    type=SANType(),
    multiple=True,
    envvar="CORRAL_TLS_SAN",
    show_envvar=True,
    callback=_drop_empty,
    help="Extra IP address or DNS name for the serving certificate; repeatable "
    "(comma-separated in CORRAL_TLS_SAN, a list in the config file).",
)
@log_options
@click.option(
    "--event-ttl",
    type=DurationType(),
    default="1h",
    show_default=True,
    envvar="CORRAL_EVENT_TTL",
    show_envvar=True,
    help="How long Events are kept after their last update (e.g. 30m, 1h, 2h30m).",
)
@click.option(
    "--no-management",
    is_flag=True,
    default=False,
    envvar="CORRAL_NO_MANAGEMENT",
    show_envvar=True,
    help="Serve only the Kubernetes API and its built-in controllers: a plain cluster, "
    "without Corral's management features (clusters, users, projects, catalog).",
)
@click.option(
    "--no-ui",
    is_flag=True,
    default=False,
    envvar="CORRAL_NO_UI",
    show_envvar=True,
    help="Do not serve the web console at / (the API and /v3/subscribe stay).",
)
@click.option(
    "--server-url",
    default=None,
    envvar="CORRAL_SERVER_URL",
    show_envvar=True,
    help="The https:// address agents and kubeconfigs use to reach this server (no path); "
    "written to the server-url setting at start. Without it the setting keeps its value "
    "(kubectl edit setting server-url).",
)
@click.option(
    "--simulate-nodes",
    type=click.IntRange(0, 10000),
    default=0,
    show_default=True,
    envvar="CORRAL_SIMULATE_NODES",
    show_envvar=True,
    help="Register this many simulated nodes, which run pods in name only (for demos "
    "and scale tests; nothing runs on the host).",
)
@click.option(
    "--service-cluster-ip-range",
    default="10.43.0.0/16",
    show_default=True,
    envvar="CORRAL_SERVICE_CLUSTER_IP_RANGE",
    show_envvar=True,
    help="CIDR that Services' cluster IPs come from (the first address is the "
    "kubernetes Service's).",
)
@click.option(
    "--service-node-port-range",
    default="30000-32767",
    show_default=True,
    envvar="CORRAL_SERVICE_NODE_PORT_RANGE",
    show_envvar=True,
    help="Ports NodePort Services get, as FIRST-LAST.",
)
@click.option(
    "--controllers",
    default="*",
    show_default=True,
    envvar="CORRAL_CONTROLLERS",
    show_envvar=True,
    help="Built-in controllers to run: '*' for all, NAME to enable, -NAME to disable "
    "(e.g. '*,-garbagecollector').",
)
@click.option(
    "--leader-elect-lease-duration",
    type=DurationType(),
    default="15s",
    show_default=True,
    envvar="CORRAL_LEADER_ELECT_LEASE_DURATION",
    show_envvar=True,
    help="How long a standby waits after the leader's last renewal before taking over.",
)
@click.option(
    "--leader-elect-renew-deadline",
    type=DurationType(),
    default="10s",
    show_default=True,
    envvar="CORRAL_LEADER_ELECT_RENEW_DEADLINE",
    show_envvar=True,
    help="How long the leader keeps trying to renew before it stops leading.",
)
@click.option(
    "--leader-elect-retry-period",
    type=DurationType(),
    default="2s",
    show_default=True,
    envvar="CORRAL_LEADER_ELECT_RETRY_PERIOD",
    show_envvar=True,
    help="How often leader election renews or tries to acquire the lease.",
)
@click.option(
    "--node-monitor-grace-period",
    type=DurationType(),
    default="40s",
    show_default=True,
    envvar="CORRAL_NODE_MONITOR_GRACE_PERIOD",
    show_envvar=True,
    help="A node that has not reported for this long is marked NotReady.",
)
@click.option(
    "--secrets-encryption/--no-secrets-encryption",
    default=True,
    show_default=True,
    envvar="CORRAL_SECRETS_ENCRYPTION",
    show_envvar=True,
    help="Encrypt Secrets and Corral's stored credentials in the datastore (AES-GCM). "
    "Off, new values are stored in clear; encrypted ones stay readable while the key "
    "file exists.",
)
@click.option(
    "--encryption-provider-config",
    metavar="FILE",
    default=None,
    show_default="<data-dir>/encryption-config.json",
    envvar="CORRAL_ENCRYPTION_PROVIDER_CONFIG",
    show_envvar=True,
    help="Key file for encryption at rest (created, mode 0600, on first start); "
    "keep it out of datastore backups. Rotate with 'corral secrets-encrypt rotate'.",
)
@click.option(
    "--encryption-config-poll-interval",
    type=click.FloatRange(0.01),
    default=5.0,
    envvar="CORRAL_ENCRYPTION_CONFIG_POLL_INTERVAL",
    show_envvar=True,
    hidden=True,
    help="Seconds between checks of the key file for a rotation.",
)
@click.option(
    "--audit-log-path",
    metavar="FILE",
    default=None,
    envvar="CORRAL_AUDIT_LOG_PATH",
    show_envvar=True,
    help="Write one JSON audit event per API request to FILE ('-': standard output).",
)
@click.option(
    "--audit-level",
    type=click.Choice(["None", "Metadata", "Request"], case_sensitive=False),
    default=None,
    show_default="Metadata with --audit-log-path, else None",
    envvar="CORRAL_AUDIT_LEVEL",
    show_envvar=True,
    help="What an audit event holds: Metadata (who, what, outcome) or Request (plus "
    "the request body, never for Secrets, tokens or logins).",
)
@click.option(
    "--audit-log-maxsize",
    metavar="MIB",
    type=click.IntRange(0),
    default=100,
    show_default=True,
    envvar="CORRAL_AUDIT_LOG_MAXSIZE",
    show_envvar=True,
    help="Rotate the audit log when it reaches this many MiB (0: never).",
)
@click.option(
    "--audit-log-maxbackup",
    metavar="N",
    type=click.IntRange(0),
    default=10,
    show_default=True,
    envvar="CORRAL_AUDIT_LOG_MAXBACKUP",
    show_envvar=True,
    help="Rotated audit log files to keep.",
)
@click.option(
    "--password-min-length",
    type=click.IntRange(8, 256),
    default=12,
    show_default=True,
    envvar="CORRAL_PASSWORD_MIN_LENGTH",
    show_envvar=True,
    help="Fewest characters a local user's new password may have.",
)
@click.option(
    "--session-ttl",
    type=DurationType(),
    default="16h",
    show_default=True,
    envvar="CORRAL_SESSION_TTL",
    show_envvar=True,
    help="How long a login session (token or browser cookie) lasts.",
)
@click.option(
    "--session-idle-timeout",
    type=DurationType(),
    default="0",
    show_default=True,
    envvar="CORRAL_SESSION_IDLE_TIMEOUT",
    show_envvar=True,
    help="A login session unused this long stops working (0: never).",
)
@click.option(
    "--token-max-ttl",
    type=DurationType(),
    default="2160h",
    show_default=True,
    envvar="CORRAL_TOKEN_MAX_TTL",
    show_envvar=True,
    help="The longest any Corral token may live (0: no limit).",
)
@click.option(
    "--kubeconfig-token-ttl",
    type=DurationType(),
    default="720h",
    show_default=True,
    envvar="CORRAL_KUBECONFIG_TOKEN_TTL",
    show_envvar=True,
    help="How long the token of a kubeconfig written by 'corral login' lasts.",
)
@click.option(
    "--advertise-url",
    envvar="CORRAL_ADVERTISE_URL",
    show_envvar=True,
    help="Where other replicas reach this one (https://host:port; default: from the bind "
    "address and HTTPS port). Requests for a cluster whose agent is connected to another "
    "replica are forwarded there.",
)
@click.option(
    "--cluster-agent-timeout",
    type=DurationType(),
    default="45s",
    show_default=True,
    envvar="CORRAL_CLUSTER_AGENT_TIMEOUT",
    show_envvar=True,
    help="How soon a cluster whose agent's replica stopped is marked Disconnected.",
)
@click.option(
    "--shutdown-grace-period",
    type=click.IntRange(0),
    default=30,
    envvar="CORRAL_SHUTDOWN_GRACE_PERIOD",
    show_envvar=True,
    hidden=True,
    help="Seconds in-flight requests get to finish after SIGTERM.",
)
@click.option(
    "--shutdown-delay",
    type=click.FloatRange(0),
    default=0.0,
    envvar="CORRAL_SHUTDOWN_DELAY",
    show_envvar=True,
    hidden=True,
    help="Seconds to keep serving (with /readyz failing) after SIGTERM.",
)
@click.option(
    "--cert-check-interval",
    type=click.FloatRange(0.01),
    default=3600.0,
    envvar="CORRAL_CERT_CHECK_INTERVAL",
    show_envvar=True,
    hidden=True,
    help="Seconds between checks of the serving certificate's renewal.",
)
def server_command(**params: Any) -> None:
    """Run the Corral server: the API on HTTPS, probes on HTTP."""
    settings = ServerSettings.from_params(params)
    from corral.cli.serve import run_server  # heavy imports only when serving

    code = run_server(settings)
    if code:
        raise SystemExit(code)


def resolve_settings(args: Sequence[str]) -> ServerSettings:
    """The settings ``corral server <args>`` would run with (reads the environment)."""
    with server_command.make_context("server", list(args)) as ctx:
        return ServerSettings.from_params(ctx.params)
