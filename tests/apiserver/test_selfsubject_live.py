"""``kubectl auth whoami`` and ``kubectl auth can-i`` against a real ``corral server``.

kubectl sends the self-subject reviews as protobuf; the answers name the
caller (the admin, or a service account by its token) and, with no
authorizer yet, allow everything.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import yaml

from kubectlproc import kubectl_ok, run_kubectl
from polling import poll
from serverproc import CorralServer, module_server

server = module_server("selfsubject", ("--controllers", "serviceaccount"))
wait_for = partial(poll, deadline=20.0, interval=0.05)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


def test_whoami_names_the_admin(server: CorralServer, home: Path) -> None:
    out = kubectl_ok(server, home, "auth", "whoami")
    assert "admin" in out
    assert "system:masters" in out
    review = yaml.safe_load(kubectl_ok(server, home, "auth", "whoami", "-o", "yaml"))
    assert review["kind"] == "SelfSubjectReview"
    assert review["status"]["userInfo"]["username"] == "admin"
    assert "system:masters" in review["status"]["userInfo"]["groups"]


def test_can_i_says_yes(server: CorralServer, home: Path) -> None:
    done = run_kubectl(server, home, "auth", "can-i", "create", "deployments")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "yes"
    done = run_kubectl(server, home, "auth", "can-i", "get", "/healthz")
    assert (done.returncode, done.stdout.strip()) == (0, "yes")


def test_can_i_list_shows_the_star_rule(server: CorralServer, home: Path) -> None:
    out = kubectl_ok(server, home, "auth", "can-i", "--list")
    rows = [line.split() for line in out.splitlines()]
    assert ["*.*", "[]", "[]", "[*]"] in rows, out
    assert ["[*]", "[]", "[*]"] in rows, out


def test_whoami_with_a_service_account_token(server: CorralServer, home: Path) -> None:
    wait_for(lambda: run_kubectl(server, home, "get", "sa", "default").returncode == 0)
    token = kubectl_ok(server, home, "create", "token", "default").strip()
    out = kubectl_ok(server, home, "--token", token, "auth", "whoami")
    assert "system:serviceaccount:default:default" in out
    assert "system:serviceaccounts:default" in out
    assert "system:authenticated" in out


def test_bad_access_review_is_422_naming_the_field(server: CorralServer) -> None:
    with server.client(server.token) as http:
        path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
        resp = http.post(path, json={"spec": {}})
        assert resp.status_code == 422, resp.text
        assert resp.json()["details"]["causes"][0]["field"] == "spec.resourceAttributes"
        assert http.get(path).status_code == 405


def test_openapi_describes_the_reviews(server: CorralServer) -> None:
    with server.client(server.token) as http:
        doc = http.get("/openapi/v3/apis/authorization.k8s.io/v1").json()
        path = doc["paths"]["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]
        assert "post" in path
        assert "get" not in path
        v2 = http.get("/openapi/v2").json()
        assert "/apis/authentication.k8s.io/v1/selfsubjectreviews" in v2["paths"]


def test_api_resources_lists_them_with_create(server: CorralServer, home: Path) -> None:
    out = kubectl_ok(server, home, "api-resources", "-o", "wide")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    for name in ("selfsubjectreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews"):
        assert rows[name][-1] == "create", out
