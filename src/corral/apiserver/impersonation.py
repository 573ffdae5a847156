"""Impersonation: acting as another user, as kube-apiserver's ``WithImpersonation``.

A caller may send ``Impersonate-User``, ``Impersonate-Group`` (repeatable),
``Impersonate-Uid`` and ``Impersonate-Extra-<key>`` (repeatable; the key
percent-decoded and lower-cased). Each value is authorized separately,
as the caller, with verb ``impersonate``:

| header | resource | group |
|---|---|---|
| user ``system:serviceaccount:<ns>:<n>`` | ``serviceaccounts`` name ``<n>`` in ``<ns>`` | ``""`` |
| any other user | ``users`` name = the user | ``""`` |
| group | ``groups`` name = the group | ``""`` |
| uid | ``uids`` name = the uid | ``authentication.k8s.io`` |
| extra | ``userextras/<key>`` name = the value | ``authentication.k8s.io`` |

The first denial answers 403 with Kubernetes' message. The headers are
read from the raw request headers (every occurrence, any case, whatever
``Connection`` names), never from a joined mapping; a user header given
twice uses its first value — the one checked (an empty first value means
no impersonation, as Go's ``Header.Get``). Groups, uid or extra without a
user is 400. The impersonated user gets ``system:authenticated`` (a service
account also its ``system:serviceaccounts`` groups when no group is
given); the headers are removed before the request goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from corral.machinery.authn import AUTHENTICATED_GROUP, UserInfo
from corral.machinery.authz import Attributes

HEADER_PREFIX = "impersonate-"
USER, GROUP, UID, EXTRA = (
    "impersonate-user",
    "impersonate-group",
    "impersonate-uid",
    "impersonate-extra-",
)
AUTHN_GROUP = "authentication.k8s.io"
_SA_PREFIX = "system:serviceaccount:"


@dataclass(slots=True)
class ImpersonationRequest:
    """The impersonation headers of one request."""

    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    uids: list[str] = field(default_factory=list)
    extra: dict[str, list[str]] = field(default_factory=dict)

    @property
    def user(self) -> str:
        """The user asked for: the first ``Impersonate-User`` value ("" = none)."""
        return self.users[0] if self.users else ""

    @property
    def others(self) -> bool:
        """Whether groups, a uid or extra are asked for."""
        return bool(self.groups or self.uids or self.extra)

    @property
    def empty(self) -> bool:
        return not (self.users or self.others)


def read_headers(raw: list[tuple[bytes, bytes]]) -> ImpersonationRequest:
    """Every impersonation header in the raw ASGI headers."""
    out = ImpersonationRequest()
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin-1").lower()
        if not name.startswith(HEADER_PREFIX):
            continue
        value = raw_value.decode("latin-1").strip()
        if name == USER:
            out.users.append(value)
        elif name == GROUP:
            out.groups.append(value)
        elif name == UID:
            out.uids.append(value)
        elif name.startswith(EXTRA):
            key = unquote(name[len(EXTRA) :]).lower()
            out.extra.setdefault(key, []).append(value)
    return out


def checks(wanted: ImpersonationRequest) -> list[Attributes]:
    """The ``impersonate`` requests the caller must be allowed, in order."""
    user = wanted.users[0]
    out = []
    if user.startswith(_SA_PREFIX) and user.count(":") == 3:
        _, _, namespace, name = user.split(":")
        out.append(
            Attributes(
                verb="impersonate", resource="serviceaccounts", namespace=namespace, name=name
            )
        )
    else:
        out.append(Attributes(verb="impersonate", resource="users", name=user))
    out += [Attributes(verb="impersonate", resource="groups", name=g) for g in wanted.groups]
    if wanted.uids:
        out.append(
            Attributes(verb="impersonate", group=AUTHN_GROUP, resource="uids", name=wanted.uids[0])
        )
    for key, values in wanted.extra.items():
        out += [
            Attributes(
                verb="impersonate",
                group=AUTHN_GROUP,
                resource="userextras",
                subresource=key,
                name=v,
            )
            for v in values
        ]
    return out


def impersonated_user(wanted: ImpersonationRequest) -> UserInfo:
    """The user the request acts as."""
    name = wanted.users[0]
    groups = list(dict.fromkeys(wanted.groups))
    if name.startswith(_SA_PREFIX) and name.count(":") == 3 and not groups:
        namespace = name.split(":")[2]
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    if name == "system:anonymous":
        if "system:unauthenticated" not in groups:
            groups.append("system:unauthenticated")
    elif AUTHENTICATED_GROUP not in groups:
        groups.append(AUTHENTICATED_GROUP)
    return UserInfo(
        name,
        uid=wanted.uids[0] if wanted.uids else "",
        groups=tuple(groups),
        extra={k: tuple(v) for k, v in wanted.extra.items()},
    )
