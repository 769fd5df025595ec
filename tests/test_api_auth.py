"""Sign-in, sessions, CSRF, API tokens, roles and security headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import PASSWORD, Browser, add_user, make_app, signed_in, token_for
from apiflask import APIFlask

from api.auth import require
from store import Store


@pytest.fixture
def app(store: Store, tmp_path: Path) -> APIFlask:
    app = make_app(store, tmp_path)

    @app.post("/api/_probe")
    @require("operator")
    def probe() -> dict[str, str]:
        return {"ok": "yes"}

    return app


def test_console_pages_need_a_login(app: APIFlask) -> None:
    @app.get("/_page")
    @require("viewer")
    def page() -> str:
        return "inside"

    response = app.test_client().get("/_page?x=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_api_without_credentials_is_401_problem(app: APIFlask) -> None:
    response = app.test_client().post("/api/_probe")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_wrong_password_is_refused_and_throttled(app: APIFlask) -> None:
    add_user(app, "op", "operator")
    browser = Browser(app)
    statuses = [browser.login("op", "wrong password!").status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    # The right password waits too once the account is throttled.
    assert browser.login("op", PASSWORD).status_code == 429


def test_login_without_csrf_token_is_refused(app: APIFlask) -> None:
    add_user(app, "op", "operator")
    response = app.test_client().post("/login", data={"username": "op", "password": PASSWORD})
    assert response.status_code == 403


def test_session_mutation_needs_the_csrf_token(app: APIFlask) -> None:
    browser = signed_in(app, "operator")
    assert browser.post("/api/_probe").status_code == 200
    response = browser.client.post("/api/_probe")  # no token
    assert response.status_code == 403
    assert "reload" in response.get_json()["detail"]
    response = browser.client.post("/api/_probe", headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 403


def test_roles_are_ordered(app: APIFlask) -> None:
    assert signed_in(app, "viewer").post("/api/_probe").status_code == 403
    assert signed_in(app, "admin").post("/api/_probe").status_code == 200


def test_api_token_works_without_csrf_and_revocation_ends_it(app: APIFlask) -> None:
    add_user(app, "script", "operator")
    token = token_for(app, "script")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/_probe", headers=headers).status_code == 200
    bad = {"Authorization": f"Bearer {token}x"}
    assert client.post("/api/_probe", headers=bad).status_code == 401
    from api.context import parts

    with app.app_context():
        token_id = parts().store.tokens.by_hash(_digest(token))
        assert token_id is not None
        parts().accounts.revoke_token(token_id.id, actor="test")
    assert client.post("/api/_probe", headers=headers).status_code == 401


def test_a_checked_token_loses_its_role_and_its_user_at_once(app: APIFlask) -> None:
    """Tokens checked recently are not read again, but a role change or disabling in this
    process ends what they grant with the next request."""
    from api.context import parts

    add_user(app, "script", "operator")
    add_user(app, "boss", "admin")
    headers = {"Authorization": f"Bearer {token_for(app, 'script')}"}
    client = app.test_client()
    assert client.post("/api/_probe", headers=headers).status_code == 200
    with app.app_context():
        parts().accounts.set_role("script", "viewer", actor="boss")
    assert client.post("/api/_probe", headers=headers).status_code == 403
    with app.app_context():
        parts().accounts.set_role("script", "operator", actor="boss")
    assert client.post("/api/_probe", headers=headers).status_code == 200
    with app.app_context():
        parts().accounts.set_disabled("script", True, actor="boss")
    assert client.post("/api/_probe", headers=headers).status_code == 401


def test_a_token_revoked_by_another_process_ends_within_the_cache_time(
    app: APIFlask, store: Store
) -> None:
    """Revoked elsewhere (the CLI, another API replica: another Accounts over the same
    store), a token this process checked recently works until its check is
    ``token_cache_seconds`` old, and not after."""
    from datetime import UTC, datetime

    from waiting import wait_for

    from api.accounts import TOKEN_CACHE_SECONDS, Accounts
    from api.context import parts

    assert TOKEN_CACHE_SECONDS <= 10
    add_user(app, "script", "operator")
    token = token_for(app, "script")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    with app.app_context():
        parts().accounts.token_cache_seconds = 0.5
    assert client.post("/api/_probe", headers=headers).status_code == 200
    elsewhere = Accounts(store, lambda: datetime.now(UTC))
    found = store.tokens.by_hash(_digest(token))
    assert found is not None
    elsewhere.revoke_token(found.id, actor="cli")
    wait_for(
        "the revoked token to be refused",
        lambda: client.post("/api/_probe", headers=headers).status_code == 401,
        timeout=10,
    )
    # and it stays refused: the refusal is not cached as a pass
    assert client.post("/api/_probe", headers=headers).status_code == 401


def _digest(secret: str) -> str:
    import hashlib

    return hashlib.sha256(secret.encode()).hexdigest()


def test_password_change_ends_other_sessions(app: APIFlask) -> None:
    browser = signed_in(app, "operator")
    from api.context import parts

    with app.app_context():
        parts().accounts.set_password("operator1", "another long secret", actor="test")
    response = browser.post("/api/_probe")
    assert response.status_code in (401, 403)


def test_logout_needs_csrf_and_ends_the_session(app: APIFlask) -> None:
    browser = signed_in(app, "operator")
    assert browser.client.post("/logout").status_code == 403
    assert browser.post("/logout").status_code == 302
    assert browser.post("/api/_probe").status_code == 401


def test_next_only_goes_to_this_site(app: APIFlask) -> None:
    add_user(app, "op", "operator")
    browser = Browser(app)
    browser.refresh_csrf()
    response = browser.client.post(
        "/login",
        data={
            "username": "op",
            "password": PASSWORD,
            "csrf_token": browser.csrf,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["Location"] == "/"


def test_security_headers(app: APIFlask) -> None:
    response = app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Strict-Transport-Security" not in response.headers  # served over plain http


def test_hsts_when_the_console_is_public_over_https(store: Store, tmp_path: Path) -> None:
    app = make_app(store, tmp_path, alerts={"public_url": "https://yq.example.cn"})
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in response.headers.get("Set-Cookie", "")


def test_openapi_document_is_served(app: APIFlask) -> None:
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/health" in spec["paths"]
    assert "token" in spec["components"]["securitySchemes"]
