"""Cluster IPs and node ports for Services: allocated at admission, released on delete.

What Kubernetes' Service REST storage decides, with its messages:

- A Service other than ExternalName gets a cluster IP from the service CIDR
  (default ``10.43.0.0/16``, as k3s; the first address is the
  ``kubernetes`` Service's and is never handed out at random). A requested
  ``clusterIP`` is taken if free, else 422 on ``spec.clusterIPs``
  (``failed to allocate IP 10.43.0.10: provided IP is already allocated``,
  or ``... is not in the valid range``); ``None`` is headless (no IP).
- NodePort and LoadBalancer Services (unless
  ``allocateLoadBalancerNodePorts: false``) get a node port per port from
  30000-32767; a requested one is taken if free, else 422 on
  ``spec.ports[i].nodePort`` (``provided port is already allocated``). The
  same port number on two protocols of one Service is one allocation.
- Updates keep what the old object held (the validation strategy copies it
  in), allocate what a type change adds, and release what it drops once
  the write has happened; a delete releases everything.
- A dry run checks availability and assigns values, taking nothing.

Allocation is `allocator.KeyAllocator` (one key per IP or port, owned by
the Service's uid). `ServiceAllocator.repair` (at start-up, then every
three minutes, as Kubernetes' repair loops) frees allocations whose owner
no longer exists (a crash between allocating and storing, a Service
removed by its last finalizer) after a grace period, so that a create in
flight is never robbed, and records what stored Services hold without an
allocation (data from before allocation existed).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from corral.apiserver.admission.allocator import KeyAllocator, static_band
from corral.machinery.admission import Admitted, Attributes, Operation
from corral.machinery.status import FieldError, InternalError, Invalid
from corral.storage import Backend

log = logging.getLogger(__name__)

Obj = dict[str, Any]
IP_PREFIX = "/corral/allocations/serviceips/"
PORT_PREFIX = "/corral/allocations/nodeports/"
SERVICES_PREFIX = "/registry/core/services/"
DEFAULT_SERVICE_CIDR = "10.43.0.0/16"
DEFAULT_NODE_PORT_RANGE = (30000, 32767)
REPAIR_INTERVAL = 180.0
REPAIR_GRACE = 60.0


@dataclass(frozen=True, slots=True)
class ServiceRanges:
    """Where cluster IPs and node ports come from."""

    cidr: str = DEFAULT_SERVICE_CIDR
    node_ports: tuple[int, int] = DEFAULT_NODE_PORT_RANGE


def first_service_ip(cidr: str) -> str:
    """The ``kubernetes`` Service's address: the first of the range."""
    return str(ipaddress.ip_network(cidr, strict=False).network_address + 1)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _ports(spec: Mapping[str, Any]) -> list[Obj]:
    ports = spec.get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def _wants_node_ports(spec: Mapping[str, Any]) -> bool:
    kind = spec.get("type")
    return kind == "NodePort" or (
        kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False
    )


def _held_ip(spec: Mapping[str, Any]) -> str:
    ip = spec.get("clusterIP")
    if spec.get("type") == "ExternalName" or not isinstance(ip, str) or ip in ("", "None"):
        return ""
    return ip


def _held_ports(spec: Mapping[str, Any]) -> set[int]:
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        return set()
    out = set()
    for port in _ports(spec):
        value = port.get("nodePort")
        if isinstance(value, int) and not isinstance(value, bool) and value:
            out.add(value)
    return out


class ServiceAllocator:
    """The admission plugin that gives Services their cluster IPs and node ports."""

    def __init__(self, backend: Backend, ranges: ServiceRanges | None = None) -> None:
        self.ranges = ranges or ServiceRanges()
        self.network = ipaddress.ip_network(self.ranges.cidr, strict=False)
        self.backend = backend
        # Usable addresses: without the network (and broadcast) address.
        edge = 2 if self.network.version == 4 and self.network.prefixlen < 31 else 1
        ip_size = min(self.network.num_addresses - edge, 1 << 20)
        self.ips = KeyAllocator(
            backend,
            IP_PREFIX,
            ip_size,
            lambda o: str(self.network.network_address + 1 + o),
            self._ip_offset,
            band=static_band(ip_size, 16, 256),
            reserved=(0,),
        )
        low, high = self.ranges.node_ports
        port_size = high - low + 1
        self.ports = KeyAllocator(
            backend,
            PORT_PREFIX,
            port_size,
            lambda o: str(low + o),
            self._port_offset,
            band=static_band(port_size, 32, 128),
        )
        self._repairer: asyncio.Task[None] | None = None

    # -- offsets ---------------------------------------------------------------

    def _ip_offset(self, text: str) -> int | None:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return None
        if ip not in self.network:
            return None
        offset = int(ip) - int(self.network.network_address) - 1
        return offset if 0 <= offset < self.ips.size else None

    def _port_offset(self, text: str) -> int | None:
        try:
            port = int(text)
        except ValueError:
            return None
        offset = port - self.ranges.node_ports[0]
        return offset if 0 <= offset < self.ports.size else None

    # -- admission -------------------------------------------------------------

    async def admit(self, attrs: Attributes) -> Admitted:
        done = Admitted()
        if attrs.group or attrs.resource != "services" or attrs.subresource:
            return done
        if attrs.operation not in (Operation.CREATE, Operation.UPDATE) or attrs.obj is None:
            return done
        spec = attrs.obj.get("spec")
        if not isinstance(spec, dict):
            return done
        old_spec = _mapping((attrs.old or {}).get("spec"))
        owner = str(_mapping(attrs.obj.get("metadata")).get("uid") or "")
        try:
            await self._cluster_ip(attrs, spec, old_spec, owner, done)
            await self._node_ports(attrs, spec, old_spec, owner, done)
        except BaseException:
            await done.abort()
            raise
        if not attrs.dry_run:
            self._release_dropped(old_spec, spec, owner, done)
        return done

    async def released(self, attrs: Attributes) -> None:
        if attrs.group or attrs.resource != "services" or attrs.old is None:
            return
        spec = _mapping(attrs.old.get("spec"))
        owner = str(_mapping(attrs.old.get("metadata")).get("uid") or "")
        await self._release(_held_ip(spec), _held_ports(spec), owner)

    def _release_dropped(
        self, old_spec: Mapping[str, Any], spec: Mapping[str, Any], owner: str, done: Admitted
    ) -> None:
        old_ip, new_ip = _held_ip(old_spec), _held_ip(spec)
        gone_ip = old_ip if old_ip and old_ip != new_ip else ""
        gone_ports = _held_ports(old_spec) - _held_ports(spec)
        if gone_ip or gone_ports:

            async def release() -> None:
                await self._release(gone_ip, gone_ports, owner)

            done.on_commit.append(release)

    async def _release(self, ip: str, ports: set[int], owner: str) -> None:
        offset = self._ip_offset(ip) if ip else None
        if offset is not None:
            await self.ips.release(offset, owner)
        for port in ports:
            port_offset = self._port_offset(str(port))
            if port_offset is not None:
                await self.ports.release(port_offset, owner)

    def _invalid(self, attrs: Attributes, error: FieldError) -> Invalid:
        return Invalid("Service", attrs.name, [error])

    async def _cluster_ip(
        self,
        attrs: Attributes,
        spec: Obj,
        old_spec: Mapping[str, Any],
        owner: str,
        done: Admitted,
    ) -> None:
        if spec.get("type") == "ExternalName":
            return
        wanted = spec.get("clusterIP")
        if wanted == "None":
            return
        if isinstance(wanted, str) and wanted and wanted == _held_ip(old_spec):
            return
        if isinstance(wanted, str) and wanted:
            await self._take_ip(attrs, spec, wanted, owner, done)
            return
        offset = await self.ips.pick(owner, dry_run=attrs.dry_run)
        if offset is None:
            raise InternalError("failed to allocate a serviceIP: range is full")
        ip = self.ips.label(offset)
        if not attrs.dry_run:
            done.on_abort.append(lambda: self.ips.release(offset, owner))
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
        spec.setdefault("ipFamilies", ["IPv4" if self.network.version == 4 else "IPv6"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")

    async def _take_ip(
        self, attrs: Attributes, spec: Obj, wanted: str, owner: str, done: Admitted
    ) -> None:
        offset = self._ip_offset(wanted)
        ips = spec.get("clusterIPs") or [wanted]
        if offset is None:
            detail = (
                f"failed to allocate IP {wanted}: the provided IP ({wanted}) is not in the "
                f"valid range. The range of valid IPs is {self.network}"
            )
            raise self._invalid(attrs, FieldError.invalid("spec.clusterIPs", ips, detail))
        free = (
            await self.ips.is_free(offset)
            if attrs.dry_run
            else await self.ips.allocate(offset, owner)
        )
        if not free:
            detail = f"failed to allocate IP {wanted}: provided IP is already allocated"
            raise self._invalid(attrs, FieldError.invalid("spec.clusterIPs", ips, detail))
        if not attrs.dry_run:
            done.on_abort.append(lambda: self.ips.release(offset, owner))

    async def _node_ports(
        self,
        attrs: Attributes,
        spec: Obj,
        old_spec: Mapping[str, Any],
        owner: str,
        done: Admitted,
    ) -> None:
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            return
        held = _held_ports(old_spec)
        taken_here: set[int] = set()
        for i, port in enumerate(_ports(spec)):
            value = port.get("nodePort")
            if isinstance(value, int) and not isinstance(value, bool) and value:
                if value in held or value in taken_here:
                    taken_here.add(value)
                    continue
                await self._take_port(attrs, i, value, owner, done)
                taken_here.add(value)
                continue
            if not _wants_node_ports(spec):
                continue
            offset = await self.ports.pick(owner, dry_run=attrs.dry_run)
            if offset is None:
                raise InternalError("failed to allocate a nodePort: range is full")
            if not attrs.dry_run:
                done.on_abort.append(self._port_releaser(offset, owner))
            port["nodePort"] = self.ranges.node_ports[0] + offset
            taken_here.add(port["nodePort"])

    def _port_releaser(self, offset: int, owner: str) -> Any:
        return lambda: self.ports.release(offset, owner)

    async def _take_port(
        self, attrs: Attributes, index: int, value: int, owner: str, done: Admitted
    ) -> None:
        where = f"spec.ports[{index}].nodePort"
        offset = self._port_offset(str(value))
        if offset is None:
            low, high = self.ranges.node_ports
            detail = (
                f"provided port is not in the valid range. The range of valid ports is {low}-{high}"
            )
            raise self._invalid(attrs, FieldError.invalid(where, value, detail))
        free = (
            await self.ports.is_free(offset)
            if attrs.dry_run
            else await self.ports.allocate(offset, owner)
        )
        if not free:
            detail = "provided port is already allocated"
            raise self._invalid(attrs, FieldError.invalid(where, value, detail))
        if not attrs.dry_run:
            done.on_abort.append(self._port_releaser(offset, owner))

    # -- repair ----------------------------------------------------------------

    async def repair(self, grace: float = REPAIR_GRACE) -> int:
        """Reconcile allocations with the stored Services; how many were changed.

        Allocations whose owner is gone (and older than ``grace``) are freed;
        addresses and ports that stored Services hold without an allocation
        (data written before allocation existed) are recorded for them.
        """
        page = await self.backend.list(SERVICES_PREFIX)
        held: dict[str, tuple[str, set[int]]] = {}
        for kv in page.items:
            try:
                doc = orjson.loads(kv.value)
            except orjson.JSONDecodeError:
                continue
            uid = _mapping(_mapping(doc).get("metadata")).get("uid")
            if isinstance(uid, str):
                spec = _mapping(_mapping(doc).get("spec"))
                held[uid] = (_held_ip(spec), _held_ports(spec))
        changed = 0
        now = time.time()
        for allocator in (self.ips, self.ports):
            for allocation in await allocator.allocations():
                if allocation.owner in held or now - allocation.since < grace:
                    continue
                if allocator is self.ips and allocation.offset == 0:
                    continue
                await allocator.release(allocation.offset, allocation.owner)
                changed += 1
        for uid, (ip, ports) in held.items():
            offset = self._ip_offset(ip) if ip else None
            if offset is not None and await self.ips.allocate(offset, uid):
                changed += 1
            for port in ports:
                port_offset = self._port_offset(str(port))
                if port_offset is not None and await self.ports.allocate(port_offset, uid):
                    changed += 1
        return changed

    def start(self, interval: float = REPAIR_INTERVAL) -> None:
        """Run `repair` now and every ``interval`` seconds."""

        async def loop() -> None:
            while True:
                try:
                    changed = await self.repair()
                    if changed:
                        log.info("repaired service allocations", extra={"count": changed})
                except Exception as exc:
                    log.warning("service allocation repair failed", extra={"error": str(exc)})
                await asyncio.sleep(interval)

        self._repairer = asyncio.create_task(loop(), name="service-allocation-repair")

    async def stop(self) -> None:
        if self._repairer is not None:
            self._repairer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._repairer
            self._repairer = None
