"""Package build hook: the web console's build goes into the wheel.

The console's sources live in ``web/`` and its build output in
``src/corral/ui/static`` (gitignored: never committed). When a wheel is
built (``pip install .``, ``python -m build``, ``uv build``) and that
directory has no ``index.html``, this hook runs ``npm ci`` and ``npm run
build`` in ``web/`` (Node 20 and npm must be on the PATH), then declares the
directory an artifact so it is packaged although git ignores it.

Editable installs (``uv sync``, ``pip install -e``) do not build the console:
they serve whatever ``src/corral/ui/static`` holds, and ``make run`` builds it
when it is missing or stale. ``CORRAL_SKIP_UI_BUILD=1`` skips the build for a
wheel too (an API-only package; ``/`` then says how to build the console).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

STATIC = Path("src") / "corral" / "ui" / "static"


class ConsoleBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Builds ``web/`` into ``src/corral/ui/static`` for wheels."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        static = root / STATIC
        if not (static / "index.html").is_file() and not os.environ.get("CORRAL_SKIP_UI_BUILD"):
            self._build_console(root / "web")
        if (static / "index.html").is_file():
            build_data["artifacts"].append(f"/{STATIC.as_posix()}/**")

    def _build_console(self, web: Path) -> None:
        if not (web / "package.json").is_file():
            self.app.display_warning("web/ is missing: the wheel will not contain the console")
            return
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "building the web console needs Node 20 and npm on the PATH "
                "(or set CORRAL_SKIP_UI_BUILD=1 to build a wheel without it)"
            )
        self.app.display_info("building the web console (npm ci, npm run build in web/)")
        for args in (["ci", "--no-audit", "--no-fund"], ["run", "build"]):
            subprocess.run([npm, *args], cwd=web, check=True)
