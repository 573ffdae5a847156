"""The identity settings of ``corral server``: flags, environment, defaults, bad values."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

from corral.cli.errors import SettingsError
from corral.cli.server_command import resolve_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CORRAL_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    settings = resolve_settings([])
    assert settings.password_min_length == 12
    assert settings.session_ttl == 16 * 3600
    assert settings.session_idle_timeout == 0
    assert settings.token_max_ttl == 90 * 24 * 3600
    assert settings.kubeconfig_token_ttl == 30 * 24 * 3600


def test_flags_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_SESSION_TTL", "2h")
    monkeypatch.setenv("CORRAL_PASSWORD_MIN_LENGTH", "20")
    settings = resolve_settings(["--session-idle-timeout", "30m", "--token-max-ttl", "0"])
    assert settings.session_ttl == 7200
    assert settings.password_min_length == 20
    assert settings.session_idle_timeout == 1800
    assert settings.token_max_ttl == 0
    flag_wins = resolve_settings(["--session-ttl", "1h"])
    assert flag_wins.session_ttl == 3600


def test_bad_values_refused() -> None:
    with pytest.raises(SettingsError, match="--session-ttl"):
        resolve_settings(["--session-ttl", "0"])
    with pytest.raises(click.BadParameter, match="8<=x<=256"):
        resolve_settings(["--password-min-length", "4"])


def test_config_file_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "corral.yaml"
    config.write_text("session-ttl: 45m\nkubeconfig-token-ttl: 24h\npassword-min-length: 16\n")
    monkeypatch.setenv("CORRAL_SESSION_TTL", "30m")  # the environment beats the file
    settings = resolve_settings(["--config", str(config)])
    assert settings.session_ttl == 1800
    assert settings.kubeconfig_token_ttl == 86400
    assert settings.password_min_length == 16
