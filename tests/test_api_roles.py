"""The role matrix: every endpoint declares the role it needs, and refuses anonymous
callers and every lower role, before it looks at the request body."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import Browser, add_user, make_app, signed_in, token_for
from apiflask import APIFlask
from werkzeug.routing import Rule

from api.accounts import ROLES
from store import open_store

# Reachable without signing in, each for a reason.
PUBLIC = {
    "static",  # CSS/JS
    "openapi.spec",  # the API's own description
    "docs.docs",  # the page showing it
    "health.health",  # load balancers and the container health check
    "login.login",
    "login.login_code",  # the second step of signing in; the cookie names whose code it is
    "login.logout",  # ends a session; needs the session's CSRF token
}
# The emailed acknowledge link carries its own signed credential; the short link of chat
# messages and SMS stands for one.
LINK_ENDPOINTS = {"console_alerts.ack_link", "console_channels.short_link"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> APIFlask:
    tmp: Path = tmp_path_factory.mktemp("roles")
    return make_app(open_store(str(tmp / "roles.db")), tmp)


def _routes(app: APIFlask) -> list[tuple[Rule, str, str | None]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint in LINK_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule, method, getattr(view, "required_role", None)))
    return found


def _path(rule: Rule) -> str:
    values = {
        name: 1 if type(rule._converters[name]).__name__ == "IntegerConverter" else "x1"
        for name in rule.arguments
    }
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


def test_every_endpoint_declares_a_role(app: APIFlask) -> None:
    missing = [f"{m} {r.rule}" for r, m, role in _routes(app) if role is None]
    assert not missing, f"endpoints without @require: {missing}"
    assert len(_routes(app)) >= 80


def test_anonymous_callers_are_refused(app: APIFlask) -> None:
    client = app.test_client()
    for rule, method, _role in _routes(app):
        path = _path(rule)
        response = client.open(path, method=method, json={})
        if path.startswith("/api/"):
            assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        else:
            assert response.status_code == 302, f"{method} {path}: {response.status_code}"
            assert response.headers["Location"].startswith("/login")


def test_lower_roles_are_refused_by_token_and_by_session(app: APIFlask) -> None:
    tokens, browsers = {}, {}
    for role in ROLES[:-1]:
        add_user(app, f"matrix-{role}", role)
        tokens[role] = token_for(app, f"matrix-{role}")
        browsers[role] = Browser(app)
        assert browsers[role].login(f"matrix-{role}").status_code == 302
    client = app.test_client()
    checked = 0
    for rule, method, required in _routes(app):
        assert required is not None
        path = _path(rule)
        for role in ROLES[: ROLES.index(required)]:
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            by_token = client.open(path, method=method, json={}, headers=headers)
            assert by_token.status_code == 403, f"{role} token: {method} {path}"
            by_session = browsers[role].send(method, path, json={})
            assert by_session.status_code == 403, f"{role} session: {method} {path}"
            checked += 1
    assert checked > 0


def test_a_refused_role_sees_a_problem_naming_the_role(app: APIFlask) -> None:
    browser = signed_in(app, "viewer")
    for rule, method, required in _routes(app):
        if required != "viewer" and rule.rule.startswith("/api/"):
            body = browser.send(method, _path(rule), json={}).get_json()
            assert required in body["detail"] and "viewer" in body["detail"]
            return
    pytest.fail("no API endpoint needs more than the viewer role")
