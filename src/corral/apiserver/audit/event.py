"""One audit record: an ``audit.k8s.io/v1`` Event, encoded as one JSON line.

The fields follow Kubernetes' ``Event`` so existing tools read the file:
``level``, ``auditID``, ``stage``, ``requestURI``, ``verb``, ``user``
(username, uid, groups), ``impersonatedUser``, ``sourceIPs``,
``userAgent``, ``objectRef`` (resource, namespace, name, apiGroup,
apiVersion, subresource), ``responseStatus.code``,
``requestReceivedTimestamp``, ``stageTimestamp`` and, at level
``Request``, ``requestObject``. Corral adds ``latency`` (seconds, a number)
so no reader has to subtract timestamps.

When a request is made by impersonation, ``user`` is the caller who
authenticated (``request.impersonator``) and ``impersonatedUser`` the user
the request was served as (``request.user``), as in Kubernetes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from corral.apiserver.requestinfo import RequestInfo
from corral.machinery.authn import UserInfo


def _user(user: UserInfo) -> dict[str, Any]:
    doc: dict[str, Any] = {"username": user.name}
    if user.uid:
        doc["uid"] = user.uid
    if user.groups:
        doc["groups"] = list(user.groups)
    return doc


def _timestamp(seconds: float) -> dt.datetime:
    # orjson writes datetimes itself (RFC 3339, microseconds), faster than isoformat().
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


@dataclass(slots=True)
class AuditRecord:
    """What the audit filter learnt about one request."""

    audit_id: str
    level: str
    stage: str
    verb: str
    request_uri: str
    info: RequestInfo
    source_ips: list[str]
    user_agent: str
    received: float
    user: UserInfo | None = None
    impersonator: UserInfo | None = None
    code: int = 0
    finished: float = 0.0
    latency: float = 0.0
    request_object: Any = None

    def encode(self) -> bytes:
        """The record as one JSON line (newline included)."""
        doc: dict[str, Any] = {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": self.level,
            "auditID": self.audit_id,
            "stage": self.stage,
            "requestURI": self.request_uri,
            "verb": self.verb,
        }
        if self.impersonator is not None:
            doc["user"] = _user(self.impersonator)
            if self.user is not None:
                doc["impersonatedUser"] = _user(self.user)
        elif self.user is not None:
            doc["user"] = _user(self.user)
        else:
            doc["user"] = {}
        doc["sourceIPs"] = self.source_ips
        if self.user_agent:
            doc["userAgent"] = self.user_agent
        info = self.info
        if info.is_resource_request:
            ref: dict[str, str] = {"resource": info.resource}
            if info.namespace:
                ref["namespace"] = info.namespace
            if info.name:
                ref["name"] = info.name
            ref["apiGroup"] = info.group
            ref["apiVersion"] = info.version
            if info.subresource:
                ref["subresource"] = info.subresource
            doc["objectRef"] = ref
        if self.code:
            doc["responseStatus"] = {"metadata": {}, "code": self.code}
        if self.request_object is not None:
            doc["requestObject"] = self.request_object
        doc["requestReceivedTimestamp"] = _timestamp(self.received)
        doc["stageTimestamp"] = _timestamp(self.finished or self.received)
        doc["latency"] = round(self.latency, 6)
        return orjson.dumps(doc) + b"\n"
