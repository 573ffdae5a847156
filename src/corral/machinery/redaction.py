"""Secrets that travel in URL paths, and what logs and audit records show of them instead.

Some Corral URLs carry a secret in their path, because the client that uses
them cannot send a header: ``kubectl apply -f <server>/v3/import/<token>_<cluster>.yaml``
authenticates with the cluster's registration token. Such a path must never
reach a log line or an audit record as it is. This is the meeting point
(DESIGN §2) of the places that write paths down — the audit filter
(``corral.apiserver.audit``), the access log (``corral.cli.logs``) — and the
endpoint that serves them (``corral.management``): `redact_path_secrets`
replaces the token with ``<redacted>`` and keeps the cluster id, so
``/v3/import/<redacted>_c-abcde.yaml`` still says which cluster was asked for.
"""

from __future__ import annotations

import re
from typing import Final

REDACTED: Final = "<redacted>"
IMPORT_PREFIX: Final = "/v3/import/"
#: The rest of an import path's segment (anything a client sent is treated as secret).
_IMPORT_SEGMENT: Final = re.compile(r"/v3/import/([^\s\"'?#/]*)")


def _hide(match: re.Match[str]) -> str:
    segment = match.group(1)
    if "_" in segment:
        return f"{IMPORT_PREFIX}{REDACTED}_{segment.rsplit('_', 1)[1]}"
    return f"{IMPORT_PREFIX}{REDACTED}" if segment else match.group(0)


def redact_path_secrets(text: str) -> str:
    """``text`` with the token of every ``/v3/import/<token>_<cluster>.yaml`` replaced
    (a segment without ``_`` is replaced whole)."""
    if IMPORT_PREFIX not in text:
        return text
    return _IMPORT_SEGMENT.sub(_hide, text)
