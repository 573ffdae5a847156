"""Which objects a LIST or WATCH selects: labelSelector, fieldSelector, name.

Label selectors use the full grammar (`corral.machinery.labels`); field
selectors accept ``metadata.name``, ``metadata.namespace`` (namespaced
kinds) and the kind's own fields (the `ResourceType` table); any other
field is 400 ``field label not supported: <field>``, as Kubernetes says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corral.apiserver.asgi import Request
from corral.apiserver.handlers.io import query_one
from corral.apiserver.registry import ResourceType
from corral.machinery import fields, labels
from corral.machinery.status import BadRequest


@dataclass(frozen=True, slots=True)
class Selection:
    """A parsed label and field selector, and the fields the latter reads."""

    labels: labels.Selector
    fields: fields.Selector
    paths: dict[str, str]
    name: str = ""

    @property
    def everything(self) -> bool:
        return self.labels.empty and self.fields.empty and not self.name

    def matches(self, obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        if self.name and meta.get("name") != self.name:
            return False
        if not self.labels.empty and not self.labels.matches(meta.get("labels") or {}):
            return False
        if not self.fields.empty:
            return self.fields.matches(fields.field_set(obj, self.paths))
        return True


def selection_from(request: Request, rt: ResourceType, name: str = "") -> Selection:
    """The request's selectors; 400 BadRequest if one is malformed or unsupported."""
    paths = rt.selectable_fields()
    try:
        label_sel = labels.parse(query_one(request, "labelSelector"))
        field_sel = fields.parse(query_one(request, "fieldSelector"), paths)
    except labels.SelectorError as exc:
        raise BadRequest(str(exc)) from None
    return Selection(label_sel, field_sel, paths, name)
