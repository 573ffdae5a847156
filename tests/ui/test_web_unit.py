"""The console's plain-TypeScript unit tests (``npm test`` in web/: node's test runner).

They cover modules with logic worth testing outside a browser, such as the
Kubernetes quantity parser behind the home page's CPU and memory bars.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


def test_web_unit_tests_pass() -> None:
    npm = shutil.which("npm")
    if npm is None or not (WEB / "node_modules" / ".bin" / "tsc").exists():
        pytest.skip("web/node_modules is missing: run `npm ci` in web/")
    run = subprocess.run(
        [npm, "test", "--silent"], cwd=WEB, capture_output=True, text=True, timeout=110, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout
