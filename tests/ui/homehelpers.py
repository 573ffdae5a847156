"""Helpers of the console-home browser tests: each module's own fresh server, the login form.

The shared fixtures (``browser``, ``context``, ``page``, ``page_errors``) are in
tests/ui/conftest.py. The first-login and home tests need a server of their
own per module — a fresh bootstrap password, no server URL yet, no other
test's clusters — so each overrides ``console_server`` with `own_server`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from serverproc import CorralServer, running_server
from ui.conftest import require_built_console


def own_server(name: str, *args: str) -> Any:
    """A module-scoped ``console_server`` fixture: a fresh server (management on)."""

    @pytest.fixture(scope="module")
    def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
        require_built_console()
        with running_server(tmp_path_factory.mktemp(name) / "data", args) as server:
            yield server

    return console_server


def bootstrap_password(server: CorralServer) -> str:
    return (server.data_dir / "bootstrap-password").read_text().strip()


def sign_in_with_form(page: Page, username: str, password: str) -> None:
    """Fill in and send the login page's form (the page must show it)."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
