"""Corral's controller runtime: watch, cache, queue, reconcile (DESIGN §2, layer 3).

Every controller in Corral (the built-in Kubernetes ones in `corral.kube`, the
management ones, the per-cluster ones) is the same loop: an informer lists and
watches a resource, an indexed cache keeps the objects, changed keys go into a
rate-limited work queue, and workers reconcile one key at a time. This
package holds that loop once, usable against Corral's own API or any
Kubernetes API through `corral.client`. It never imports `corral.apiserver`.

Built so far:

- `WorkQueue` (`workqueue`): client-go's queue semantics — a key queued at
  most once, never handed to two workers at once, re-queued after `done` when
  re-added meanwhile; `add_after` and `add_rate_limited` delays
  (`delaying`); `shutdown` and `shutdown_with_drain`; a bound on distinct keys;
  Prometheus metrics by queue name (`metrics`).
- Rate limiters (`ratelimit`): per-key exponential back-off, an overall token
  bucket, their max, and client-go's default controller limiter.
- Clocks (`clock`): the real monotonic clock and a `FakeClock` for tests.
- Conditions (`conditions`): ``status.conditions`` helpers on plain dicts.
- `Indexer` (`indexer`): the cache by ``namespace/name`` key, with a built-in
  namespace index and custom indexes.
- `Informer` (`informer`): list then watch, re-list on `Expired` emitting the
  differences, optional resync, ``on_add``/``on_update``/``on_delete``.
- `Controller` (`controller`): named ``on_change``/``on_remove`` handlers run
  in order per key, `Result(requeue_after=...)`, back-off on errors, the
  finalizer lifecycle (`finalizers`), reconcile metrics (`reconcilemetrics`).
- `SharedInformers` (`sharedinformers`): one informer per resource, shared by
  the controllers that need it.
- `LeaderElector` (`leaderelection`): leader election on a
  coordination.k8s.io/v1 Lease; runs work only while leading.

The design note is docs/controller.md.

Errors, one tree so callers catch by meaning:

    ControllerError
    ├── QueueShutDown     get() on a queue that is shut down and empty
    ├── QueueFullError    a new key offered to a queue at its bound
    └── ConditionError    a malformed condition argument or object (also a ValueError)
"""

from corral.controller.clock import Clock, FakeClock, RealClock, Timer
from corral.controller.conditions import (
    FALSE,
    TRUE,
    UNKNOWN,
    get_condition,
    is_false,
    is_true,
    remove_condition,
    set_condition,
)
from corral.controller.controller import Controller, Result
from corral.controller.errors import (
    ConditionError,
    ControllerError,
    QueueFullError,
    QueueShutDown,
)
from corral.controller.finalizers import add_finalizer, is_deleting, remove_finalizer
from corral.controller.indexer import NAMESPACE_INDEX, Indexer, object_key, split_key
from corral.controller.informer import Informer
from corral.controller.leaderelection import LEASES, LeaderElector
from corral.controller.ratelimit import (
    BucketRateLimiter,
    ItemExponentialRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)
from corral.controller.sharedinformers import SharedInformers
from corral.controller.workqueue import WorkQueue

__all__ = [
    "FALSE",
    "LEASES",
    "NAMESPACE_INDEX",
    "TRUE",
    "UNKNOWN",
    "BucketRateLimiter",
    "Clock",
    "ConditionError",
    "Controller",
    "ControllerError",
    "FakeClock",
    "Indexer",
    "Informer",
    "ItemExponentialRateLimiter",
    "LeaderElector",
    "MaxOfRateLimiter",
    "QueueFullError",
    "QueueShutDown",
    "RateLimiter",
    "RealClock",
    "Result",
    "SharedInformers",
    "Timer",
    "WorkQueue",
    "add_finalizer",
    "default_controller_rate_limiter",
    "get_condition",
    "is_deleting",
    "is_false",
    "is_true",
    "object_key",
    "remove_condition",
    "remove_finalizer",
    "set_condition",
    "split_key",
]
