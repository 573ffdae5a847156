"""Nothing secret at rest or in logs (issue 8): a real server, every credential path.

One ``corral server`` (audit level ``Request``, log level debug, its
stdout/stderr in a file, ``CORRAL_BOOTSTRAP_PASSWORD`` set) is driven through every way a password,
a Corral token or a Secret value reaches it: the bootstrap login and
password change, users created over ``/v3`` and ``corral user create``,
first-login and forced password changes, the admin's reset, wrong
passwords, token and cookie logins, API keys used as Bearer, Basic and
cookie, ``corral login --kubeconfig``, logout; Secrets created, replaced,
JSON- and strategic-patched, applied client- and server-side and watched
with kubectl; a TokenRequest token and a legacy service-account-token
Secret; and bad requests that carry secrets (refused passwords, malformed
logins, invalid or conflicting Secrets), whose Statuses must not repeat a
password. Every such value is a unique literal recorded in `Secrets` (server
made ones as they are handed out). After the server has stopped (logs and
WAL flushed), every file of the data directory (read once more while the
server ran, for the WAL), the server log and the audit log (rotated files
too) are searched for each value and, for Secret data, its base64 form.
A hit names the file and the value's name, never the value. The positive
side keeps the search meaningful: the audit log holds the records of those
requests and request bodies of other kinds, and the database holds
encrypted envelopes and plaintext values of other kinds.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kubectlproc import KUBECTL, kubectl_env, kubectl_ok
from polling import poll
from serverproc import CorralServer, controller_args, corral_argv, start_server, stop_server

LOGIN = "/v3-public/localProviders/local?action=login"
CHANGE = "/v3/users?action=changepassword"
ENVELOPE = b"k8s:enc:aesgcm:v1:"
NS = "e2e"
PLAIN = "zq-a-configmap-value-not-a-secret"  # stored and audited in plaintext


@dataclass
class Secrets:
    """Every secret value the test used, by name; values are unique literals."""

    values: dict[str, str] = field(default_factory=dict, repr=False)
    data: set[str] = field(
        default_factory=set, repr=False
    )  # names of values also searched base64-encoded

    def new(self, name: str, *, secret_data: bool = False) -> str:
        value = f"zq{name.replace(' ', '')[:10]}{secrets.token_hex(8)}"
        return self.add(name, value, secret_data=secret_data)

    def add(self, name: str, value: str, *, secret_data: bool = False) -> str:
        assert name not in self.values, name
        self.values[name] = value
        if secret_data:
            self.data.add(name)
        return value

    def forms(self) -> Iterator[tuple[str, bytes]]:
        for name, value in self.values.items():
            yield name, value.encode()
            if name in self.data:
                yield f"{name} (base64)", b64(value).encode()


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


@dataclass
class Run:
    """The server under test, where its logs go, and the secrets given to it."""

    server: CorralServer
    work: Path
    log: Path
    audit: Path
    secrets: Secrets

    def http(self, token: str | None = None, **headers: str) -> httpx.Client:
        client = self.server.client(token)
        client.headers.update(headers)
        return client

    def corral(self, home: Path, *args: str, stdin: str = "") -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
        env["XDG_CONFIG_HOME"] = str(home / "config")
        done = subprocess.run(
            corral_argv(*args), input=stdin, capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def kubectl(self, *args: str, stdin: str = "") -> str:
        return kubectl_ok(self.server, self.work, *args, stdin=stdin)


def login(run: Run, username: str, password: str, **fields: Any) -> httpx.Response:
    with run.http() as http:
        return http.post(LOGIN, json={"username": username, "password": password, **fields})


def login_token(run: Run, name: str, username: str, password: str) -> str:
    answer = login(run, username, password)
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return run.secrets.add(name, token)


def change_password(run: Run, token: str, current: str, new: str) -> None:
    with run.http(token) as http:
        answer = http.post(CHANGE, json={"currentPassword": current, "newPassword": new})
    assert answer.status_code == 200, answer.text


def identity_paths(run: Run) -> None:
    """Passwords and Corral tokens: every way they reach the server.

    Four password checks fail here, all from 127.0.0.1: the login rate limit
    lets five failures per address through before it makes callers wait.
    """
    s = run.secrets
    bootstrap = s.values["bootstrap password"]
    admin_pw = s.new("admin password")
    first = login_token(run, "admin bootstrap session", "admin", bootstrap)
    wrong_current = s.new("wrong current password")
    with run.http(first) as http:
        refused = http.post(
            CHANGE, json={"currentPassword": wrong_current, "newPassword": admin_pw}
        )
        assert refused.status_code == 403, refused.text
    change_password(run, first, bootstrap, admin_pw)
    assert login(run, "admin", s.new("wrong admin password")).status_code == 401
    assert login(run, "nobody", s.new("unknown user password")).status_code == 401
    admin = login_token(run, "admin session", "admin", admin_pw)

    # A user made over /v3 changes the initial password at first login.
    alice_initial, alice_pw = s.new("alice initial password"), s.new("alice password")
    with run.http(admin) as http:
        made = http.post("/v3/users", json={"username": "alice", "password": alice_initial})
        assert made.status_code == 201, made.text
        bound = http.post(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            json={
                "metadata": {"name": "alice-view"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": "view"},
                "subjects": [{"kind": "User", "name": "alice"}],
            },
        )  # fmt: skip
        assert bound.status_code == 201, bound.text
    alice_first = login_token(run, "alice first session", "alice", alice_initial)
    change_password(run, alice_first, alice_initial, alice_pw)

    # A user made with the CLI, reset by the admin, then changing the reset password.
    admin_home, bob_home = run.work / "admin-home", run.work / "bob-home"
    trust = ("--password-stdin", "--ca-file", str(run.server.ca_path))
    run.corral(admin_home, "login", run.server.https_url, "-u", "admin", *trust, stdin=admin_pw)
    store = admin_home / "config" / "corral" / "logins.json"
    s.add(
        "admin CLI session", json.loads(store.read_text())["servers"][run.server.https_url]["token"]
    )
    bob_initial, bob_reset = s.new("bob initial password"), s.new("bob reset password")
    out = run.corral(admin_home, "user", "create", "bob", "--password-stdin", stdin=bob_initial)
    assert "user/bob created" in out
    out = run.corral(admin_home, "user", "set-password", "bob", "--password-stdin", stdin=bob_reset)
    assert "user/bob password set" in out
    assert login(run, "bob", bob_initial).status_code == 401
    bob_first = login_token(run, "bob first session", "bob", bob_reset)
    bob_pw = s.new("bob password")
    change_password(run, bob_first, bob_reset, bob_pw)

    # Cookie login: the session cookie authenticates, writes need the CSRF header.
    answer = login(run, "alice", alice_pw, responseType="cookie")
    assert answer.status_code == 200, answer.text
    assert "token" not in answer.json()
    cookie = s.add("alice cookie session", answer.cookies["CORRAL_SESS"])
    csrf = answer.cookies["CORRAL_CSRF"]
    jar = f"CORRAL_SESS={cookie}; CORRAL_CSRF={csrf}"
    with run.http(Cookie=jar) as http:
        listed = http.get("/v3/tokens")
        assert listed.status_code == 200, listed.text
        assert any(t["current"] for t in listed.json()["data"])
        assert http.post("/v3/tokens", json={"description": "no csrf"}).status_code == 403
        made = http.post(
            "/v3/tokens",
            json={"description": "made with a cookie", "tokenKind": "apikey"},
            headers={"X-API-CSRF": csrf},
        )
        assert made.status_code == 201, made.text
        s.add("alice cookie-made API key", made.json()["token"])

    # An API key, used as Bearer and as Basic (name as user, secret as password).
    alice = login_token(run, "alice session", "alice", alice_pw)
    with run.http(alice) as http:
        made = http.post("/v3/tokens", json={"description": "ci", "ttl": 3_600_000})
        assert made.status_code == 201, made.text
    apikey = s.add("alice API key", made.json()["token"])
    with run.http(apikey) as http:
        assert http.get("/api/v1/namespaces/default/configmaps").status_code == 200
    name, secret = apikey.split(":", 1)
    basic = s.add("alice API key as Basic", b64(f"{name}:{secret}"))
    with run.http(Authorization=f"Basic {basic}") as http:
        assert http.get("/api/v1/namespaces/default/configmaps").status_code == 200

    # corral login --kubeconfig, then kubectl with the kubeconfig token.
    kubeconfig = run.work / "bob.kubeconfig"
    run.corral(
        bob_home, "login", run.server.https_url, "-u", "bob", *trust,
        "--kubeconfig", str(kubeconfig), stdin=bob_pw,
    )  # fmt: skip
    doc: Any = yaml.safe_load(kubeconfig.read_text())
    s.add("bob kubeconfig token", doc["users"][0]["user"]["token"])
    bob_store = bob_home / "config" / "corral" / "logins.json"
    s.add(
        "bob CLI session",
        json.loads(bob_store.read_text())["servers"][run.server.https_url]["token"],
    )
    whoami = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "auth", "whoami", "-o", "json"],
        capture_output=True, text=True, env=kubectl_env(run.work), timeout=60,
    )  # fmt: skip
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == "bob"

    # Logout: over the API, and with the CLI.
    with run.http(alice) as http:
        assert http.post("/v3/tokens?action=logout").status_code == 200
        assert http.get("/v3/tokens").status_code == 401
    run.corral(bob_home, "logout")
    run.corral(admin_home, "logout")


def refused_inputs(run: Run) -> None:
    """Bad requests carrying secrets: refused with a Status that does not repeat a password."""
    s = run.secrets
    admin = login_token(run, "admin session for refusals", "admin", s.values["admin password"])
    short = s.add("too short password", "zs" + secrets.token_hex(4))
    with run.http(admin) as http:
        answer = http.post("/v3/users", json={"username": "carol", "password": short})
        assert answer.status_code == 422, answer.text
        assert answer.json()["details"]["causes"][0]["field"] == "password"
        assert short not in answer.text
        reset = s.new("password for a user that does not exist")
        answer = http.post("/v3/users/nobody?action=setpassword", json={"newPassword": reset})
        assert answer.status_code == 404, answer.text
        assert reset not in answer.text
        bad_value = s.new("Secret value not base64", secret_data=True)
        answer = http.post(
            f"/api/v1/namespaces/{NS}/secrets",
            json={"metadata": {"name": "bad"}, "data": {"k": bad_value + "!"}},
        )
        assert answer.status_code in (400, 422), answer.text
        taken = s.new("Secret value of a name taken", secret_data=True)
        answer = http.post(
            f"/api/v1/namespaces/{NS}/secrets",
            json={"metadata": {"name": "s1"}, "stringData": {"k": taken}},
        )
        assert answer.status_code == 409, answer.text
        bad_key = s.new("Secret value under a bad key", secret_data=True)
        answer = http.post(
            f"/api/v1/namespaces/{NS}/secrets",
            json={"metadata": {"name": "badkey"}, "data": {"no/slash": b64(bad_key)}},
        )
        assert answer.status_code == 422, answer.text
        assert bad_key not in answer.text
    truncated = s.new("password in a truncated login body")
    with run.http() as http:
        body = f'{{"username": "admin", "password": "{truncated}"'
        answer = http.post(LOGIN, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, answer.text
        assert truncated not in answer.text
        listed = s.new("password sent as a list")
        answer = http.post(LOGIN, json={"username": "admin", "password": [listed]})
        assert answer.status_code in (400, 422), answer.text
        assert listed not in answer.text

    # Credentials that do not authenticate: a password as Basic, a wrong token
    # secret, a forged JWT; and secrets in query parameters (redacted in the audit log).
    guessed = s.new("password sent as Basic")
    forged = s.add("forged JWT", ".".join(b64(s.new(f"forged JWT part {i}")) for i in (1, 2, 3)))
    wrong_secret = s.add("wrong Corral token secret", "token-zzzzz:" + secrets.token_hex(24))
    refused = {
        "Basic password": f"Basic {s.add('Basic password credential', b64('admin:' + guessed))}",
        "forged JWT": f"Bearer {forged}",
        "wrong secret": f"Bearer {wrong_secret}",
    }
    for what, header in refused.items():
        with run.http(Authorization=header) as http:
            assert http.get("/api/v1/namespaces").status_code == 401, what
    in_query = s.new("token in a query parameter")
    with run.http(run.server.token) as http:
        answer = http.get("/api/v1/namespaces", params={"token": in_query, "password": in_query})
        assert answer.status_code == 200, answer.text


def secret_paths(run: Run) -> None:
    """Secret values: every way kubectl writes and reads them, and service account tokens."""
    s = run.secrets
    run.kubectl("create", "namespace", NS)
    run.kubectl("create", "configmap", "plain", "-n", NS, f"--from-literal=k={PLAIN}")
    first = s.new("Secret created", secret_data=True)
    run.kubectl("create", "secret", "generic", "s1", "-n", NS, f"--from-literal=k={first}")

    replaced = s.new("Secret replaced", secret_data=True)
    obj = json.loads(run.kubectl("get", "secret", "s1", "-n", NS, "-o", "json"))
    obj["data"]["k"] = b64(replaced)
    run.kubectl("replace", "-f", "-", stdin=json.dumps(obj))

    json_patched = s.new("Secret JSON-patched", secret_data=True)
    patch = [{"op": "replace", "path": "/data/k", "value": b64(json_patched)}]
    run.kubectl("patch", "secret", "s1", "-n", NS, "--type", "json", "-p", json.dumps(patch))
    merged = s.new("Secret strategic-patched", secret_data=True)
    patch_sm = {"data": {"k2": b64(merged)}}
    run.kubectl("patch", "secret", "s1", "-n", NS, "-p", json.dumps(patch_sm))

    for i in (1, 2):  # the second apply is a patch carrying the last-applied annotation
        applied = s.new(f"Secret applied {i}", secret_data=True)
        manifest = {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s2", "namespace": NS}, "stringData": {"k": applied},
        }  # fmt: skip
        run.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    for i in (1, 2):
        ssa = s.new(f"Secret server-side applied {i}", secret_data=True)
        manifest = {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s3", "namespace": NS}, "data": {"k": b64(ssa)},
        }  # fmt: skip
        run.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(manifest))

    got = json.loads(run.kubectl("get", "secrets", "-n", NS, "-o", "json"))["items"]
    values = {o["metadata"]["name"]: o.get("data", {}) for o in got}
    assert values["s1"] == {"k": b64(json_patched), "k2": b64(merged)}
    assert values["s2"] == {"k": b64(s.values["Secret applied 2"])}
    assert values["s3"] == {"k": b64(s.values["Secret server-side applied 2"])}

    # A watch of Secrets carries the values to the watcher.
    with run.http(run.server.token) as http:
        url = f"/api/v1/namespaces/{NS}/secrets?watch=true&fieldSelector=metadata.name%3Ds1"
        with http.stream("GET", url) as stream:
            event = json.loads(next(stream.iter_lines()))
    assert event["object"]["data"]["k"] == b64(json_patched)

    # TokenRequest, and the token used.
    run.kubectl("create", "serviceaccount", "robot", "-n", NS)
    jwt = s.add("TokenRequest token", run.kubectl("create", "token", "robot", "-n", NS).strip())
    with run.http(jwt) as http:
        review = http.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        assert review.status_code == 201, review.text
        assert (
            review.json()["status"]["userInfo"]["username"] == f"system:serviceaccount:{NS}:robot"
        )

    # A legacy token Secret, filled in by the tokens controller.
    legacy = {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "robot-token", "namespace": NS,
                     "annotations": {"kubernetes.io/service-account.name": "robot"}},
    }  # fmt: skip
    run.kubectl("create", "-f", "-", stdin=json.dumps(legacy))

    def filled() -> str:
        data = json.loads(run.kubectl("get", "secret", "robot-token", "-n", NS, "-o", "json"))
        token: str = data.get("data", {}).get("token", "")
        return token

    token = base64.b64decode(poll(filled, "the legacy token Secret is filled in")).decode()
    s.add("legacy service account token", token, secret_data=True)
    with run.http(token) as http:
        assert http.get(f"/api/v1/namespaces/{NS}/secrets").status_code in (200, 403)


def audit_records(run: Run) -> list[dict[str, Any]]:
    files = sorted(run.audit.parent.glob(run.audit.name + "*"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines() if line]


def carries_credentials(record: dict[str, Any]) -> bool:
    """Whether the request's body may hold a credential (so must never be recorded)."""
    ref = record.get("objectRef", {})
    if ref.get("resource") in ("secrets", "tokens", "tokenreviews"):
        return True
    if ref.get("resource") == "serviceaccounts" and ref.get("subresource") == "token":
        return True
    uri: str = record["requestURI"]
    return uri.startswith(("/v3/", "/v3?", "/v3-public/"))


def searched_files(run: Run) -> list[Path]:
    data = [p for p in run.server.data_dir.rglob("*") if p.is_file()]
    return [*data, run.log, *run.audit.parent.glob(run.audit.name + "*")]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    work = tmp_path_factory.mktemp("no-secrets")
    found = Secrets()
    bootstrap = found.new("bootstrap password")
    audit, log = work / "audit" / "audit.log", work / "server.log"
    audit.parent.mkdir()
    args = controller_args(
        "serviceaccount-token",
        *("--audit-log-path", str(audit), "--audit-level", "Request", "--log-level", "debug"),
    )
    server = start_server(work / "data", args, {"CORRAL_BOOTSTRAP_PASSWORD": bootstrap}, log)
    try:
        yield Run(server, work, log, audit, found)
    finally:
        if server.proc.poll() is None:
            stop_server(server)


@pytest.mark.timeout(300)
def test_no_secret_at_rest_or_in_the_logs(run: Run) -> None:
    identity_paths(run)
    secret_paths(run)
    refused_inputs(run)
    # While it runs: the WAL and shared-memory files (a clean stop checkpoints them away).
    running = {f"{p.name} (running)": p.read_bytes() for p in searched_files(run)}
    assert any(name.startswith("state.db-wal") for name in running)
    assert stop_server(run.server) == 0, run.log.read_text()
    stopped = {p.name: p.read_bytes() for p in searched_files(run)}

    hits = [
        f"{file}: {name}"
        for file, raw in {**running, **stopped}.items()
        for name, form in run.secrets.forms()
        if form in raw
    ]
    assert not hits, "secret values at rest or in logs (file: value name):\n" + "\n".join(hits)

    # The search found something to search: the records, the bodies, the ciphertext.
    records = audit_records(run)
    secret_verbs = {
        r["verb"] for r in records if r.get("objectRef", {}).get("resource") == "secrets"
    }
    assert {"create", "update", "patch", "get", "list", "watch"} <= secret_verbs
    logins = [r["responseStatus"]["code"] for r in records if r["requestURI"] == LOGIN]
    assert {200, 201, 401} <= set(logins), "logins, failed ones too, are audited"
    uris = [r["requestURI"] for r in records]
    assert "/api/v1/namespaces?token=[redacted]&password=[redacted]" in uris
    assert sum(r["responseStatus"]["code"] == 401 for r in records) >= 3 + 4  # logins, headers
    assert any(u.startswith(CHANGE) for u in uris)
    assert any("serviceaccounts/robot/token" in u for u in uris)
    assert any(
        r.get("objectRef", {}).get("resource") == "configmaps" and "requestObject" in r
        for r in records
    ), "Request-level bodies are recorded for other kinds"
    unrecorded = [
        r["requestURI"] for r in records if "requestObject" in r and carries_credentials(r)
    ]
    assert unrecorded == []
    assert PLAIN.encode() in run.audit.read_bytes(), "the search reads the audit log's bodies"
    db = b"".join(p.read_bytes() for p in run.server.data_dir.glob("state.db*"))
    assert PLAIN.encode() in db, "the search reads the database's values"
    assert db.count(ENVELOPE) > 0
