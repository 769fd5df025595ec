"""Account protection that cannot be turned against operators: failed sign-ins slow the
guesser down progressively per address and (gently) per account, never locking the duty
officer out; common passwords, simple patterns and passwords like the user name are
refused with a Chinese message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from api_support import PASSWORD, Browser, add_user, make_app
from apiflask import APIFlask

from api.accounts import AccountError, Accounts
from api.auth import LoginThrottle
from api.passwords import common, weakness
from store import Store, open_store
from store.clock import ManualClock

T0 = datetime(2021, 2, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'yuqing.db'}")
    yield s
    s.close()


def test_waits_double_per_address_and_stay_short_per_account() -> None:
    ticks = Ticks()
    throttle = LoginThrottle(clock=ticks)
    for _ in range(5):
        assert throttle.wait("6.6.6.6", "duty") == 0
        throttle.failed("6.6.6.6", "duty")
    waits = []
    for _ in range(12):
        wait = throttle.wait("6.6.6.6", "duty")
        waits.append(wait)
        ticks.now += wait
        throttle.failed("6.6.6.6", "duty")
    # The guessing address waits longer each time, up to 15 minutes ...
    assert waits[:6] == [1, 2, 4, 8, 16, 32] and waits[-1] == 900
    # ... while the account, from another address, waits at most 30 seconds.
    assert throttle.wait("10.0.0.8", "duty") <= 30
    ticks.now += 30
    assert throttle.wait("10.0.0.8", "duty") == 0
    throttle.succeeded("duty")
    assert throttle.wait("10.0.0.8", "duty") == 0
    assert throttle.wait("6.6.6.6", "duty") > 0  # signing in elsewhere frees no guesser
    ticks.now += 3600  # failures are forgotten an hour after the last
    assert throttle.wait("6.6.6.6", "someone") == 0


def _login(app: APIFlask, address: str, name: str, password: str) -> int:
    browser = Browser(app)
    browser.client.environ_base["REMOTE_ADDR"] = address
    return browser.login(name, password).status_code


def test_a_distributed_attack_never_locks_the_duty_officer_out(
    store: Store, tmp_path: Path
) -> None:
    app = make_app(store, tmp_path)
    ticks = Ticks()
    app.extensions["yuqing.throttle"] = LoginThrottle(clock=ticks)
    add_user(app, "duty", "operator")
    # Forty guesses from forty addresses, a second apart.
    for n in range(40):
        status = _login(app, f"203.0.113.{n}", "duty", "wrong password!")
        assert status in (401, 429)
        ticks.now += 1
    page_status = _login(app, "198.51.100.7", "duty", PASSWORD)
    assert page_status == 429  # the account is slowed down ...
    ticks.now += 30
    assert _login(app, "198.51.100.7", "duty", PASSWORD) == 302  # ... for half a minute at most


WEAK = [
    ("aaaaaaaaaa", "常见或有规律"),
    ("1234567890", "常见或有规律"),
    ("password12", "常见或有规律"),
    ("qwertyuiop", "常见或有规律"),
    ("Password123!", "常见或有规律"),
    ("woaini1314!!", "常见或有规律"),
    ("abcabcabcabc", "常见或有规律"),
    ("0987654321", "常见或有规律"),
    ("aabbaabbcc11", "不同的字符"),
    ("zhang.wei2021", "用户名"),
    ("iewgnahz2021", "用户名"),
    ("zhangwei!!!!x", "用户名"),
]


@pytest.mark.parametrize(("password", "says"), WEAK)
def test_weak_passwords_are_refused_in_chinese(password: str, says: str) -> None:
    problem = weakness(password, "zhang.wei", "张伟")
    assert problem is not None and says in problem, (password, problem)


def test_good_passwords_pass_and_the_list_is_bundled() -> None:
    assert len(common()) > 200 and "123456" in common()
    for good in ("correct horse battery", "潼南 防汛 2021 值班", "x7#Tq9!mLw2@", PASSWORD):
        assert weakness(good, "zhang.wei", "张伟") is None, good


def test_accounts_and_the_api_refuse_weak_passwords(store: Store, tmp_path: Path) -> None:
    accounts = Accounts(store, ManualClock(T0))
    with pytest.raises(AccountError) as refused:
        accounts.create("li.na", "viewer", "password12", actor="test")
    assert refused.value.field == "password" and "密码" in refused.value.message
    accounts.create("li.na", "viewer", PASSWORD, actor="test")
    with pytest.raises(AccountError):
        accounts.set_password("li.na", "lina123456", actor="test")
    app = make_app(store, tmp_path)
    add_user(app, "boss", "admin")
    admin = Browser(app)
    assert admin.login("boss").status_code == 302
    answer = admin.post(
        "/api/users", json={"name": "wu", "role": "viewer", "password": "1234567890"}
    )
    assert answer.status_code == 400
    assert answer.get_json()["field"] == "password" and "密码" in answer.get_json()["detail"]
    assert store.users.get("wu") is None
