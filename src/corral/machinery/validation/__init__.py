"""Kubernetes' semantic rules and defaults for built-in kinds, per resource.

The OpenAPI layer checks that an object has the right shape; this package
decides what Kubernetes decides beyond the schema: the defaults it fills in
(what ``kubectl get -o yaml`` shows), name formats, metadata rules, immutable
fields and the per-kind rules users hit, with Kubernetes' exact field paths and
messages. The API server uses one entry point::

    strategy = strategy_for(group, resource)
    strategy.default(obj)                       # in place
    errors = strategy.validate_create(obj)      # or validate_update(new, old)
    if errors:
        raise Invalid(kind, name, errors, group=group)

Modules: ``registry`` (the table), ``meta`` and ``names`` (shared by all
kinds), ``pods``/``workloads`` (pod specs and templates), one module of rules
per API area (``core``, ``services``, ``apps``, ``batch`` with ``cron``,
``rbac``, ``networking``) and ``defaults_*`` for the defaults.
"""

from corral.machinery.validation.registry import KindStrategy, Strategy, strategy_for

__all__ = ["KindStrategy", "Strategy", "strategy_for"]
