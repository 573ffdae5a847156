"""Settings: flag > CORRAL_* environment variable > config file > default, and
one-line errors for a bad config file. Resolved in-process, no server."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from corral import __version__
from corral.cli.errors import ConfigFileError, SettingsError
from corral.cli.main import cli
from corral.cli.server_command import resolve_settings
from serverproc import run_corral


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("CORRAL_"):
            monkeypatch.delenv(name)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = resolve_settings(["--data-dir", "state"])
    assert s.data_dir == tmp_path / "state"
    assert s.https_port == 8443
    assert s.http_port == 8080
    assert s.bind_address == "0.0.0.0"  # noqa: S104
    assert s.datastore == f"sqlite://{tmp_path}/state/state.db"
    assert s.tls_sans == ()
    assert s.log_format == "text"
    assert s.log_level == "info"
    assert s.shutdown_grace_period == 30
    assert s.https_url() == "https://127.0.0.1:8443"


def test_precedence_flag_env_config_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        tmp_path / "corral.yaml",
        "https-port: 1001\nhttp-port: 1002\nlog-format: json\nbind-address: 127.0.0.2\n"
        "tls-san: [a.example.test, 10.0.0.1]\n",
    )
    base = ["--data-dir", str(tmp_path), "--config", str(config)]
    s = resolve_settings(base)
    assert (s.https_port, s.http_port, s.log_format) == (1001, 1002, "json")
    assert s.tls_sans == ("a.example.test", "10.0.0.1")
    assert s.log_level == "info"  # not in the file: default

    monkeypatch.setenv("CORRAL_HTTPS_PORT", "2001")
    monkeypatch.setenv("CORRAL_TLS_SAN", "b.example.test, 10.0.0.2,")
    s = resolve_settings(base)
    assert s.https_port == 2001  # env beats file
    assert s.http_port == 1002  # file beats default
    assert s.tls_sans == ("b.example.test", "10.0.0.2")

    s = resolve_settings([*base, "--https-port", "3001", "--tls-san", "c.example.test"])
    assert s.https_port == 3001  # flag beats env
    assert s.tls_sans == ("c.example.test",)
    assert s.bind_address == "127.0.0.2"
    assert s.https_url() == "https://127.0.0.2:3001"


def test_config_file_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "c.yaml", "http-port: 1234\n")
    monkeypatch.setenv("CORRAL_CONFIG", str(config))
    assert resolve_settings(["--data-dir", str(tmp_path)]).http_port == 1234


def test_datastore_and_data_dir_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("CORRAL_DATASTORE", "memory://")
    s = resolve_settings([])
    assert s.data_dir == tmp_path / "d"
    assert s.datastore == "memory://"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https-port: [1\n", "invalid YAML: "),
        ("https_port: 1\n", "unknown key 'https_port'"),
        ("nope: 1\n", "unknown key 'nope' (known keys: "),
        ("config: other.yaml\n", "unknown key 'config'"),
        ("https-port: '8443'\n", "key 'https-port': expected an integer, got '8443'"),
        ("https-port: true\n", "key 'https-port': expected an integer"),
        ("https-port: 70000\n", "key 'https-port': 70000 is not in the range"),
        ("log-format: xml\n", "key 'log-format': 'xml' is not one of"),
        ("tls-san: [1, 2]\n", "key 'tls-san': expected a list of strings"),
        ("tls-san: ['bad name']\n", "key 'tls-san': invalid TLS SAN 'bad name'"),
        ("- a\n- b\n", "must be a mapping"),
    ],
)
def test_bad_config_file(tmp_path: Path, text: str, message: str) -> None:
    config = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigFileError) as info:
        resolve_settings(["--data-dir", str(tmp_path), "--config", str(config)])
    assert str(info.value).startswith(f"{config}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read the config file"):
        resolve_settings(["--config", str(tmp_path / "none.yaml")])


def test_empty_config_file_and_empty_values(tmp_path: Path) -> None:
    assert resolve_settings(["--config", str(write(tmp_path / "e.yaml", ""))]).https_port == 8443
    s = resolve_settings(["--config", str(write(tmp_path / "n.yaml", "datastore:\n"))])
    assert s.datastore.startswith("sqlite://")


def test_single_san_string_in_config(tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", "tls-san: one.example.test\n")
    assert resolve_settings(["--config", str(config)]).tls_sans == ("one.example.test",)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bind-address", "localhost"], "is not an IP address"),
        (["--https-port", "9000", "--http-port", "9000"], "are both 9000"),
    ],
)
def test_inconsistent_settings(args: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        resolve_settings(args)


def test_help_shows_defaults_and_env_vars() -> None:
    result = CliRunner().invoke(cli, ["server", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for expected in (
        "default: 8443",
        "default: 8080",
        "default: 0.0.0.0",
        "sqlite:///<data-dir>/state.db",
        "CORRAL_HTTPS_PORT",
        "CORRAL_TLS_SAN",
        "--log-format [text|json]",
    ):
        assert expected in text, expected
    assert "--shutdown-grace-period" not in text


def test_version_in_process() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"corral {__version__}\n"


def test_version_command() -> None:
    result = run_corral(["--version"])
    assert result.returncode == 0
    assert result.stdout == f"corral {__version__}\n"


def test_usage_error_exits_2() -> None:
    result = run_corral(["server", "--https-port", "abc"])
    assert result.returncode == 2
    assert "Invalid value for '--https-port'" in result.stderr
    assert "Traceback" not in result.stderr


def test_specific_bind_address_is_a_san() -> None:
    assert resolve_settings(["--bind-address", "10.1.2.3"]).certificate_sans == ("10.1.2.3",)
    assert resolve_settings(["--bind-address", "::"]).certificate_sans == ()
    s = resolve_settings(["--bind-address", "[::1]", "--tls-san", "a.test"])
    assert s.certificate_sans == ("a.test", "::1")
    assert s.https_url() == "https://[::1]:8443"


def test_event_ttl_and_no_management(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["--data-dir", str(tmp_path)]
    defaults = resolve_settings(base)
    assert (defaults.event_ttl, defaults.management) == (3600, True)
    assert resolve_settings([*base, "--event-ttl", "1h30m"]).event_ttl == 5400
    assert resolve_settings([*base, "--event-ttl", "90"]).event_ttl == 90
    assert resolve_settings([*base, "--no-management"]).management is False
    monkeypatch.setenv("CORRAL_EVENT_TTL", "30m")
    monkeypatch.setenv("CORRAL_NO_MANAGEMENT", "true")
    from_env = resolve_settings(base)
    assert (from_env.event_ttl, from_env.management) == (1800, False)
    monkeypatch.delenv("CORRAL_EVENT_TTL")
    monkeypatch.delenv("CORRAL_NO_MANAGEMENT")
    config = write(tmp_path / "c.yaml", "event-ttl: 2h\nno-management: true\n")
    from_file = resolve_settings([*base, "--config", str(config)])
    assert (from_file.event_ttl, from_file.management) == (7200, False)
    seconds = write(tmp_path / "s.yaml", "event-ttl: 600\n")
    assert resolve_settings([*base, "--config", str(seconds)]).event_ttl == 600


@pytest.mark.parametrize("value", ["soon", "1d", "5x", ""])
def test_a_bad_event_ttl_is_a_usage_error(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(cli, ["server", "--data-dir", str(tmp_path), "--event-ttl", value])
    assert result.exit_code == 2
    assert "--event-ttl" in result.output
    assert "is not a duration" in result.output


def test_a_zero_event_ttl_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="--event-ttl must be longer than 0s"):
        resolve_settings(["--data-dir", str(tmp_path), "--event-ttl", "0s"])


def test_service_ranges(tmp_path: Path) -> None:
    base = ["--data-dir", str(tmp_path)]
    defaults = resolve_settings(base)
    assert (defaults.service_cidr, defaults.node_port_range) == ("10.43.0.0/16", (30000, 32767))
    chosen = resolve_settings(
        [
            *base,
            "--service-cluster-ip-range",
            "10.96.0.1/12",
            "--service-node-port-range",
            "31000-31999",
        ]
    )
    assert (chosen.service_cidr, chosen.node_port_range) == ("10.96.0.0/12", (31000, 31999))


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--service-cluster-ip-range", "banana", "is not a CIDR"),
        ("--service-cluster-ip-range", "10.0.0.0/30", "between 8 and"),
        ("--service-node-port-range", "32000", "is not FIRST-LAST"),
        ("--service-node-port-range", "32000-31000", "is not a range of ports"),
    ],
)
def test_bad_service_ranges_are_refused(
    tmp_path: Path, flag: str, value: str, message: str
) -> None:
    result = run_corral(["server", "--data-dir", str(tmp_path / "d"), flag, value])
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "d" / "state.db").exists()


def test_server_url_from_flag_env_and_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["--data-dir", str(tmp_path)]
    assert resolve_settings(base).server_url is None
    config = write(tmp_path / "corral.yaml", "server-url: https://from-file.example.test/\n")
    assert resolve_settings([*base, "--config", str(config)]).server_url == (
        "https://from-file.example.test"
    )
    monkeypatch.setenv("CORRAL_SERVER_URL", "https://from-env.example.test:8443")
    assert resolve_settings(base).server_url == "https://from-env.example.test:8443"
    flagged = resolve_settings([*base, "--server-url", "https://flag.example.test"])
    assert flagged.server_url == "https://flag.example.test"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://corral.example.test", "must be an https:// URL"),
        ("https://corral.example.test/rancher", "must not have a path"),
        ("https://me@corral.example.test", "must not carry user info"),
        ("https://corral.example.test?x=1", "must not have a query"),
    ],
)
def test_bad_server_url_is_refused(tmp_path: Path, value: str, message: str) -> None:
    result = run_corral(["server", "--data-dir", str(tmp_path / "d"), "--server-url", value])
    assert result.returncode != 0
    assert f"--server-url {value!r}: {message}" in result.stderr
    assert not (tmp_path / "d" / "state.db").exists()
