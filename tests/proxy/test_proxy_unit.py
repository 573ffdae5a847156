"""The proxy's small decisions, each on its own: paths, headers, identities."""

from __future__ import annotations

import pytest

from corral.machinery.authn import UserInfo
from corral.proxy.errors import ImpersonationMissing
from corral.proxy.headers import incoming, outgoing
from corral.proxy.identity import (
    check_outgoing,
    forwarded_groups,
    impersonation_headers,
    is_corral_user,
)
from corral.proxy.paths import parse_target
from corral.proxy.wsrelay import offered_protocols


def test_targets_keep_the_raw_path_and_query() -> None:
    target = parse_target(b"/k8s/clusters/c-ab12x/api/v1/namespaces/a%2Fb", b"watch=1")
    assert target is not None
    assert (target.cluster, target.path, target.query) == (
        "c-ab12x",
        b"/api/v1/namespaces/a%2Fb",
        b"watch=1",
    )
    assert target.path_and_query == b"/api/v1/namespaces/a%2Fb?watch=1"
    bare = parse_target(b"/k8s/clusters/local", b"")
    assert bare is not None
    assert (bare.cluster, bare.path) == ("local", b"/")
    assert parse_target(b"/k8s/clusters/Not_An_Id/api", b"") is None
    assert parse_target(b"/k8s/clusters/", b"") is None


def test_service_proxy_paths_are_recognised() -> None:
    def service(path: bytes) -> bool:
        target = parse_target(b"/k8s/clusters/c-x" + path, b"")
        assert target is not None
        return target.service_proxy

    assert service(b"/api/v1/namespaces/ns/services/web:80/proxy/")
    assert service(b"/api/v1/namespaces/ns/services/https:web:443/proxy")
    assert not service(b"/api/v1/namespaces/ns/services/web")
    assert not service(b"/api/v1/namespaces/ns/pods/p/proxy/")


def test_outgoing_headers_are_allow_listed() -> None:
    sent = outgoing(
        [
            (b"Accept", b"application/json"),
            (b"Authorization", b"Bearer corral-token"),
            (b"Cookie", b"R_SESS=x"),
            (b"X-API-CSRF", b"c"),
            (b"X-Forwarded-For", b"10.0.0.1"),
            (b"Impersonate-User", b"root"),
            (b"Connection", b"keep-alive, X-Request-Id"),
            (b"X-Request-Id", b"named by Connection: hop-by-hop"),
            (b"Content-Type", b"application/json"),
            (b"Transfer-Encoding", b"chunked"),
        ]
    )
    assert sent == [(b"accept", b"application/json"), (b"content-type", b"application/json")]


def test_incoming_headers_drop_cookies_and_hop_by_hop() -> None:
    upstream = [
        (b"Content-Type", b"text/html"),
        (b"Set-Cookie", b"a=b"),
        (b"Connection", b"close, X-Private"),
        (b"X-Private", b"1"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Content-Security-Policy", b"default-src *"),
        (b"Audit-Id", b"42"),
    ]
    assert incoming(upstream, service_proxy=False) == [
        (b"content-type", b"text/html"),
        (b"content-security-policy", b"default-src *"),
        (b"audit-id", b"42"),
    ]
    assert incoming(upstream, service_proxy=True) == [
        (b"content-type", b"text/html"),
        (b"audit-id", b"42"),
        (b"content-security-policy", b"sandbox"),
    ]


def test_who_goes_downstream() -> None:
    alice = UserInfo("alice", groups=("system:authenticated", "corral:local", "system:masters"))
    assert is_corral_user(alice)
    assert forwarded_groups(alice) == ["system:authenticated", "corral:local"]
    assert impersonation_headers(alice) == [
        (b"impersonate-user", b"alice"),
        (b"impersonate-group", b"system:authenticated"),
        (b"impersonate-group", b"corral:local"),
    ]
    for name in ("system:serviceaccount:default:robot", "system:kube-controller-manager", ""):
        assert not is_corral_user(UserInfo(name))


def test_nothing_leaves_without_exactly_our_impersonation() -> None:
    alice = UserInfo("alice", groups=("system:authenticated",))
    ours = impersonation_headers(alice)
    check_outgoing([(b"accept", b"*/*"), *ours], alice)
    with pytest.raises(ImpersonationMissing):
        check_outgoing([(b"accept", b"*/*")], alice)
    with pytest.raises(ImpersonationMissing):
        check_outgoing([*ours, (b"impersonate-user", b"root")], alice)
    with pytest.raises(ImpersonationMissing):
        check_outgoing([*ours, (b"impersonate-group", b"system:masters")], alice)
    with pytest.raises(ImpersonationMissing):
        check_outgoing([*ours, (b"impersonate-extra-scopes", b"x")], alice)


def test_the_bearer_subprotocol_never_goes_upstream() -> None:
    offered = ["base64url.bearer.authorization.k8s.io.dG9rZW4", "v5.channel.k8s.io"]
    assert offered_protocols(offered) == ["v5.channel.k8s.io"]
