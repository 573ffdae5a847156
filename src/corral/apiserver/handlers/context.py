"""What every verb handler gets: the request, its parsed info, and the server's parts.

`Verb` bundles them so a handler module is one function of one argument.
`ServerParts` is what start-up builds once: the backend, the registry and
the watch caches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.apiserver.asgi import Request
from corral.apiserver.registry import Registry, ResourceType
from corral.apiserver.requestinfo import RequestInfo
from corral.apiserver.watchcache import WatchCache, WatchCaches
from corral.machinery.admission import Admission
from corral.storage import Backend


@dataclass(slots=True)
class ServerParts:
    """The long-lived pieces the handlers work with."""

    backend: Backend
    registry: Registry
    caches: WatchCaches
    #: Set when the server begins shutting down: open watches end.
    watch_timeout_range: tuple[int, int] = (1800, 3600)
    bookmark_interval: float = 60.0
    extra: dict[str, object] = field(default_factory=dict)
    #: Admission plugins run by creates and updates (`corral.apiserver.admission`).
    admission: Admission | None = None


@dataclass(slots=True)
class Verb:
    """One resource request, ready for its verb's handler."""

    request: Request
    info: RequestInfo
    rt: ResourceType
    parts: ServerParts

    @property
    def namespace(self) -> str:
        return self.info.namespace if self.rt.namespaced else ""

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def cache(self) -> WatchCache:
        return self.parts.caches[self.rt.storage_prefix]

    @property
    def backend(self) -> Backend:
        return self.parts.backend
