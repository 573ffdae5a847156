"""The first start's admin, login, the forced password change: against a real server."""

from __future__ import annotations

import stat

import httpx

from serverproc import CorralServer, module_server

server = module_server("identity-bootstrap")

LOGIN = "/v3-public/localProviders/local?action=login"
NEW_PASSWORD = "a-much-better-password-1"


def _login(server: CorralServer, username: str, password: str) -> httpx.Response:
    with server.client() as http:
        return http.post(LOGIN, json={"username": username, "password": password})


def test_first_login_forced_change_and_bootstrap_file_removed(server: CorralServer) -> None:
    path = server.data_dir / "bootstrap-password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    bootstrap = path.read_text().strip()
    assert len(bootstrap) >= 20
    # The password never reaches the log.
    assert bootstrap not in server.stderr()

    answer = _login(server, "admin", bootstrap)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["mustChangePassword"] is True
    token = body["token"]
    assert token.startswith(body["name"] + ":")

    with server.client(token) as http:
        refused = http.get("/api/v1/namespaces")
        assert refused.status_code == 403
        assert "must change your password" in refused.json()["message"]

        too_short = http.post(
            "/v3/users?action=changepassword",
            json={"currentPassword": bootstrap, "newPassword": "short"},
        )
        assert too_short.status_code == 422
        assert too_short.json()["details"]["causes"][0]["field"] == "newPassword"
        assert "short" not in too_short.text

        changed = http.post(
            "/v3/users?action=changepassword",
            json={"currentPassword": bootstrap, "newPassword": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        assert not path.exists()
        # The same token now works for everything else.
        assert http.get("/api/v1/namespaces").status_code == 200

    assert _login(server, "admin", bootstrap).status_code == 401
    again = _login(server, "admin", NEW_PASSWORD)
    assert again.status_code == 201
    assert again.json()["mustChangePassword"] is False


def test_admin_binding_and_user_without_password(server: CorralServer) -> None:
    with server.client(server.token) as http:
        binding = http.get("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/corral-admin")
        assert binding.status_code == 200
        assert binding.json()["roleRef"]["name"] == "cluster-admin"
        assert binding.json()["subjects"][0]["name"] == "admin"
        user = http.get("/apis/management.corral.io/v1/users/admin")
        assert user.status_code == 200
        text = user.text.lower()
        assert 'password"' not in text.replace("mustchangepassword", "")
        assert "argon2" not in text
        secret = http.get("/api/v1/namespaces/corral-local-user-passwords/secrets/admin")
        assert secret.status_code == 200
