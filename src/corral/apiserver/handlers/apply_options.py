"""Who a write is by, for managedFields: ``fieldManager``, ``force``, the User-Agent.

What it decides, as kube-apiserver does:

- The manager of a write is the ``fieldManager`` query parameter, else the
  User-Agent up to its first ``/`` (``kubectl/v1.32.0 (linux/amd64) …`` is
  ``kubectl``).
- ``fieldManager`` is at most 128 characters and printable; server-side
  apply requires it; ``force`` is only for apply. Breaking these rules is
  422 Invalid on ``PatchOptions.meta.k8s.io`` naming the field.
"""

from __future__ import annotations

from corral.apiserver.asgi import Request
from corral.apiserver.handlers.io import query_one
from corral.apiserver.store.managed import UpdatedBy
from corral.machinery.status import FieldError, Invalid

MAX_MANAGER_LENGTH = 128


def _invalid(kind: str, error: FieldError) -> Invalid:
    return Invalid(kind, "", [error], group="meta.k8s.io")


def _checked(name: str, kind: str) -> str:
    if len(name) > MAX_MANAGER_LENGTH:
        raise _invalid(kind, FieldError.too_long("fieldManager", MAX_MANAGER_LENGTH))
    if not name.isprintable():
        raise _invalid(
            kind,
            FieldError.invalid("fieldManager", name, "must only contain printable characters"),
        )
    return name


def manager_of(request: Request, kind: str = "CreateOptions") -> str:
    """The manager a non-apply write is recorded under."""
    given = query_one(request, "fieldManager")
    if given:
        return _checked(given, kind)
    agent = request.headers.get("user-agent", "")
    return agent.split("/", 1)[0][:MAX_MANAGER_LENGTH]


def updated_by(
    request: Request, kind: str = "UpdateOptions", subresource: str | None = None
) -> UpdatedBy:
    return UpdatedBy(manager_of(request, kind), subresource)


def apply_manager(request: Request) -> str:
    """The ``fieldManager`` of a server-side apply (required)."""
    given = query_one(request, "fieldManager")
    if not given:
        raise _invalid(
            "PatchOptions", FieldError.required("fieldManager", "is required for apply patch")
        )
    return _checked(given, "PatchOptions")


def force_of(request: Request, apply: bool) -> bool:
    """``force=true``; 422 when a non-apply patch names ``force`` at all."""
    raw = query_one(request, "force")
    if raw and not apply:
        raise _invalid(
            "PatchOptions",
            FieldError.forbidden("force", "may not be specified for non-apply patch"),
        )
    return raw.lower() == "true"
