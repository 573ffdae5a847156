"""The DeleteOptions of a DELETE request: from its body, or from its query.

As Kubernetes' delete handler: a body (a DeleteOptions, JSON or YAML) is
the options, and the query parameters ``gracePeriodSeconds``,
``orphanDependents``, ``propagationPolicy`` are read only when there is no
body (kubectl sends a body; other clients send parameters). A parameter
that does not parse is 400. ``dryRun=All`` counts from either place, so a
dry run never becomes a real delete. The options are checked here, before
anything is written (`corral.apiserver.store.deleteoptions`).
"""

from __future__ import annotations

from typing import Any

from corral.apiserver.asgi import Request
from corral.apiserver.handlers.io import dry_run, query_int, query_one, read_options
from corral.apiserver.store.deleteoptions import parse_delete_options
from corral.machinery.status import BadRequest

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def _query_bool(request: Request, key: str) -> bool | None:
    """Go's ``strconv.ParseBool`` of a query parameter; None when absent."""
    text = query_one(request, key)
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadRequest(f'invalid value for {key}: strconv.ParseBool: parsing "{text}"')


def options_from_query(request: Request) -> dict[str, Any]:
    """DeleteOptions JSON built from the query parameters."""
    options: dict[str, Any] = {}
    if query_one(request, "gracePeriodSeconds"):
        options["gracePeriodSeconds"] = query_int(request, "gracePeriodSeconds")
    orphan = _query_bool(request, "orphanDependents")
    if orphan is not None:
        options["orphanDependents"] = orphan
    policy = query_one(request, "propagationPolicy")
    if policy:
        options["propagationPolicy"] = policy
    return options


async def delete_options(request: Request) -> tuple[dict[str, Any], bool]:
    """The request's DeleteOptions JSON, checked (400/422) before anything is
    written, and whether it is a dry run."""
    options = await read_options(request) or options_from_query(request)
    dry = dry_run(request)
    return options, parse_delete_options(options).dry_run or dry
