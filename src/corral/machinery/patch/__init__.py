"""Patches: how PATCH requests and client-side apply change an object.

Kubernetes accepts three patch formats and Corral implements all of them on
plain-dict objects, each in its own module:

- `json_patch`: RFC 6902 JSON Patch (`application/json-patch+json`), with
  RFC 6901 JSON pointers;
- `merge_patch`: RFC 7386 JSON Merge Patch (`application/merge-patch+json`),
  and the minimal merge patch between two documents;
- `strategic`: strategic merge patch (`application/strategic-merge-patch+json`)
  for built-in kinds, driven by per-field patch metadata: per kind from the
  Kubernetes 1.32 OpenAPI schemas (`schema_meta.patch_meta_for`), else the
  kind-agnostic table (`patch_meta`); and `create_two_way_patch`
  (`strategic_diff`), the diff kubectl-style apply sends.

Every function returns a new object and never modifies its arguments; a patch
that fails leaves nothing half-applied. All errors form one hierarchy
(`errors`), each class carrying the HTTP status and reason for the API:

    PatchError                      base; never raised itself
    ├── InvalidPatchError           400 BadRequest: the patch document is malformed
    │   └── UnknownDirectiveError   400: an unknown `$...` key or `$patch` value
    ├── PatchApplyError             422 Invalid: the patch does not fit this object
    │   └── PatchTestFailedError    422: a JSON patch "test" operation failed
    └── PatchCreateError            422: two objects cannot be expressed as a patch
"""

from .errors import (
    InvalidPatchError,
    PatchApplyError,
    PatchCreateError,
    PatchError,
    PatchTestFailedError,
    UnknownDirectiveError,
)
from .json_patch import apply_json_patch, format_pointer, parse_pointer
from .merge_patch import apply_merge_patch, create_merge_patch
from .patch_meta import BUILTIN_PATCH_META, FieldPatchMeta, PatchMeta, TablePatchMeta
from .schema_meta import SchemaPatchMeta, patch_meta_for
from .strategic import apply_strategic_merge_patch
from .strategic_diff import create_two_way_patch

__all__ = [
    "BUILTIN_PATCH_META",
    "FieldPatchMeta",
    "InvalidPatchError",
    "PatchApplyError",
    "PatchCreateError",
    "PatchError",
    "PatchMeta",
    "PatchTestFailedError",
    "SchemaPatchMeta",
    "TablePatchMeta",
    "UnknownDirectiveError",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
    "create_merge_patch",
    "create_two_way_patch",
    "format_pointer",
    "parse_pointer",
    "patch_meta_for",
]
