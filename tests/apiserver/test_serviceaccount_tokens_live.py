"""Service account tokens against a real ``corral server``, driven by the real kubectl.

``kubectl create token`` (a protobuf TokenRequest to ``serviceaccounts/
token``) prints a JWT; that token works as a bearer token for as long as it
is valid and its service account (and bound pod) exists; expired, garbled,
foreign and wrong-audience tokens get 401; bad requests get Kubernetes'
Status answers. Every wait polls with a deadline.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from corral.auth import ServiceAccountTokens
from corral.machinery.satoken import TokenSpec
from corral.pki import certs
from corral.pki.signingkey import ensure_service_account_key
from kubectlproc import kubectl_ok, run_kubectl
from polling import poll
from serverproc import CorralServer, running_server

DEADLINE = 20.0
ISSUER = "https://kubernetes.default.svc.cluster.local"
ISSUED: list[str] = []  # every token seen, to check none reached the log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorralServer]:
    args = ("--controllers", "serviceaccount")
    with running_server(tmp_path_factory.mktemp("satokens") / "data", args) as s:
        yield s


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, server: CorralServer) -> Path:
    home = tmp_path_factory.mktemp("home")
    wait_for(lambda: run_kubectl(server, home, "get", "sa", "default").returncode == 0)
    # RBAC: service accounts may do nothing until bound; these tests use them as editors.
    group = "system:serviceaccounts"
    kubectl_ok(
        server,
        home,
        "create",
        "clusterrolebinding",
        "sa-edit",
        "--clusterrole=edit",
        f"--group={group}",
    )
    can_i = ("auth", "can-i", "create", "configmaps", "--as=x", f"--as-group={group}")
    wait_for(lambda: run_kubectl(server, home, *can_i).returncode == 0)
    return home


wait_for = partial(poll, deadline=DEADLINE, interval=0.05)


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return decoded


def create_token(server: CorralServer, home: Path, *args: str) -> str:
    token = kubectl_ok(server, home, "create", "token", *args).strip()
    ISSUED.append(token)
    return token


def status_of(
    server: CorralServer, token: str, path: str = "/api/v1/namespaces/default/configmaps"
) -> int:
    with server.client(token) as client:
        return client.get(path).status_code


def post_token_request(
    server: CorralServer, body: object, name: str = "default", namespace: str = "default"
) -> httpx.Response:
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
    with server.client(server.token) as client:
        return client.post(path, json=body)


def uid_of(server: CorralServer, home: Path, *what: str) -> str:
    return kubectl_ok(server, home, "get", *what, "-o", "jsonpath={.metadata.uid}").strip()


def test_discovery_lists_the_token_subresource(server: CorralServer, home: Path) -> None:
    doc = json.loads(kubectl_ok(server, home, "get", "--raw", "/api/v1"))
    (entry,) = [r for r in doc["resources"] if r["name"] == "serviceaccounts/token"]
    assert entry["verbs"] == ["create"]
    assert (entry["group"], entry["version"], entry["kind"]) == (
        "authentication.k8s.io",
        "v1",
        "TokenRequest",
    )


def test_kubectl_create_token_prints_a_working_token(server: CorralServer, home: Path) -> None:
    token = create_token(server, home, "default")
    said = claims(token)
    assert said["iss"] == ISSUER
    assert said["aud"] == [ISSUER]
    assert said["sub"] == "system:serviceaccount:default:default"
    assert said["exp"] - said["iat"] == 3600
    assert said["kubernetes.io"]["serviceaccount"] == {
        "name": "default",
        "uid": uid_of(server, home, "sa", "default"),
    }
    out = kubectl_ok(server, home, "--token", token, "get", "configmaps", "-n", "default")
    assert "kube-root-ca.crt" in out
    kubectl_ok(server, home, "--token", token, "create", "configmap", "made-by-sa", "-n", "default")


def test_duration_sets_the_expiry(server: CorralServer, home: Path) -> None:
    token = create_token(server, home, "default", "--duration", "10m")
    said = claims(token)
    assert said["exp"] - said["iat"] == 600
    assert status_of(server, token) == 200

    too_short = run_kubectl(server, home, "create", "token", "default", "--duration", "5m")
    assert too_short.returncode != 0
    assert (
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: '
        "Invalid value: 300: may not specify a duration less than 10 minutes"
    ) in too_short.stderr

    long = run_kubectl(server, home, "create", "token", "default", "--duration", "72h")
    assert long.returncode == 0, long.stderr
    ISSUED.append(long.stdout.strip())
    said = claims(long.stdout.strip())
    assert said["exp"] - said["iat"] == 48 * 3600
    assert "requested expiration of 259200 seconds shortened to 172800 seconds" in long.stderr


def test_token_answer_is_a_token_request(server: CorralServer, home: Path) -> None:
    answer = post_token_request(server, {"spec": {"audiences": ["a", "b"]}})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    ISSUED.append(body["status"]["token"])
    assert (body["apiVersion"], body["kind"]) == ("authentication.k8s.io/v1", "TokenRequest")
    meta = body["metadata"]
    assert (meta["name"], meta["namespace"]) == ("default", "default")
    assert meta["uid"] == uid_of(server, home, "sa", "default")
    assert body["spec"] == {"audiences": ["a", "b"], "expirationSeconds": 3600}
    said = claims(body["status"]["token"])
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(said["exp"]))
    assert body["status"]["expirationTimestamp"] == stamp
    assert said["aud"] == ["a", "b"]


def test_other_audiences_cannot_use_the_api(server: CorralServer, home: Path) -> None:
    token = create_token(server, home, "default", "--audience", "vault")
    assert claims(token)["aud"] == ["vault"]
    assert status_of(server, token) == 401
    both = create_token(server, home, "default", "--audience", "vault", "--audience", ISSUER)
    assert status_of(server, both) == 200


def test_expired_garbled_and_foreign_tokens_get_401(server: CorralServer, home: Path) -> None:
    key = ensure_service_account_key(server.data_dir / "tls")  # the server's own key
    uid = uid_of(server, home, "sa", "default")
    old = ServiceAccountTokens(key, clock=lambda: time.time() - 7200)
    expired = old.issue(TokenSpec("default", "default", uid, expiration_seconds=600)).token
    fresh = ServiceAccountTokens(key).issue(TokenSpec("default", "default", uid)).token
    foreign = ServiceAccountTokens(certs.new_key()).issue(TokenSpec("default", "default", uid))
    good = create_token(server, home, "default")
    ISSUED.extend([expired, fresh, foreign.token])
    assert status_of(server, fresh) == 200
    for bad in (expired, foreign.token, good[:-4] + "AAAA", good + "x", "x.y.z"):
        with server.client(bad) as client:
            answer = client.get("/api/v1/namespaces/default/configmaps")
        assert answer.status_code == 401
        assert answer.json()["reason"] == "Unauthorized"
        assert bad not in answer.text
    failed = run_kubectl(server, home, "--token", expired, "get", "configmaps")
    assert failed.returncode != 0
    assert "Unauthorized" in failed.stderr


def test_deleting_the_account_ends_its_tokens(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "create", "serviceaccount", "doomed", "-n", "default")
    token = create_token(server, home, "doomed")
    assert status_of(server, token) == 200
    kubectl_ok(server, home, "delete", "serviceaccount", "doomed", "-n", "default")
    wait_for(lambda: status_of(server, token) == 401, "the deleted account's token is refused")
    # A new account of the same name does not inherit the old tokens.
    kubectl_ok(server, home, "create", "serviceaccount", "doomed", "-n", "default")
    wait_for(lambda: run_kubectl(server, home, "create", "token", "doomed").returncode == 0)
    assert status_of(server, token) == 401


def test_unknown_account_is_404(server: CorralServer, home: Path) -> None:
    done = run_kubectl(server, home, "create", "token", "nosuch")
    assert done.returncode != 0
    assert 'serviceaccounts "nosuch" not found' in done.stderr
    answer = post_token_request(server, {}, namespace="nowhere")
    assert answer.status_code == 404


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: default
spec:
  serviceAccountName: {account}
  containers:
  - name: app
    image: busybox
"""


def test_pod_bound_token(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "apply", "-f", "-", stdin=POD.format(name="holder", account="default"))
    pod_uid = uid_of(server, home, "pod", "holder")
    args = ("default", "--bound-object-kind", "Pod", "--bound-object-name", "holder")
    token = create_token(server, home, *args)
    assert claims(token)["kubernetes.io"]["pod"] == {"name": "holder", "uid": pod_uid}
    assert status_of(server, token) == 200

    wrong = run_kubectl(server, home, "create", "token", *args, "--bound-object-uid", "nope")
    assert wrong.returncode != 0
    assert "the UID in the bound object reference (nope) does not match" in wrong.stderr

    other = run_kubectl(server, home, "create", "token", "doomed-not", *args[1:])
    assert other.returncode != 0  # the account does not exist
    kubectl_ok(server, home, "create", "serviceaccount", "other", "-n", "default")
    mismatch = run_kubectl(server, home, "create", "token", "other", *args[1:])
    assert mismatch.returncode != 0
    assert (
        'cannot bind token for serviceaccount "other" to pod running with different '
        "serviceaccount name." in mismatch.stderr
    )

    kubectl_ok(server, home, "delete", "pod", "holder", "--wait=false")
    wait_for(lambda: status_of(server, token) == 401, "the deleted pod's token is refused")


def test_secret_bound_token_ends_with_the_secret(server: CorralServer, home: Path) -> None:
    kubectl_ok(server, home, "create", "secret", "generic", "anchor", "-n", "default")
    args = ("default", "--bound-object-kind", "Secret", "--bound-object-name", "anchor")
    token = create_token(server, home, *args)
    assert status_of(server, token) == 200
    kubectl_ok(server, home, "delete", "secret", "anchor", "-n", "default")
    wait_for(lambda: status_of(server, token) == 401, "the deleted secret's token is refused")


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"spec": {"expirationSeconds": 599}},
            422,
            "spec.expirationSeconds: Invalid value: 599: may not specify a duration less "
            "than 10 minutes",
        ),
        (
            {"spec": {"expirationSeconds": (1 << 32) + 1}},
            422,
            "may not specify a duration larger than 2^32 seconds",
        ),
        ({"spec": {"expirationSeconds": "600"}}, 400, "spec.expirationSeconds must be an integer"),
        ({"spec": {"audiences": "api"}}, 400, "spec.audiences must be a list of strings"),
        ({"spec": []}, 400, "spec must be an object"),
        ([1, 2], 400, "must be a JSON or YAML object"),
        ({"kind": "Pod", "apiVersion": "v1"}, 400, "must be a TokenRequest"),
        (
            {"metadata": {"name": "someone-else"}},
            422,
            'metadata.name: Invalid value: "someone-else": must match the service account name '
            "if specified",
        ),
        (
            {"metadata": {"namespace": "kube-system"}},
            422,
            "must match the service account namespace if specified",
        ),
        ({"metadata": {"uid": "not-the-uid"}}, 409, "the UID in the token request (not-the-uid)"),
        (
            {"spec": {"boundObjectRef": {"kind": "ConfigMap", "apiVersion": "v1", "name": "x"}}},
            400,
            "cannot bind token to object of type /v1, Kind=ConfigMap",
        ),
        (
            {"spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "ghost"}}},
            404,
            'pods "ghost" not found',
        ),
    ],
)
def test_bad_requests_get_kubernetes_statuses(
    server: CorralServer, home: Path, body: object, code: int, message: str
) -> None:
    answer = post_token_request(server, body)
    assert answer.status_code == code, answer.text
    status = answer.json()
    assert (status["kind"], status["code"]) == ("Status", code)
    assert message in status["message"]


def test_other_verbs_are_not_served(server: CorralServer) -> None:
    with server.client(server.token) as client:
        answer = client.get("/api/v1/namespaces/default/serviceaccounts/default/token")
    assert answer.status_code == 405


def test_no_token_reaches_the_log(server: CorralServer) -> None:
    assert ISSUED, "the other tests issued tokens"
    log = server.stderr()
    for token in ISSUED:
        assert token.split(".")[2] not in log
