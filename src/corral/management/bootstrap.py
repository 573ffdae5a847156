"""The first user: ``admin``, with a bootstrap password to change at first login.

Decisions, taken at every start (`ensure_admin_user`):

- No ``User`` ``admin`` yet: it is created with ``CORRAL_BOOTSTRAP_PASSWORD``
  if set, else a random password (24 URL-safe characters), and
  ``mustChangePassword: true``. The password is written to
  ``<data-dir>/bootstrap-password`` (mode 0600) and handed back to the
  caller, who prints it only to a terminal: it never goes through logging.
  The ClusterRoleBinding ``corral-admin`` gives the user ``admin`` the
  ClusterRole ``cluster-admin``.
- ``admin`` exists and no longer has to change the password, but the file
  is still there (the server stopped between the change and the removal):
  the file is removed. `remove_bootstrap_file` is what the password change
  calls for ``admin``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from pathlib import Path
from typing import Final

from corral.client import Client, ResourceRef
from corral.machinery.status import AlreadyExists
from corral.management.accounts import Accounts
from corral.pki.files import write_secret_file

log = logging.getLogger("corral.management")

ADMIN_USERNAME: Final = "admin"
BOOTSTRAP_FILE: Final = "bootstrap-password"
ADMIN_BINDING: Final = "corral-admin"
CLUSTER_ROLE_BINDINGS = ResourceRef(
    "rbac.authorization.k8s.io",
    "v1",
    "clusterrolebindings",
    namespaced=False,
    kind="ClusterRoleBinding",
)


async def ensure_admin_user(
    accounts: Accounts, client: Client, data_dir: Path, password: str | None
) -> str | None:
    """Make sure ``admin`` exists; the new bootstrap password if it was created now."""
    path = data_dir / BOOTSTRAP_FILE
    existing = await accounts.user(ADMIN_USERNAME)
    if existing is not None:
        if existing.get("mustChangePassword") is not True:
            await remove_bootstrap_file(data_dir)
        await ensure_admin_binding(client)
        return None
    chosen = password or secrets.token_urlsafe(18)
    await accounts.create(
        ADMIN_USERNAME,
        chosen,
        display_name="Default Admin",
        description="the first user, created at the server's first start",
        must_change_password=True,
        check_policy=False,
    )
    await asyncio.to_thread(write_secret_file, path, (chosen + "\n").encode())
    await ensure_admin_binding(client)
    log.info("created the admin user", extra={"bootstrap_password_file": str(path)})
    return chosen


async def ensure_admin_binding(client: Client) -> None:
    body = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": ADMIN_BINDING, "labels": {"corral.io/bootstrapping": "true"}},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": ADMIN_USERNAME}
        ],
    }
    with contextlib.suppress(AlreadyExists):
        await client.create(CLUSTER_ROLE_BINDINGS, body)


async def remove_bootstrap_file(data_dir: Path) -> None:
    path = data_dir / BOOTSTRAP_FILE
    try:
        await asyncio.to_thread(path.unlink)
    except FileNotFoundError:
        return
    log.info("removed the bootstrap password file", extra={"file": str(path)})
