"""The import commands of a cluster, from the server URL, its token and the CA checksum.

One place says what a user runs to import a cluster (issue 9 part 1):

- ``manifestUrl``: ``<server-url>/v3/import/<token>_<cluster>.yaml``;
- ``command``: ``kubectl apply -f <manifestUrl>``;
- ``agentCommand``: ``corral agent --server <server-url> --token <token>
  --ca-checksum <sha256 of the cacerts value>``.

Without a server URL there is nothing to run: the commands are empty
(`registration_commands` answers ``{}``) until someone sets ``server-url``.
`parse_import_name` reads ``<token>_<cluster>.yaml`` back (what logs and
audit records show of such a path is ``corral.machinery.redaction``'s).
"""

from __future__ import annotations

import re
from typing import Final

from corral.machinery.redaction import IMPORT_PREFIX

_IMPORT_NAME: Final = re.compile(r"^([a-z0-9]+)_([a-z0-9-]+)\.yaml$")


def manifest_url(server_url: str, token: str, cluster: str) -> str:
    return f"{server_url}{IMPORT_PREFIX}{token}_{cluster}.yaml"


def registration_commands(
    server_url: str, token: str, cluster: str, checksum: str
) -> dict[str, str]:
    """``{manifestUrl, command, agentCommand}``, or ``{}`` without a server URL or token."""
    if not server_url or not token:
        return {}
    url = manifest_url(server_url, token, cluster)
    return {
        "manifestUrl": url,
        "command": f"kubectl apply -f {url}",
        "agentCommand": (
            f"corral agent --server {server_url} --token {token} --ca-checksum {checksum}"
        ),
    }


def parse_import_name(name: str) -> tuple[str, str] | None:
    """(token, cluster) of ``<token>_<cluster>.yaml``, or None."""
    found = _IMPORT_NAME.match(name)
    return None if found is None else (found.group(1), found.group(2))
