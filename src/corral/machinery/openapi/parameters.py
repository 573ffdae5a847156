"""The parameters of Kubernetes API operations, as kube-apiserver documents them.

Which query parameters each kind of operation takes is part of the contract:
create, update and patch list ``dryRun``, ``fieldManager`` and
``fieldValidation`` (kubectl looks for ``fieldValidation`` on the PATCH
operation of a kind to decide that the server validates fields), list and
watch the selector and paging parameters, delete the propagation options.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """One parameter; ``type`` is the JSON type of its value."""

    name: str
    location: str  # "query" or "path"
    type: str
    description: str
    required: bool = False


def _q(name: str, type_: str, description: str) -> Param:
    return Param(name, "query", type_, description)


PRETTY = _q("pretty", "string", "If 'true', then the output is pretty printed.")
DRY_RUN = _q(
    "dryRun",
    "string",
    "When present, indicates that modifications should not be persisted. Valid values: "
    "All (all dry run stages will be processed).",
)
FIELD_MANAGER = _q(
    "fieldManager",
    "string",
    "fieldManager is a name associated with the actor or entity that is making these changes.",
)
FIELD_VALIDATION = _q(
    "fieldValidation",
    "string",
    "fieldValidation instructs the server on how to handle objects in the request "
    "containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default) "
    "and Strict (fail the request with a BadRequest error).",
)
FORCE = _q("force", "boolean", 'Force is going to "force" Apply requests.')
LIST_PARAMS = (
    _q(
        "allowWatchBookmarks",
        "boolean",
        "allowWatchBookmarks requests watch events of type BOOKMARK.",
    ),
    _q("continue", "string", "The continue option should be set when retrieving more results."),
    _q("fieldSelector", "string", "A selector to restrict the returned objects by their fields."),
    _q("labelSelector", "string", "A selector to restrict the returned objects by their labels."),
    _q("limit", "integer", "The maximum number of responses to return for a list call."),
    _q(
        "resourceVersion",
        "string",
        "resourceVersion sets a constraint on what resource versions a request may be served from.",
    ),
    _q(
        "resourceVersionMatch",
        "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls.",
    ),
    _q(
        "sendInitialEvents",
        "boolean",
        "`sendInitialEvents=true` may be set together with `watch=true`.",
    ),
    _q("timeoutSeconds", "integer", "Timeout for the list/watch call."),
)
WATCH = _q("watch", "boolean", "Watch for changes to the described resources.")
DELETE_PARAMS = (
    DRY_RUN,
    _q(
        "gracePeriodSeconds",
        "integer",
        "The duration in seconds before the object should be deleted.",
    ),
    _q("orphanDependents", "boolean", "Deprecated: please use the PropagationPolicy."),
    _q(
        "propagationPolicy",
        "string",
        "Whether and how garbage collection will be performed: Orphan, Background or Foreground.",
    ),
)
WRITE_PARAMS = (DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION)


def _path_param(name: str, description: str) -> Param:
    return Param(name, "path", "string", description, required=True)


NAME = _path_param("name", "name of the resource")
NAMESPACE = _path_param("namespace", "object name and auth scope, such as for teams and projects")
