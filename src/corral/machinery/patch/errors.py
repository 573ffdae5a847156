"""The one error hierarchy of `corral.machinery.patch`.

Every failure of the patch formats is one of these, so the API server can turn
it into a `metav1.Status` without knowing which format produced it: each class
carries the HTTP `status_code` and `reason` Kubernetes uses for that failure
(a malformed patch is 400 BadRequest; a well-formed patch that cannot be
applied to this object is 422 Invalid, as kube-apiserver answers).

    PatchError                      base; never raised itself
    ├── InvalidPatchError           400: the patch document is malformed
    │   └── UnknownDirectiveError   400: a `$...` key or `$patch` value we do not know
    ├── PatchApplyError             422: well-formed, but does not fit this object
    │   └── PatchTestFailedError    422: a JSON patch "test" operation failed
    └── PatchCreateError            422: two objects cannot be expressed as a patch

Messages never include values read from the object being patched (it may be a
Secret the caller may patch but not read); they name paths, operations and the
values the caller itself sent.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "InvalidPatchError",
    "PatchApplyError",
    "PatchCreateError",
    "PatchError",
    "PatchTestFailedError",
    "UnknownDirectiveError",
]


class PatchError(Exception):
    """Base of every error raised by the patch subpackage.

    `path` is where the problem is, when known: a JSON pointer for JSON
    patches, a dotted field path for merge and strategic patches. `index` is
    the position of the failing operation in a JSON patch.
    """

    status_code: ClassVar[int] = 422
    reason: ClassVar[str] = "Invalid"

    def __init__(self, message: str, *, path: str | None = None, index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.index = index


class InvalidPatchError(PatchError):
    """The patch document itself is malformed (wrong JSON type, missing member, bad pointer)."""

    status_code: ClassVar[int] = 400
    reason: ClassVar[str] = "BadRequest"


class UnknownDirectiveError(InvalidPatchError):
    """A strategic merge patch used a `$` directive or `$patch` value that does not exist."""


class PatchApplyError(PatchError):
    """The patch is well-formed but cannot be applied to this object (missing path, bad index)."""


class PatchTestFailedError(PatchApplyError):
    """A JSON patch `test` operation found a different value (or no value) at its path."""


class PatchCreateError(PatchError):
    """A patch could not be computed between two objects (e.g. a merge key that is not a scalar)."""
