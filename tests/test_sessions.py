"""Server-side console sessions and expiring API tokens, on both stores: sign-out, password
and role changes, disabling and an admin's "sign out everywhere" end sessions; idle and
absolute timeouts; a cookie replayed after logout signs nobody in."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from api_support import PASSWORD, Browser, add_user, signed_in
from apiflask import APIFlask
from click.testing import CliRunner

from api.accounts import AccountError, AccountPolicy, Accounts
from api.auth import require
from api.context import parts
from store import Store, open_store
from store.clock import ManualClock
from store.model import ApiToken
from yuqing.cli import main
from yuqing.config import Config
from yuqing.wiring import app_for

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)
POLICY = AccountPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=8), token_days=90)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def accounts(store: Store, clock: ManualClock) -> Accounts:
    accounts = Accounts(store, clock, POLICY)
    accounts.create("wang", "operator", PASSWORD, actor="test")
    accounts.create("boss", "admin", PASSWORD, actor="test")
    return accounts


def test_session_lives_until_idle_or_absolute_timeout(
    accounts: Accounts, store: Store, clock: ManualClock
) -> None:
    user = store.users.get("wang")
    assert user is not None
    secret = accounts.start_session(user, "10.1.2.3")
    # The store keeps a hash: its copy signs nobody in.
    [kept] = store.sessions.list("wang")
    assert kept.id != secret and secret not in json.dumps(kept.__dict__, default=str)
    assert accounts.session_user(kept.id) is None
    found = accounts.session_user(secret)
    assert found is not None and found.name == "wang"

    # Used every 20 minutes it stays (idle is 30) ...
    for _ in range(5):
        clock.advance(timedelta(minutes=20))
        assert accounts.session_user(secret) is not None
    # ... until eight hours after sign-in, however busy.
    clock.set(T0 + timedelta(hours=8))
    assert accounts.session_user(secret) is None

    other = accounts.start_session(user)
    clock.advance(timedelta(minutes=29))
    assert accounts.session_user(other) is not None
    clock.advance(timedelta(minutes=30))
    assert accounts.session_user(other) is None
    for garbage in ("", "x" * 500, "nope"):
        assert accounts.session_user(garbage) is None


@pytest.mark.parametrize("change", ["logout", "password", "role", "disable", "everywhere"])
def test_each_revocation_ends_the_session(accounts: Accounts, store: Store, change: str) -> None:
    user = store.users.get("wang")
    assert user is not None
    secret, second = accounts.start_session(user), accounts.start_session(user)
    if change == "logout":
        accounts.end_session(secret)
        assert accounts.session_user(second) is not None  # the other browser stays
    elif change == "password":
        accounts.set_password("wang", "another long secret 2", actor="boss")
    elif change == "role":
        accounts.set_role("wang", "viewer", actor="boss")
    elif change == "disable":
        accounts.set_disabled("wang", True, actor="boss")
    else:
        assert accounts.sign_out_everywhere("wang", actor="boss") == 2
        [entry] = [e for e in store.audit.list(target="user:wang") if e.action == "user.signout"]
        assert entry.actor == "boss" and entry.after == {"sessions_ended": 2}
    assert accounts.session_user(secret) is None
    if change != "logout":
        assert accounts.session_user(second) is None
        assert accounts.open_sessions("wang") == []
    with pytest.raises(AccountError):
        accounts.sign_out_everywhere("nobody", actor="boss")


def test_tokens_expire(accounts: Accounts, store: Store, clock: ManualClock) -> None:
    token, secret = accounts.issue_token("wang", "日报脚本", actor="wang")
    assert token.expires == T0 + timedelta(days=90)
    short, short_secret = accounts.issue_token("wang", "临时", actor="wang", days=2)
    assert short.expires == T0 + timedelta(days=2)
    for days in (0, -1, 3651):
        with pytest.raises(AccountError) as refused:
            accounts.issue_token("wang", "x", actor="wang", days=days)
        assert refused.value.field == "days"
    # A token from before expiry existed ends token_days after it was made.
    legacy_secret = "yq_00000000000000aa_" + "A" * 43
    store.tokens.put(
        ApiToken(
            id="00000000000000aa",
            user="wang",
            label="旧令牌",
            token_hash=hashlib.sha256(legacy_secret.encode()).hexdigest(),
            created=T0 - timedelta(days=89),
        )
    )
    assert accounts.by_token(legacy_secret) is not None
    clock.advance(timedelta(days=1))
    assert accounts.by_token(legacy_secret) is None
    assert accounts.by_token(secret) is not None and accounts.by_token(short_secret) is not None
    clock.advance(timedelta(days=1))
    assert accounts.by_token(short_secret) is None and accounts.by_token(secret) is not None
    clock.set(T0 + timedelta(days=90))
    assert accounts.by_token(secret) is None


# -- over HTTP --------------------------------------------------------------------------


def _app(store: Store, tmp_path: Path, clock: ManualClock) -> APIFlask:
    config = Config.model_validate(
        {"data_dir": str(tmp_path / "var"), "api": {"session_idle_minutes": 30}}
    )
    app = app_for(config, store, clock=clock)
    app.config["TESTING"] = True

    @app.post("/api/_probe")
    @require("viewer")
    def probe() -> dict[str, str]:
        return {"ok": "yes"}

    return app


def _cookie(browser: Browser) -> str:
    cookie = browser.client.get_cookie("yuqing_session")
    assert cookie is not None
    return cookie.value


def _replay(app: APIFlask, cookie: str) -> tuple[int, int, str]:
    """Status of the API probe and of the dashboard, and where it sends, for a fresh
    client holding only ``cookie``."""
    client = app.test_client()
    client.set_cookie("yuqing_session", cookie)
    api = client.get("/api/tokens").status_code
    page = client.get("/")
    return api, page.status_code, page.headers.get("Location", "")


def test_cookie_replayed_after_logout_is_refused(
    store: Store, tmp_path: Path, clock: ManualClock
) -> None:
    app = _app(store, tmp_path, clock)
    browser = signed_in(app, "operator")
    cookie = _cookie(browser)
    # The cookie holds the session's id and nothing else (no name, no role, no seal).
    data = app.session_interface.get_signing_serializer(app).loads(cookie)  # type: ignore[attr-defined]
    assert set(data) - {"_permanent"} == {"sid"}
    assert _replay(app, cookie)[:2] == (200, 200)
    assert browser.post("/logout").status_code == 302
    api, page, location = _replay(app, cookie)
    assert api == 401 and page == 302 and location.startswith("/login")


def test_idle_console_session_ends(store: Store, tmp_path: Path, clock: ManualClock) -> None:
    app = _app(store, tmp_path, clock)
    browser = signed_in(app, "viewer")
    clock.advance(timedelta(minutes=25))
    assert browser.get("/").status_code == 200
    clock.advance(timedelta(minutes=25))
    assert browser.get("/").status_code == 200  # used 25 minutes ago: not idle
    clock.advance(timedelta(minutes=31))
    assert browser.post("/api/_probe").status_code == 401


def test_admin_signs_a_user_out_everywhere(
    store: Store, tmp_path: Path, clock: ManualClock
) -> None:
    app = _app(store, tmp_path, clock)
    admin = signed_in(app, "admin")
    wang = signed_in(app, "operator")
    phone = Browser(app)
    assert phone.login("operator1").status_code == 302
    sessions = admin.get("/api/users/operator1/sessions").get_json()["sessions"]
    assert len(sessions) == 2 and {s["user"] for s in sessions} == {"operator1"}
    assert wang.get("/api/users/operator1/sessions").status_code == 403

    ended = admin.send("DELETE", "/api/users/operator1/sessions")
    assert ended.status_code == 200 and ended.get_json() == {
        "user": "operator1",
        "sessions_ended": 2,
    }
    for browser in (wang, phone):
        assert browser.post("/api/_probe").status_code == 401
    assert admin.send("DELETE", "/api/users/nobody/sessions").status_code == 404

    # The console's button does the same, and says how many ended.
    assert wang.login("operator1").status_code == 302
    page = admin.post("/admin/users/operator1/signout")
    assert page.status_code == 200 and "已结束 1 个会话" in page.get_data(as_text=True)
    assert wang.post("/api/_probe").status_code == 401
    with app.app_context():
        actions = [e.action for e in parts().store.audit.list(target="user:operator1")]
    assert actions.count("user.signout") == 2


def test_api_tokens_expire_and_show_when(store: Store, tmp_path: Path, clock: ManualClock) -> None:
    app = _app(store, tmp_path, clock)
    wang = signed_in(app, "operator")
    made = wang.post("/api/tokens", json={"label": "脚本", "days": 3})
    assert made.status_code == 201, made.get_data(as_text=True)
    token = made.get_json()
    assert token["expires"] == (T0 + timedelta(days=3)).isoformat() and not token["expired"]
    default = wang.post("/api/tokens", json={"label": "默认"}).get_json()
    assert default["expires"] == (T0 + timedelta(days=90)).isoformat()
    assert wang.post("/api/tokens", json={"label": "x", "days": 0}).status_code == 400
    headers = {"Authorization": f"Bearer {token['secret']}"}
    client = app.test_client()
    assert client.post("/api/_probe", headers=headers).status_code == 200
    clock.advance(timedelta(days=3))
    assert client.post("/api/_probe", headers=headers).status_code == 401
    # Listed as expired in the API and the console (signed in again: the session is old).
    wang = Browser(app)
    wang.login("operator1")
    listed = {t["id"]: t for t in wang.get("/api/tokens").get_json()["tokens"]}
    assert listed[token["id"]]["expired"] and not listed[default["id"]]["expired"]
    assert "已过期" in wang.get("/account/tokens").get_data(as_text=True)
    page = wang.post("/account/tokens", data={"label": "表单", "days": "abc"})
    assert page.status_code == 400 and "有效天数须为 1 到 3650 的整数" in page.get_data(
        as_text=True
    )


def test_cli_signs_a_user_out_everywhere(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'y.db'}"
    store = open_store(url)
    app = _app(store, tmp_path, ManualClock(datetime.now(SH)))
    add_user(app, "wang", "operator")
    browser = Browser(app)
    assert browser.login("wang").status_code == 302
    assert browser.post("/api/_probe").status_code == 200
    env = {"YUQING_STORE": url, "YUQING_CONFIG": ""}
    result = CliRunner().invoke(main, ["users", "signout", "wang"], env=env)
    assert result.exit_code == 0, result.output
    assert "1" in result.output
    assert browser.post("/api/_probe").status_code == 401
    unknown = CliRunner().invoke(main, ["users", "signout", "nobody"], env=env)
    assert unknown.exit_code == 2 and "nobody" in unknown.output
    store.close()
