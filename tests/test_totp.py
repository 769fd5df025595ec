"""The optional second factor for admins (TOTP, RFC 6238): enrolment from the console
(secret shown once, confirmed by the password and a first code), sign-in asking for the
code, recovery codes, an admin resetting another's (audited), the secret never leaving
through the API or the audit log, and the sign-in throttle counting wrong codes. Time is
moved by time-machine; nothing sleeps."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from api_support import PASSWORD, Browser, add_user, signed_in
from apiflask import APIFlask

from api import totp
from api.auth import LoginThrottle
from api.context import parts


def _t0() -> datetime:
    """10 s into a TOTP step a minute ahead: time only moves forward from the sessions
    the fixtures opened (a fixed date would lie behind them once the day has passed)."""
    step = int(time.time() // totp.STEP) + 2
    return datetime.fromtimestamp(step * totp.STEP + 10, UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(_t0(), tick=False) as traveller:
        yield traveller


def form(browser: Browser, url: str, **fields: object) -> tuple[int, str]:
    response = browser.client.post(url, data={"csrf_token": browser.csrf, **fields})
    return response.status_code, response.get_data(as_text=True)


def now_code(secret: str) -> str:
    return totp.code_at(secret, datetime.now(UTC).timestamp())


def enrol(browser: Browser) -> tuple[str, list[str]]:
    """Enrol the browser's admin; the secret and the recovery codes."""
    page = browser.get("/account/totp").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret, page
    status, page = form(
        browser, "/account/totp", secret=secret.group(1), password=PASSWORD,
        code=now_code(secret.group(1)),
    )  # fmt: skip
    assert status == 200, page
    return secret.group(1), re.findall(r"<code data-recovery-code>([a-z2-9-]+)</code>", page)


def test_rfc_6238_vectors() -> None:
    key = b"12345678901234567890"
    for when, code in [(59, "94287082"), (1111111109, "07081804"), (2000000000, "69279037")]:
        assert totp.hotp(key, totp.step_of(when), digits=8) == code
    secret = base64.b32encode(key).decode()
    assert totp.secret_bytes(secret.lower().rstrip("=")) == key
    assert totp.matching_step(secret, totp.code_at(secret, 89), 89 + 30) == 2  # a step late
    assert totp.matching_step(secret, totp.code_at(secret, 89), 89 + 60) is None
    assert totp.matching_step(secret, totp.code_at(secret, 89), 89, after=2) is None
    uri = totp.uri(secret, "admin1")
    assert uri.startswith("otpauth://totp/yuqing:admin1?") and f"secret={secret}" in uri


def test_enrolment_then_sign_in_asks_for_the_code(
    app: APIFlask, admin: Browser, clock: time_machine.Traveller
) -> None:
    page = admin.get("/account/totp").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]{32})<', page)
    assert secret and "otpauth://totp/yuqing:admin1?secret=" in page
    # Nothing is stored before a first code confirms the secret.
    wrong = form(admin, "/account/totp", secret=secret.group(1), password=PASSWORD, code="000000")
    assert wrong[0] == 400 and "验证码不正确" in wrong[1]
    bad_password = form(
        admin, "/account/totp", secret=secret.group(1), password="not the password",
        code=now_code(secret.group(1)),
    )  # fmt: skip
    assert bad_password[0] == 400 and "密码不正确" in bad_password[1]
    assert admin.get("/api/users/admin1").get_json()["totp"] is False

    clock.shift(30)
    secret_text, codes = enrol(admin)
    assert len(codes) == 10 and len(set(codes)) == 10
    # From now on the secret is never shown: not on the page, the API or the audit log.
    page = admin.get("/account/totp").get_data(as_text=True)
    assert secret_text not in page and "剩余恢复码 10 个" in page
    shown = admin.get("/api/users/admin1").get_json()
    assert (shown["totp"], shown["recovery_codes_left"]) == (True, 10)
    everything = json.dumps(
        [admin.get("/api/users").get_json(), admin.get("/api/audit").get_json()]
    )
    assert secret_text not in everything and not any(c in everything for c in codes)
    assert "user.totp.enable" in everything

    # Signing in: the password alone does not start a session.
    browser = Browser(app)
    response = browser.login("admin1")
    assert response.status_code == 200 and 'id="login-code"' in response.get_data(as_text=True)
    assert browser.get("/api/users").status_code == 401
    # The code confirmed at enrolment does not work twice; the next one does.
    assert form(browser, "/login/code", code=now_code(secret_text))[0] == 401
    clock.shift(30)
    code = now_code(secret_text)
    status, _ = form(browser, "/login/code", code=code, next="/admin/users")
    assert status == 302
    assert browser.get("/api/users").status_code == 200
    # Once used, that code signs nobody else in.
    other = Browser(app)
    other.login("admin1")
    assert form(other, "/login/code", code=code)[0] == 401

    # A recovery code works once (audited), then is used up.
    third = Browser(app)
    third.login("admin1")
    assert form(third, "/login/code", code=codes[0].upper())[0] == 302
    fourth = Browser(app)
    fourth.login("admin1")
    assert form(fourth, "/login/code", code=codes[0])[0] == 401
    assert admin.get("/api/users/admin1").get_json()["recovery_codes_left"] == 9
    audit = admin.get("/api/audit?target=user:admin1").get_json()
    assert "user.totp.recovery" in json.dumps(audit)


def test_codes_are_throttled_and_expire(
    app: APIFlask, admin: Browser, clock: time_machine.Traveller
) -> None:
    # The throttle's clock, moved with the wall clock (it counts in monotonic time).
    app.extensions["yuqing.throttle"] = LoginThrottle(clock=lambda: time.time())
    secret, _codes = enrol(admin)
    browser = Browser(app)
    browser.login("admin1")
    statuses = [form(browser, "/login/code", code=f"{n:06d}")[0] for n in range(7)]
    assert statuses[:5] == [401] * 5 and 429 in statuses[5:]
    clock.shift(60)  # past the account's wait; the code step has moved on too
    assert form(browser, "/login/code", code=now_code(secret))[0] == 302

    # A password without its code is good for five minutes only.
    late = Browser(app)
    late.login("admin1")
    clock.shift(301)
    status, page = form(late, "/login/code", code=now_code(secret))
    assert status == 401 and "验证已超时" in page
    assert late.get("/api/users").status_code == 401


def test_an_admin_resets_anothers_second_factor(
    app: APIFlask, admin: Browser, clock: time_machine.Traveller
) -> None:
    add_user(app, "admin2", "admin")
    second = Browser(app)
    assert second.login("admin2").status_code == 302
    enrol(second)
    users = admin.get("/admin/users").get_data(as_text=True)
    assert 'data-user-totp-reset="admin2"' in users
    assert form(admin, "/admin/users/admin2/totp/reset")[0] == 302
    entries = admin.get("/api/audit?target=user:admin2").get_json()
    assert [e for e in json.dumps(entries).split('"action": ') if e.startswith('"user.totp.reset"')]
    # The password alone signs in again; the API says the same and refuses a second reset.
    assert Browser(app).login("admin2").status_code == 302
    again = admin.send("DELETE", "/api/users/admin2/totp")
    assert (again.status_code, again.get_json()["field"]) == (400, "name")
    assert admin.send("DELETE", "/api/users/nobody/totp").status_code == 404
    enrol(second)
    assert admin.send("DELETE", "/api/users/admin2/totp").get_json()["totp"] is False


def test_only_admins_enrol(app: APIFlask) -> None:
    operator = signed_in(app, "operator")
    assert operator.get("/account/totp").status_code == 403
    with app.app_context():
        accounts = parts().accounts
        secret = totp.new_secret()
        with pytest.raises(ValueError, match="for admins only"):
            accounts.enable_totp(
                "operator1", secret, totp.code_at(secret, accounts.wall()), PASSWORD,
                actor="operator1",
            )  # fmt: skip
