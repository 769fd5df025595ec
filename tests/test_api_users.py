"""``/api/users`` and ``/api/tokens``: admin only for accounts, tokens for everyone's own,
changes take effect at once, every change audited once."""

from __future__ import annotations

import re

from api_support import PASSWORD, Browser, add_user, signed_in
from apiflask import APIFlask

from store import Store


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_only_admins_manage_users(app: APIFlask, admin: Browser) -> None:
    for role in ("viewer", "operator"):
        browser = signed_in(app, role)
        assert browser.get("/api/users").status_code == 403
        new = {"name": "x1", "role": "admin", "password": PASSWORD}
        assert browser.post("/api/users", json=new).status_code == 403
        assert (
            browser.send("PATCH", f"/api/users/{role}1", json={"role": "admin"}).status_code == 403
        )
    assert app.test_client().get("/api/users").status_code == 401
    listed = admin.get("/api/users").get_json()["users"]
    assert {u["name"] for u in listed} == {"admin1", "viewer1", "operator1"}
    assert all("password_hash" not in u for u in listed)


def test_create_validates_and_audits(app: APIFlask, store: Store, admin: Browser) -> None:
    created = admin.post(
        "/api/users",
        json={"name": "zhang", "role": "operator", "password": PASSWORD, "display_name": "张三"},
    )
    assert created.status_code == 201
    assert created.get_json()["role"] == "operator" and "password_hash" not in created.get_json()
    entries = store.audit.list(target="user:zhang")
    assert [(e.action, e.actor) for e in entries] == [("user.create", "admin1")]
    for body, field in [
        ({"name": "zhang", "role": "viewer", "password": PASSWORD}, "name"),
        ({"name": "Bad Name", "role": "viewer", "password": PASSWORD}, "name"),
        ({"name": "li", "role": "viewer", "password": "short"}, "password"),
        ({"name": "li", "role": "root", "password": PASSWORD}, "role"),
        ({"name": "li", "role": "viewer"}, "password"),
    ]:
        response = admin.post("/api/users", json=body)
        assert response.status_code == 400, body
        assert response.get_json()["field"] == field, (body, response.get_json())
    assert store.users.get("li") is None
    assert admin.send("PATCH", "/api/users/nobody", json={"role": "admin"}).status_code == 404


def test_role_change_takes_effect_at_once(app: APIFlask, store: Store, admin: Browser) -> None:
    add_user(app, "wang", "viewer")
    user = Browser(app)
    user.login("wang")
    token = user.post("/api/tokens", json={"label": "script"}).get_json()["secret"]
    client = app.test_client()
    assert client.get("/api/users", headers=bearer(token)).status_code == 403
    changed = admin.send("PATCH", "/api/users/wang", json={"role": "admin"})
    assert changed.status_code == 200 and changed.get_json()["role"] == "admin"
    assert client.get("/api/users", headers=bearer(token)).status_code == 200
    entry = store.audit.list(target="user:wang")[0]
    assert (entry.action, entry.before["role"], entry.after["role"]) == (
        "user.role",
        "viewer",
        "admin",
    )
    # A role change ends the user's sessions: they sign in again with the new role.
    assert user.get("/api/tokens").status_code == 401


def test_disabled_users_token_is_refused(app: APIFlask, store: Store, admin: Browser) -> None:
    add_user(app, "zhao", "operator")
    user = Browser(app)
    user.login("zhao")
    token = user.post("/api/tokens", json={"label": "cron"}).get_json()["secret"]
    client = app.test_client()
    assert client.get("/api/tokens", headers=bearer(token)).status_code == 200
    assert admin.send("PATCH", "/api/users/zhao", json={"disabled": True}).status_code == 200
    assert client.get("/api/tokens", headers=bearer(token)).status_code == 401
    assert user.get("/api/tokens").status_code == 401
    actions = [e.action for e in store.audit.list(actor="admin1")]
    assert actions.count("user.disable") == 1 and actions.count("token.revoke") == 1
    # Enabling does not bring back the revoked token; a new one works.
    assert admin.send("PATCH", "/api/users/zhao", json={"disabled": False}).status_code == 200
    assert client.get("/api/tokens", headers=bearer(token)).status_code == 401
    # The last admin can be neither demoted nor disabled.
    last = admin.send("PATCH", "/api/users/admin1", json={"disabled": True})
    assert last.status_code == 400 and last.get_json()["field"] == "disabled"


def test_password_reset(app: APIFlask, store: Store, admin: Browser) -> None:
    add_user(app, "sun", "viewer")
    user = Browser(app)
    user.login("sun")
    short = admin.send("PATCH", "/api/users/sun", json={"password": "short"})
    assert short.status_code == 400 and short.get_json()["field"] == "password"
    new = "a brand new passphrase"
    assert admin.send("PATCH", "/api/users/sun", json={"password": new}).status_code == 200
    assert user.get("/api/tokens").status_code == 401  # the old session ended
    assert Browser(app).login("sun", PASSWORD).status_code == 401
    assert Browser(app).login("sun", new).status_code == 302
    entry = store.audit.list(target="user:sun")[0]
    assert entry.action == "user.password" and "password_hash" not in str(entry.after)


def test_tokens_are_own_and_secret_shown_once(app: APIFlask, store: Store, admin: Browser) -> None:
    viewer = signed_in(app, "viewer")
    created = viewer.post("/api/tokens", json={"label": "报表脚本"})
    assert created.status_code == 201
    token = created.get_json()
    secret = token["secret"]
    assert secret.startswith("yq_")
    listed = viewer.get("/api/tokens").get_json()["tokens"]
    assert [t["id"] for t in listed] == [token["id"]]
    assert secret not in viewer.get("/api/tokens").get_data(as_text=True)
    assert all("token_hash" not in t and "secret" not in t for t in listed)
    assert secret not in str([(e.before, e.after) for e in store.audit.list(limit=1000)])
    assert viewer.post("/api/tokens", json={"label": ""}).get_json()["field"] == "label"

    # Others' tokens: invisible and not revocable to a non-admin; admins see and revoke all.
    operator = signed_in(app, "operator")
    assert operator.get("/api/tokens").get_json()["tokens"] == []
    assert operator.get("/api/tokens?all=true").get_json()["tokens"] == []
    assert operator.send("DELETE", f"/api/tokens/{token['id']}").status_code == 404
    assert [t["id"] for t in admin.get("/api/tokens?all=true").get_json()["tokens"]] == [
        token["id"]
    ]
    client = app.test_client()
    assert client.get("/api/tokens", headers=bearer(secret)).status_code == 200
    revoked = admin.send("DELETE", f"/api/tokens/{token['id']}")
    assert revoked.status_code == 200 and revoked.get_json()["revoked"]
    assert client.get("/api/tokens", headers=bearer(secret)).status_code == 401
    entry = store.audit.list(target=f"token:{token['id']}")[0]
    assert (entry.action, entry.actor) == ("token.revoke", "admin1")

    own = viewer.post("/api/tokens", json={"label": "second"}).get_json()
    assert viewer.send("DELETE", f"/api/tokens/{own['id']}").status_code == 200
    assert len(store.audit.list(target=f"token:{own['id']}")) == 2  # issue, revoke: once each


def test_console_admin_pages(app: APIFlask, store: Store, admin: Browser) -> None:
    viewer = signed_in(app, "viewer")
    assert viewer.get("/admin/users").status_code == 403
    created = admin.post(
        "/admin/users",
        data={"name": "zhou", "role": "operator", "password": "short", "csrf_token": admin.csrf},
    )
    assert created.status_code == 400 and 'data-field="password"' in created.get_data(as_text=True)
    data = {"name": "zhou", "role": "operator", "password": PASSWORD, "csrf_token": admin.csrf}
    assert admin.post("/admin/users", data=data).status_code == 302
    assert (
        admin.post(
            "/admin/users/zhou", data={"role": "viewer", "csrf_token": admin.csrf}
        ).status_code
        == 302
    )
    assert store.users.get("zhou").role == "viewer"  # type: ignore[union-attr]
    admin.post("/admin/users/zhou", data={"disabled": "1", "csrf_token": admin.csrf})
    assert store.users.get("zhou").disabled  # type: ignore[union-attr]
    assert 'data-user="zhou"' in admin.get("/admin/users").get_data(as_text=True)

    # The token secret is on the page that created it, and on no later page.
    made = viewer.post("/account/tokens", data={"label": "<b>脚本</b>", "csrf_token": viewer.csrf})
    page = made.get_data(as_text=True)
    secret = re.search(r'id="token-secret">([^<]+)<', page)
    assert made.status_code == 200 and secret
    assert "&lt;b&gt;脚本&lt;/b&gt;" in page and "<b>脚本" not in page
    later = viewer.get("/account/tokens").get_data(as_text=True)
    assert secret.group(1) not in later and "&lt;b&gt;脚本" in later
    token_id = re.search(r'data-token="([0-9a-f]+)"', later)
    assert token_id
    revoked = viewer.post(
        f"/account/tokens/{token_id.group(1)}/revoke", data={"csrf_token": viewer.csrf}
    )
    assert revoked.status_code == 302
    assert store.tokens.get(token_id.group(1)).revoked is not None  # type: ignore[union-attr]
