"""The server's settings: one frozen record, resolved and checked once.

`ServerSettings.from_params` turns the values click resolved (flag > env >
config file > default) into absolute paths and checked values; everything
after start-up validation reads only this record. Without ``--data-dir``,
state lives in ``./data``: the laptop default (DESIGN), which the systemd unit
and the Helm chart override.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.cli.errors import SettingsError


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything ``corral server`` was asked to do."""

    data_dir: Path
    https_port: int
    http_port: int
    bind_address: str
    datastore: str
    tls_sans: tuple[str, ...]
    log_format: str
    log_level: str
    shutdown_grace_period: int
    shutdown_delay: float
    cert_check_interval: float
    #: Seconds an Event lives after its last write (``--event-ttl``).
    event_ttl: int = 3600
    #: Corral's management features are on (off with ``--no-management``).
    management: bool = True
    #: The web console is served at ``/`` (off with ``--no-ui``).
    ui: bool = True
    #: Simulated nodes to register (``--simulate-nodes``).
    simulate_nodes: int = 0
    #: Built-in controllers to run (``--controllers``, resolved to names).
    controllers: tuple[str, ...] = ()
    #: Leader election: lease duration, renew deadline, retry period (seconds).
    lease_timings: tuple[float, float, float] = (15.0, 10.0, 2.0)
    #: ``--node-monitor-grace-period`` in seconds.
    node_monitor_grace_period: float = 40.0
    #: ``--service-cluster-ip-range`` (a normalised CIDR).
    service_cidr: str = "10.43.0.0/16"
    #: ``--service-node-port-range`` (first, last).
    node_port_range: tuple[int, int] = (30000, 32767)
    #: Secrets and credentials are encrypted at rest (``--no-secrets-encryption``: off).
    secrets_encryption: bool = True
    #: The encryption key file (``--encryption-provider-config``).
    encryption_config: Path = Path("encryption-config.json")
    #: Seconds between checks of the key file for a rotation (hidden).
    encryption_poll_interval: float = 5.0
    #: ``--audit-log-path``: a file, ``-`` for standard output, None for no audit log.
    audit_log_path: str | None = None
    #: ``--audit-level``: None, Metadata or Request (Metadata when a path is given).
    audit_level: str = "None"
    #: ``--audit-log-maxsize`` (MiB; 0: never rotate) and ``--audit-log-maxbackup``.
    audit_log_maxsize: int = 100
    audit_log_maxbackup: int = 10
    #: ``--password-min-length``: the password policy of local users.
    password_min_length: int = 12
    #: Token lifetimes in seconds: ``--session-ttl``, ``--session-idle-timeout``
    #: (0: off), ``--token-max-ttl`` (0: none), ``--kubeconfig-token-ttl``.
    session_ttl: int = 16 * 3600
    session_idle_timeout: int = 0
    token_max_ttl: int = 90 * 24 * 3600
    kubeconfig_token_ttl: int = 30 * 24 * 3600

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ServerSettings:
        """Settings from click's resolved parameter values; raises `SettingsError`."""
        data_dir = Path(os.path.abspath(os.path.expanduser(params["data_dir"])))
        bind = str(params["bind_address"]).strip()
        try:
            bind = str(ipaddress.ip_address(bind.removeprefix("[").removesuffix("]")))
        except ValueError:
            raise SettingsError(
                f"--bind-address {bind!r} is not an IP address (use 0.0.0.0 for all)"
            ) from None
        https_port, http_port = int(params["https_port"]), int(params["http_port"])
        if https_port == http_port and https_port != 0:
            raise SettingsError(f"--https-port and --http-port are both {https_port}")
        datastore = params.get("datastore") or f"sqlite://{data_dir / 'state.db'}"
        return cls(
            data_dir=data_dir,
            https_port=https_port,
            http_port=http_port,
            bind_address=bind,
            datastore=datastore,
            tls_sans=tuple(params.get("tls_san") or ()),
            log_format=params["log_format"],
            log_level=params["log_level"],
            shutdown_grace_period=int(params["shutdown_grace_period"]),
            shutdown_delay=float(params["shutdown_delay"]),
            cert_check_interval=float(params["cert_check_interval"]),
            event_ttl=_positive_ttl(int(params.get("event_ttl", 3600))),
            management=not params.get("no_management", False),
            ui=not params.get("no_ui", False),
            simulate_nodes=int(params.get("simulate_nodes") or 0),
            controllers=_controllers(str(params.get("controllers", "*"))),
            lease_timings=_lease_timings(params),
            node_monitor_grace_period=float(params.get("node_monitor_grace_period") or 40.0),
            service_cidr=_service_cidr(
                str(params.get("service_cluster_ip_range") or "10.43.0.0/16")
            ),
            node_port_range=_port_range(
                str(params.get("service_node_port_range") or "30000-32767")
            ),
            secrets_encryption=bool(params.get("secrets_encryption", True)),
            encryption_config=_path_in(
                data_dir, params.get("encryption_provider_config") or "encryption-config.json"
            ),
            encryption_poll_interval=float(params.get("encryption_config_poll_interval") or 5.0),
            audit_log_path=params.get("audit_log_path") or None,
            audit_level=_audit_level(params),
            audit_log_maxsize=int(params.get("audit_log_maxsize", 100)),
            audit_log_maxbackup=int(params.get("audit_log_maxbackup", 10)),
            password_min_length=int(params.get("password_min_length") or 12),
            session_ttl=_seconds(params, "session_ttl", 16 * 3600, zero_ok=False),
            session_idle_timeout=_seconds(params, "session_idle_timeout", 0),
            token_max_ttl=_seconds(params, "token_max_ttl", 90 * 24 * 3600),
            kubeconfig_token_ttl=_seconds(params, "kubeconfig_token_ttl", 30 * 24 * 3600),
        )

    @property
    def certificate_sans(self) -> tuple[str, ...]:
        """``--tls-san`` values, plus the bind address if it is a specific one
        (the printed URL and the kubeconfig use it, so it must verify)."""
        addr = ipaddress.ip_address(self.bind_address)
        return self.tls_sans if addr.is_unspecified else (*self.tls_sans, str(addr))

    @property
    def public_host(self) -> str:
        """The host for URLs this machine can open: the bind address if it is a
        specific one, else 127.0.0.1 (IPv6 in brackets)."""
        addr = ipaddress.ip_address(self.bind_address)
        if addr.is_unspecified:
            return "127.0.0.1"
        return f"[{addr}]" if addr.version == 6 else str(addr)

    def https_url(self, port: int | None = None) -> str:
        """``https://<public host>:<port>`` (the HTTPS port by default)."""
        return f"https://{self.public_host}:{self.https_port if port is None else port}"


def _path_in(data_dir: Path, name: str) -> Path:
    """``name`` as an absolute path; a relative one is inside the data directory."""
    path = Path(os.path.expanduser(name))
    return path if path.is_absolute() else data_dir / path


def _audit_level(params: Mapping[str, Any]) -> str:
    """``--audit-level``; without it, Metadata if there is an audit log, else None."""
    level = params.get("audit_level")
    if not level:
        return "Metadata" if params.get("audit_log_path") else "None"
    for known in ("None", "Metadata", "Request"):
        if known.lower() == str(level).strip().lower():
            if known != "None" and not params.get("audit_log_path"):
                raise SettingsError(f"--audit-level {known} needs --audit-log-path")
            return known
    raise SettingsError(f"--audit-level {level!r} is not one of None, Metadata, Request")


def _service_cidr(text: str) -> str:
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise SettingsError(f"--service-cluster-ip-range {text!r} is not a CIDR") from None
    if network.num_addresses < 8 or network.num_addresses > 2**20:
        raise SettingsError(
            f"--service-cluster-ip-range {text!r} must hold between 8 and 1048576 addresses"
        )
    return str(network)


def _port_range(text: str) -> tuple[int, int]:
    first, sep, last = text.strip().partition("-")
    if not sep or not first.isdigit() or not last.isdigit():
        raise SettingsError(f"--service-node-port-range {text!r} is not FIRST-LAST")
    low, high = int(first), int(last)
    if not 1 <= low <= high <= 65535:
        raise SettingsError(f"--service-node-port-range {text!r} is not a range of ports")
    return (low, high)


def _controllers(spec: str) -> tuple[str, ...]:
    from corral.kube.manager import enabled_controllers

    try:
        return tuple(enabled_controllers(spec))
    except ValueError as exc:
        raise SettingsError(f"--controllers: {exc}") from None


def _lease_timings(params: Mapping[str, Any]) -> tuple[float, float, float]:
    duration = float(params.get("leader_elect_lease_duration") or 15.0)
    renew = float(params.get("leader_elect_renew_deadline") or 10.0)
    retry = float(params.get("leader_elect_retry_period") or 2.0)
    if not duration > renew > retry > 0:
        raise SettingsError(
            "leader election needs --leader-elect-lease-duration > "
            "--leader-elect-renew-deadline > --leader-elect-retry-period > 0"
        )
    return (duration, renew, retry)


def _positive_ttl(seconds: int) -> int:
    if seconds <= 0:
        raise SettingsError(f"--event-ttl must be longer than 0s, not {seconds}s")
    return seconds


def _seconds(params: Mapping[str, Any], key: str, default: int, *, zero_ok: bool = True) -> int:
    value = params.get(key)
    seconds = default if value is None else int(float(value))
    if seconds < 0 or (seconds == 0 and not zero_ok):
        flag = "--" + key.replace("_", "-")
        raise SettingsError(f"{flag} must be longer than 0s, not {seconds}s")
    return seconds
