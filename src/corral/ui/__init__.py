"""Corral's web console, served by ``corral server``: its files and its live data.

The console itself is a Vue application in ``web/``; its build lands in
``src/corral/ui/static`` (never committed; the package build and ``make run``
produce it). This package serves it: `Console` (``corral.ui.console``) answers
``/`` and ``/assets/*`` from a `StaticFiles` directory with a strict
Content-Security-Policy; `SubscriptionEndpoint` (``corral.ui.subscriptions``)
serves ``/v3/subscribe``, the one WebSocket over which a page watches every
list it shows. docs/ui.md tells the whole story.

Errors: this package defines none of its own. A refused request or
subscription is a `corral.machinery.StatusError`, rendered as a Kubernetes
``Status``.
"""

from __future__ import annotations

from pathlib import Path

from corral.ui.console import CONTENT_SECURITY_POLICY, Console
from corral.ui.staticfiles import StaticFiles
from corral.ui.subscriptions import Limits, SubscriptionEndpoint

#: Where the build of ``web/`` is written (`web/vite.config.ts`) and packaged.
STATIC_DIR = Path(__file__).parent / "static"


def console(root: Path = STATIC_DIR) -> Console:
    """The console serving the build in ``root``."""
    return Console(StaticFiles(root))


__all__ = [
    "CONTENT_SECURITY_POLICY",
    "STATIC_DIR",
    "Console",
    "Limits",
    "StaticFiles",
    "SubscriptionEndpoint",
    "console",
]
