"""Reading impersonation headers and what must be authorized for them (no server)."""

from __future__ import annotations

from corral.apiserver.impersonation import checks, impersonated_user, read_headers
from corral.machinery.authz import Attributes


def test_every_occurrence_in_any_case_is_read() -> None:
    wanted = read_headers(
        [
            (b"impersonate-user", b"carol"),
            (b"IMPERSONATE-GROUP", b"a"),
            (b"Impersonate-Group", b"b, c"),
            (b"impersonate-extra-acme.com%2Fproject", b"p1"),
            (b"Impersonate-Extra-Scopes", b"view"),
            (b"Impersonate-Extra-Scopes", b"edit"),
            (b"impersonate-uid", b"42"),
            (b"connection", b"impersonate-user"),
        ]
    )
    assert wanted.users == ["carol"]
    assert wanted.groups == ["a", "b, c"]  # one group per header, never split
    assert wanted.extra == {"acme.com/project": ["p1"], "scopes": ["view", "edit"]}
    assert wanted.uids == ["42"]


def test_each_value_is_checked() -> None:
    wanted = read_headers(
        [
            (b"impersonate-user", b"system:serviceaccount:ns:bot"),
            (b"impersonate-group", b"g"),
            (b"impersonate-extra-scopes", b"view"),
            (b"impersonate-uid", b"42"),
        ]
    )
    assert checks(wanted) == [
        Attributes("impersonate", resource="serviceaccounts", namespace="ns", name="bot"),
        Attributes("impersonate", resource="groups", name="g"),
        Attributes("impersonate", group="authentication.k8s.io", resource="uids", name="42"),
        Attributes(
            "impersonate",
            group="authentication.k8s.io",
            resource="userextras",
            subresource="scopes",
            name="view",
        ),
    ]


def test_impersonated_user_groups() -> None:
    user = impersonated_user(read_headers([(b"impersonate-user", b"system:serviceaccount:ns:bot")]))
    assert user.groups == (
        "system:serviceaccounts",
        "system:serviceaccounts:ns",
        "system:authenticated",
    )
    user = impersonated_user(
        read_headers([(b"impersonate-user", b"carol"), (b"impersonate-group", b"qa")])
    )
    assert user.groups == ("qa", "system:authenticated")
    anonymous = impersonated_user(read_headers([(b"impersonate-user", b"system:anonymous")]))
    assert anonymous.groups == ("system:unauthenticated",)
