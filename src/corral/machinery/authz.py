"""May they do it: the authorization contract between apiserver and auth.

Beside `corral.machinery.authn` (who is asking), this names what an
authorizer is told and what it answers, as Kubernetes'
``authorizer.Attributes`` and ``authorizer.Decision``: the API server
describes a request (`Attributes`: a resource request's verb, group,
version, resource, subresource, namespace and name, or a non-resource
request's path) and an `Authorizer` decides (`Decision`). The
``SelfSubjectAccessReview`` handler asks the same question for a request
the caller describes, so swapping the authorizer (RBAC) changes both.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from corral.machinery.authn import UserInfo


@dataclass(frozen=True, slots=True)
class Attributes:
    """One request to decide on: a resource request, or a non-resource path."""

    verb: str
    resource_request: bool = True
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    #: The URL path of a non-resource request (``/healthz``, ``/apis``).
    path: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """An authorizer's answer, with the reason it gives (may be empty)."""

    allowed: bool
    reason: str = ""


class Authorizer(Protocol):
    """Decides whether ``user`` may make the request ``attributes`` describes."""

    def authorize(self, user: UserInfo, attributes: Attributes) -> Decision:
        """Allow or deny, with a reason."""
        ...


@dataclass(frozen=True, slots=True)
class ResourceRule:
    """A rule on resources, as a SelfSubjectRulesReview lists it."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NonResourceRule:
    """A rule on non-resource URLs, as a SelfSubjectRulesReview lists it."""

    verbs: tuple[str, ...]
    non_resource_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleSet:
    """What a user may do in one namespace; ``incomplete`` when some could not be resolved."""

    resource_rules: tuple[ResourceRule, ...] = ()
    non_resource_rules: tuple[NonResourceRule, ...] = ()
    incomplete: bool = False
    evaluation_error: str = ""


class RulesLister(Protocol):
    """An authorizer that can also list a user's rules (SelfSubjectRulesReview)."""

    def rules_for(self, user: UserInfo, namespace: str) -> RuleSet:
        """Every rule ``user`` holds in ``namespace`` (cluster-wide ones included)."""
        ...


#: The user the request being served acts as (after impersonation), set by the
#: API server's authorization filter so admission plugins (RBAC escalation
#: checks) can ask about it; None outside a request (start-up writes).
REQUEST_USER: ContextVar[UserInfo | None] = ContextVar("corral_request_user", default=None)
