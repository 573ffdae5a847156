"""The audit and encryption settings of ``corral server``: defaults and checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.cli.errors import SettingsError
from corral.cli.server_command import resolve_settings


def test_defaults(tmp_path: Path) -> None:
    settings = resolve_settings(["--data-dir", str(tmp_path)])
    assert settings.secrets_encryption is True
    assert settings.encryption_config == tmp_path / "encryption-config.json"
    assert settings.audit_log_path is None
    assert settings.audit_level == "None"


def test_an_audit_path_means_metadata(tmp_path: Path) -> None:
    settings = resolve_settings(["--data-dir", str(tmp_path), "--audit-log-path", "-"])
    assert settings.audit_level == "Metadata"
    settings = resolve_settings(
        ["--data-dir", str(tmp_path), "--audit-log-path", "a.log", "--audit-level", "request"]
    )
    assert settings.audit_level == "Request"
    assert settings.audit_log_maxsize == 100


def test_a_level_without_a_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="--audit-level Request needs --audit-log-path"):
        resolve_settings(["--data-dir", str(tmp_path), "--audit-level", "Request"])


def test_encryption_can_be_turned_off_and_pointed_elsewhere(tmp_path: Path) -> None:
    settings = resolve_settings(
        [
            "--data-dir",
            str(tmp_path),
            "--no-secrets-encryption",
            "--encryption-provider-config",
            "/etc/corral/keys.json",
        ]
    )
    assert settings.secrets_encryption is False
    assert settings.encryption_config == Path("/etc/corral/keys.json")
