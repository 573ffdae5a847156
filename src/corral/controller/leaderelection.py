"""`LeaderElector`: one active replica per controller group, elected on a Lease.

Several Corral replicas run the same controllers; two of them reconciling
one object at once would fight. As in client-go's leaderelection, the
replicas contend for a coordination.k8s.io/v1 ``Lease``: the holder writes
its identity and renews ``renewTime`` every ``retry_period``; the others
take the lease only when it has not changed for ``lease_duration`` (timed by
their own clock from when they *observed* the change, so clocks need not
agree). Every write is a compare-and-swap on the resourceVersion: a 409
`Conflict` means another replica wrote first and won.

The leader gives up (and cancels its work) when it could not renew for
``renew_deadline``, or at once when it sees the lease name another holder.
On a clean stop it releases the lease (empty ``holderIdentity``) so a
standby takes over immediately instead of waiting for expiry.

    elector = LeaderElector(client, "kube-system", "corral-controllers", pod_name)
    await elector.run(run_controllers)      # runs run_controllers() only while leading
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from corral.client import Client, ResourceRef
from corral.machinery.status import AlreadyExists, Conflict, NotFound

log = logging.getLogger(__name__)

LEASES = ResourceRef("coordination.k8s.io", "v1", "leases", kind="Lease")

Work = Callable[[], Awaitable[None]]


def micro_time(now: datetime | None = None) -> str:
    """A ``metav1.MicroTime``: RFC 3339 with microseconds, UTC."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Contends for one Lease as `identity`; runs work only while holding it."""

    def __init__(
        self,
        client: Client,
        lease_namespace: str,
        lease_name: str,
        identity: str,
        *,
        lease_duration: float = 15,
        renew_deadline: float = 10,
        retry_period: float = 2,
        on_started_leading: Callable[[], None] | None = None,
        on_stopped_leading: Callable[[], None] | None = None,
        release_on_stop: bool = True,
    ) -> None:
        if not lease_duration > renew_deadline > retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")
        self.client = client
        self.namespace = lease_namespace
        self.name = lease_name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.release_on_stop = release_on_stop
        """Clear the lease when `run` ends (False: successors wait for it to expire)."""
        self.observed_holder = ""
        """The holder named by the lease when this elector last read or wrote it."""
        self._observed: dict[str, Any] | None = None
        self._observed_at = 0.0
        self._leading = False
        self._stop = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        return self._leading

    # -- the loop ----------------------------------------------------------

    async def run(self, work: Work | None = None) -> None:
        """Contend until `stop`: lead (running ``work()``), lose, contend again; release at end.

        An elector runs once: after `stop` (even one called before `run`), `run` returns.
        """
        try:
            while not self._stop.is_set():
                if not await self._acquire():
                    break
                await self._lead(work)
        finally:
            if self.release_on_stop:
                await self._release()

    async def stop(self) -> None:
        """Ask `run` to end: work is cancelled and the lease released."""
        self._stop.set()

    async def _acquire(self) -> bool:
        """Try every retry period until this elector holds the lease (False: stopped)."""
        while not self._stop.is_set():
            if await self.try_acquire_or_renew():
                return True
            await self._pause(self.retry_period)
        return False

    async def _lead(self, work: Work | None) -> None:
        self._leading = True
        log.info("lease %s/%s: %s is the leader", self.namespace, self.name, self.identity)
        _notify(self.on_started_leading)
        task = asyncio.create_task(self._work(work)) if work is not None else None
        try:
            await self._renew_until_lost()
        finally:
            self._leading = False
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            log.info("lease %s/%s: %s stopped leading", self.namespace, self.name, self.identity)
            _notify(self.on_stopped_leading)

    async def _renew_until_lost(self) -> None:
        renewed = time.monotonic()
        while not self._stop.is_set():
            await self._pause(self.retry_period)
            if self._stop.is_set():
                return
            if await self.try_acquire_or_renew():
                renewed = time.monotonic()
            elif self.observed_holder not in ("", self.identity):
                return  # someone else holds it now
            elif time.monotonic() - renewed > self.renew_deadline:
                return

    async def _work(self, work: Work) -> None:
        try:
            await work()
        except Exception:
            log.exception("lease %s/%s: leader work failed", self.namespace, self.name)

    async def _pause(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    # -- one attempt ---------------------------------------------------------

    async def try_acquire_or_renew(self) -> bool:
        """One compare-and-swap attempt to hold the lease; True when this elector holds it."""
        try:
            return await asyncio.wait_for(self._attempt(), self.renew_deadline)
        except (Conflict, AlreadyExists):
            return False
        except Exception:
            log.warning("lease %s/%s: attempt failed", self.namespace, self.name, exc_info=True)
            return False

    async def _attempt(self) -> bool:
        now, stamp = time.monotonic(), micro_time()
        try:
            lease = await self.client.get(LEASES, self.name, namespace=self.namespace)
        except NotFound:
            spec = self._spec(stamp, stamp, 0)
            created = await self.client.create(
                LEASES, {"metadata": {"name": self.name}, "spec": spec}, namespace=self.namespace
            )
            self._observe(created.get("spec") or spec, now)
            return True
        spec = lease.get("spec") or {}
        if spec != self._observed:
            self._observe(spec, now)
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        if holder and holder != self.identity and now < self._observed_at + duration:
            return False
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder == self.identity:
            new = self._spec(spec.get("acquireTime") or stamp, stamp, transitions)
        else:
            new = self._spec(stamp, stamp, transitions + 1)
        lease["spec"] = new
        updated = await self.client.update(LEASES, lease, namespace=self.namespace)
        self._observe(updated.get("spec") or new, time.monotonic())
        return True

    def _spec(self, acquired: str, renewed: str, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self.lease_duration)),
            "acquireTime": acquired,
            "renewTime": renewed,
            "leaseTransitions": transitions,
        }

    def _observe(self, spec: dict[str, Any], when: float) -> None:
        self._observed = spec
        self._observed_at = when
        self.observed_holder = spec.get("holderIdentity") or ""

    async def _release(self) -> None:
        """Clear holderIdentity if this elector still holds the lease (best effort)."""
        try:
            lease = await self.client.get(LEASES, self.name, namespace=self.namespace)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            stamp = micro_time()
            lease["spec"] = {
                **spec,
                "holderIdentity": "",
                "leaseDurationSeconds": 1,
                "acquireTime": stamp,
                "renewTime": stamp,
            }
            await self.client.update(LEASES, lease, namespace=self.namespace)
            self.observed_holder = ""
        except Exception:
            log.warning("lease %s/%s: release failed", self.namespace, self.name, exc_info=True)


def _notify(callback: Callable[[], None] | None) -> None:
    if callback is None:
        return
    try:
        callback()
    except Exception:
        log.exception("leader election callback failed")
