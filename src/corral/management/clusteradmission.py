"""Admission for the cluster kinds: what a schema cannot say about a Cluster or a Setting.

Decisions (run on every create and update, after schema validation):

- A Cluster's id is ``local`` (only the server's management component may
  create it) or ``c-`` and five lowercase letters or digits (what
  ``generateName: c-`` gives); anything else is a 422 naming
  ``metadata.name``. ``spec.internal`` may be true only for ``local``.
- ``spec.displayName`` is unique among clusters: a second cluster with the
  same one is a 422 ``Duplicate value`` naming ``spec.displayName``. The
  check reads the watch cache (a handful of clusters) and the names this
  replica admitted in the last moments (held from admission until the
  cache has them), so two creates racing on one replica cannot both pass;
  on two replicas at the same millisecond they still could.
- The ``corral.io/creator-id`` annotation is the server's: on create it is
  set to the authenticated user (whatever the body said); on update it
  keeps its stored value.
- The Setting ``server-url`` must be an https URL without path, query or
  user info (`corral.management.serversettings.check_server_url`).

Writes to subresources (``/status``) are not concerned.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Final

from corral.apiserver.handlers.context import ServerParts
from corral.auth.rbac import MANAGEMENT_USER
from corral.machinery.admission import Admitted, Attributes, Operation
from corral.machinery.authz import REQUEST_USER
from corral.machinery.status import FieldError, Invalid
from corral.management.clusterkinds import CREATOR_ANNOTATION, LOCAL_CLUSTER, display_name
from corral.management.kinds import GROUP, VERSION
from corral.management.serversettings import SERVER_URL, server_url_problem

CLUSTER_ID: Final = re.compile(r"^c-[a-z0-9]{5}$")
#: How long an admitted display name is held after its write (the watch cache's lag, amply).
RESERVE_SECONDS: Final = 2.0


class ClusterAdmission:
    """The admission plugin of Clusters and Settings (``corral.machinery.admission.Admission``)."""

    def __init__(self, parts: ServerParts) -> None:
        self._parts = parts
        #: (displayName, cluster id) of writes admitted but maybe not in the cache yet.
        self._pending: set[tuple[str, str]] = set()

    async def admit(self, attrs: Attributes) -> Admitted:
        if attrs.group != GROUP or attrs.subresource or attrs.obj is None:
            return Admitted()
        if attrs.operation not in (Operation.CREATE, Operation.UPDATE):
            return Admitted()
        if attrs.resource == "clusters":
            self._admit_cluster(attrs, attrs.obj)
            return self._reserve(display_name(attrs.obj), attrs)
        if attrs.resource == "settings" and attrs.name == SERVER_URL:
            _admit_server_url(attrs.obj)
        return Admitted()

    async def released(self, attrs: Attributes) -> None:
        return None

    def _reserve(self, wanted: str, attrs: Attributes) -> Admitted:
        """Hold ``wanted`` for this write until the watch cache shows it (or it failed)."""
        admitted = Admitted()
        if not wanted or attrs.dry_run:
            return admitted
        token = (wanted, attrs.name)
        self._pending.add(token)

        async def abort() -> None:
            self._pending.discard(token)

        async def commit() -> None:
            # the write is stored: its watch event reaches the cache within milliseconds
            asyncio.get_running_loop().call_later(RESERVE_SECONDS, self._pending.discard, token)

        admitted.on_abort.append(abort)
        admitted.on_commit.append(commit)
        return admitted

    def _admit_cluster(self, attrs: Attributes, obj: dict[str, Any]) -> None:
        errors: list[FieldError] = []
        name = attrs.name
        user = REQUEST_USER.get()
        creating = attrs.operation is Operation.CREATE
        if creating and name == LOCAL_CLUSTER:
            if user is not None and user.name != MANAGEMENT_USER:
                errors.append(
                    FieldError.invalid(
                        "metadata.name", name, "the id 'local' is reserved for this server"
                    )
                )
        elif creating and not CLUSTER_ID.match(name):
            errors.append(
                FieldError.invalid(
                    "metadata.name",
                    name,
                    "cluster ids are 'c-' and 5 lowercase letters or digits: "
                    "create clusters with metadata.generateName: c-",
                )
            )
        spec = obj.get("spec") or {}
        if spec.get("internal") is True and name != LOCAL_CLUSTER:
            errors.append(
                FieldError.invalid("spec.internal", True, "only the cluster 'local' is internal")
            )
        wanted = display_name(obj)
        if wanted and self._display_name_taken(wanted, name):
            errors.append(FieldError.duplicate("spec.displayName", wanted))
        if errors:
            raise Invalid("Cluster", name, errors, group=GROUP)
        annotations = obj.setdefault("metadata", {}).get("annotations")
        if not isinstance(annotations, dict):
            annotations = {}
        if creating:
            if user is not None:
                annotations[CREATOR_ANNOTATION] = user.name
            else:
                annotations.pop(CREATOR_ANNOTATION, None)
        else:
            old = ((attrs.old or {}).get("metadata") or {}).get("annotations") or {}
            if CREATOR_ANNOTATION in old:
                annotations[CREATOR_ANNOTATION] = old[CREATOR_ANNOTATION]
            else:
                annotations.pop(CREATOR_ANNOTATION, None)
        if annotations:
            obj["metadata"]["annotations"] = annotations
        else:
            obj["metadata"].pop("annotations", None)

    def _display_name_taken(self, wanted: str, own_name: str) -> bool:
        if any(name == wanted and other != own_name for name, other in self._pending):
            return True
        rt = self._parts.registry.lookup(GROUP, VERSION, "clusters")
        if rt is None or rt.storage_prefix not in self._parts.caches:
            return False
        objects, _ = self._parts.caches[rt.storage_prefix].snapshot(rt.storage_prefix)
        for cached in objects:
            other = cached.obj
            if (other.get("metadata") or {}).get("name") == own_name:
                continue
            if display_name(other) == wanted:
                return True
        return False


def _admit_server_url(obj: dict[str, Any]) -> None:
    value = obj.get("value", "")
    if isinstance(value, str) and value:
        problem = server_url_problem(value)
        if problem:
            error = FieldError.invalid("value", value, problem)
            raise Invalid("Setting", SERVER_URL, [error], group=GROUP)
        obj["value"] = value.rstrip("/")
