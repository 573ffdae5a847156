"""The ResourceQuota admission plugin: refuse what would exceed a quota, charge what fits.

As Kubernetes' ``ResourceQuota`` plugin (messages included), for creates
of namespaced objects and for updates of Services and
PersistentVolumeClaims (the kinds whose usage an update can change):

- A quota applies when its ``status.hard`` (written by the resource quota
  controller; a quota it has not seen yet constrains nothing) names a
  resource the object uses (`corral.machinery.quota.covers`) and its scopes
  select the object.
- A quota on cpu or memory makes every container state it: ``pods "x" is
  forbidden: failed quota: compute: must specify limits.cpu for: app``.
- ``status.used`` lacking one of those resources: ``status unknown for
  quota: compute, resources: requests.cpu``.
- Used + requested above hard: ``exceeded quota: compute, requested:
  requests.cpu=2, used: requests.cpu=1, limited: requests.cpu=2`` (403
  Forbidden naming the object).
- Otherwise the request is **charged**: each applicable quota's
  ``status.used`` is raised with compare-and-swap on the quota's key, so two
  concurrent creates can never both fit into the last unit; a lost race
  re-reads and re-checks. If the write then fails, the charge is taken back
  (`Admitted.abort`); the controller's recount corrects any drift.

A dry run checks and charges nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from corral.apiserver.admission.common import namespace_objects, read
from corral.apiserver.store.encoding import encode_for_storage
from corral.apiserver.watchcache import WatchCaches
from corral.machinery.admission import Admitted, Attributes, Operation
from corral.machinery.quota import (
    COMPUTE_VALIDATION,
    ZERO,
    ResourceList,
    covers,
    format_usage,
    matches_scopes,
    parse,
    quota_scopes,
    usage,
)
from corral.machinery.status import Forbidden, TooManyRequests
from corral.storage import Backend, KeyNotFoundError, RevisionMismatchError

Obj = dict[str, Any]
QUOTAS_PREFIX = "/registry/core/resourcequotas/"
_RETRIES = 16
_UPDATABLE = ("services", "persistentvolumeclaims")


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _quantities(value: object) -> dict[str, tuple[Decimal, object]]:
    out = {}
    for key, raw in _mapping(value).items():
        number = parse(raw)
        if number is not None:
            out[key] = (number, raw)
    return out


def show(key: str, value: Decimal, example: object = None) -> str:
    return format_usage(key, value, example)


def pretty(values: Mapping[str, str]) -> str:
    """``prettyPrint``: ``k=v`` sorted by key, joined by commas."""
    return ",".join(f"{k}={values[k]}" for k in sorted(values))


def missing_requests(pod: Obj, required: set[str]) -> str:
    """The pod's constraint error when containers leave out ``required`` resources."""
    spec = _mapping(pod.get("spec"))
    missing: dict[str, list[str]] = {}
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or []:
            resources = _mapping(_mapping(container).get("resources"))
            has = set()
            for name in _mapping(resources.get("requests")):
                has.add(f"requests.{name}")
                has.add(name)
            for name in _mapping(resources.get("limits")):
                has.add(f"limits.{name}")
            for resource in required - has:
                missing.setdefault(resource, []).append(str(_mapping(container).get("name", "")))
    if not missing:
        return ""
    parts = [f"{r} for: {','.join(sorted(set(missing[r])))}" for r in sorted(missing)]
    return "must specify " + "; ".join(parts)


class ResourceQuotaAdmission:
    """Checks and charges the namespace's quotas."""

    def __init__(self, backend: Backend, caches: WatchCaches | None = None) -> None:
        self.backend = backend
        self.caches = caches

    def _requested(self, attrs: Attributes) -> ResourceList | None:
        if attrs.subresource or attrs.obj is None or not attrs.namespace:
            return None
        if attrs.operation is Operation.CREATE:
            return usage(attrs.group, attrs.resource, attrs.obj)
        if attrs.operation is Operation.UPDATE and not attrs.group:
            if attrs.resource not in _UPDATABLE or attrs.old is None:
                return None
            new = usage(attrs.group, attrs.resource, attrs.obj)
            old = usage(attrs.group, attrs.resource, attrs.old)
            delta = {k: max(v - old.get(k, ZERO), ZERO) for k, v in new.items()}
            return delta if any(v > 0 for v in delta.values()) else None
        return None

    async def admit(self, attrs: Attributes) -> Admitted:
        done = Admitted()
        requested = self._requested(attrs)
        if requested is None:
            return done
        for attempt in range(_RETRIES):
            # The cache first; after a lost race, the stored quotas.
            caches = self.caches if attempt == 0 else None
            quotas = await namespace_objects(self.backend, QUOTAS_PREFIX, attrs.namespace, caches)
            charges = [
                (quota, charge)
                for quota in sorted(quotas, key=lambda q: str(q["metadata"].get("name")))
                if (charge := self._check(attrs, quota, requested))
            ]
            if attrs.dry_run or not charges:
                return done
            charged: list[tuple[Obj, ResourceList]] = []
            lost = False
            for quota, charge in charges:
                if await self._charge(quota, charge, +1):
                    charged.append((quota, charge))
                    continue
                lost = True
                break
            if not lost:
                for quota, charge in charged:
                    done.on_abort.append(self._refund(quota, charge))
                return done
            for quota, charge in reversed(charged):
                await self._adjust(quota, charge)
        raise TooManyRequests("too many concurrent changes to the namespace's quotas, try again")

    def _refund(self, quota: Obj, charge: ResourceList) -> Any:
        async def refund() -> None:
            await self._adjust(quota, charge)

        return refund

    def _check(self, attrs: Attributes, quota: Obj, requested: ResourceList) -> ResourceList:
        """What ``quota`` must be charged (empty: it does not apply); raise if it refuses."""
        name = str(quota["metadata"].get("name", ""))
        status = _mapping(quota.get("status"))
        hard = _quantities(status.get("hard"))
        restricted = sorted(k for k in hard if covers(attrs.group, attrs.resource, k))
        if not restricted:
            return {}
        assert attrs.obj is not None
        if not matches_scopes(attrs.group, attrs.resource, attrs.obj, quota_scopes(quota)):
            return {}
        if not attrs.group and attrs.resource == "pods":
            required = set(restricted) & COMPUTE_VALIDATION
            problem = missing_requests(attrs.obj, required) if required else ""
            if problem:
                raise Forbidden(attrs.resource, attrs.name, f"failed quota: {name}: {problem}")
        used = _quantities(status.get("used"))
        unknown = [k for k in restricted if k not in used]
        if unknown:
            raise Forbidden(
                attrs.resource,
                attrs.name,
                f"status unknown for quota: {name}, resources: {','.join(restricted)}",
                group=attrs.group,
            )
        charge = {k: requested[k] for k in restricted if k in requested}
        exceeded = [k for k, v in charge.items() if used[k][0] + v > hard[k][0]]
        if exceeded:
            req = {k: show(k, charge[k]) for k in exceeded}
            now = {k: show(k, used[k][0], used[k][1]) for k in exceeded}
            limit = {k: show(k, hard[k][0], hard[k][1]) for k in exceeded}
            raise Forbidden(
                attrs.resource,
                attrs.name,
                f"exceeded quota: {name}, requested: {pretty(req)}, used: {pretty(now)}, "
                f"limited: {pretty(limit)}",
                group=attrs.group,
            )
        return {k: v for k, v in charge.items() if v != 0}

    async def _charge(self, quota: Obj, charge: ResourceList, sign: int) -> bool:
        """Add ``charge`` to the stored quota at the revision read; False on a lost race."""
        meta = quota["metadata"]
        key = f"{QUOTAS_PREFIX}{meta.get('namespace')}/{meta.get('name')}"
        revision = int(meta.get("resourceVersion") or 0)
        used = dict(_mapping(_mapping(quota.get("status")).get("used")))
        for k, v in charge.items():
            current = parse(used.get(k))
            total = (current or ZERO) + sign * v
            used[k] = show(k, max(total, ZERO), used.get(k))
        updated = dict(quota)
        updated["status"] = {**_mapping(quota.get("status")), "used": used}
        try:
            await self.backend.update(key, encode_for_storage(updated), expected_revision=revision)
        except (RevisionMismatchError, KeyNotFoundError):
            return False
        return True

    async def _adjust(self, quota: Obj, charge: ResourceList) -> None:
        """Take ``charge`` back from the quota, whatever its revision now."""
        meta = quota["metadata"]
        key = f"{QUOTAS_PREFIX}{meta.get('namespace')}/{meta.get('name')}"
        for _ in range(_RETRIES):
            found = await read(self.backend, key)
            if found is None:
                return
            if await self._charge(found[1], charge, -1):
                return

    async def released(self, attrs: Attributes) -> None:
        return None
