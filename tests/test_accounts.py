"""Accounts: users, passwords, roles and API tokens, on both stores."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher

from api.accounts import AccountError, Accounts, has_role
from store import Store

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)
PASSWORD = "correct horse 电池"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(store: Store, clock: Clock) -> Accounts:
    return Accounts(store, clock)


def test_create_and_authenticate(accounts: Accounts, store: Store) -> None:
    user = accounts.create("zhang.wei", "operator", PASSWORD, actor="cli:root", display_name="张伟")
    assert user.role == "operator" and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash

    found = accounts.authenticate("zhang.wei", PASSWORD)
    assert found is not None and found.name == "zhang.wei" and found.display_name == "张伟"
    assert accounts.authenticate("zhang.wei", PASSWORD + "x") is None
    assert accounts.authenticate("nobody", PASSWORD) is None
    assert accounts.authenticate("Not A Name!", PASSWORD) is None

    [entry] = store.audit.list(target="user:zhang.wei")
    assert (entry.actor, entry.action, entry.time, entry.before) == (
        "cli:root",
        "user.create",
        T0,
        None,
    )
    assert entry.after["name"] == "zhang.wei" and entry.after["role"] == "operator"
    assert "password_hash" not in entry.after and "$argon2" not in json.dumps(entry.after)


@pytest.mark.parametrize(
    ("name", "role", "password", "field"),
    [
        ("Zhang", "viewer", PASSWORD, "name"),
        ("z", "viewer", PASSWORD, "name"),
        ("_zhang", "viewer", PASSWORD, "name"),
        ("a" * 33, "viewer", PASSWORD, "name"),
        ("张伟", "viewer", PASSWORD, "name"),
        ("zhang", "root", PASSWORD, "role"),
        ("zhang", "viewer", "short", "password"),
        ("zhang.wei.1", "viewer", "zhang.wei.1", "password"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    accounts: Accounts, store: Store, name: str, role: str, password: str, field: str
) -> None:
    with pytest.raises(AccountError) as e:
        accounts.create(name, role, password, actor="cli:root")
    assert e.value.field == field and e.value.message
    assert store.users.count() == 0 and store.audit.list() == []


def test_names_are_unique(accounts: Accounts, store: Store) -> None:
    accounts.create("li.na", "viewer", PASSWORD, actor="cli:root")
    with pytest.raises(AccountError) as e:
        accounts.create("li.na", "admin", "another password", actor="cli:root")
    assert e.value.field == "name"
    assert accounts.authenticate("li.na", PASSWORD) is not None
    user = store.users.get("li.na")
    assert user is not None and user.role == "viewer"


def test_roles_are_ordered(accounts: Accounts) -> None:
    viewer = accounts.create("v1", "viewer", PASSWORD, actor="cli:root")
    admin = accounts.create("a1", "admin", PASSWORD, actor="cli:root")
    assert has_role(viewer, "viewer") and not has_role(viewer, "operator")
    assert all(has_role(admin, r) for r in ("viewer", "operator", "admin"))
    operator = accounts.set_role("v1", "operator", actor="a1")
    assert has_role(operator, "operator") and not has_role(operator, "admin")
    operator.disabled = True
    assert not has_role(operator, "viewer")


def test_role_change_audited_and_last_admin_kept(
    accounts: Accounts, store: Store, clock: Clock
) -> None:
    accounts.create("boss", "admin", PASSWORD, actor="cli:root")
    accounts.create("wang", "viewer", PASSWORD, actor="cli:root")
    clock.now = T0 + timedelta(hours=1)
    accounts.set_role("wang", "admin", actor="boss")
    entry = store.audit.list(target="user:wang")[0]
    assert (entry.action, entry.actor, entry.time) == ("user.role", "boss", clock.now)
    assert entry.before["role"] == "viewer" and entry.after["role"] == "admin"
    got = store.users.get("wang")
    assert got is not None and got.updated == clock.now and got.created == T0

    accounts.set_role("boss", "operator", actor="wang")
    with pytest.raises(AccountError) as e:
        accounts.set_role("wang", "viewer", actor="wang")
    assert e.value.field == "role"
    with pytest.raises(AccountError) as e:
        accounts.set_disabled("wang", True, actor="wang")
    assert e.value.field == "disabled"
    with pytest.raises(AccountError) as e:
        accounts.set_role("nobody", "viewer", actor="wang")
    assert e.value.field == "name"
    with pytest.raises(AccountError) as e:
        accounts.set_role("boss", "god", actor="wang")
    assert e.value.field == "role"


def test_disabled_users_cannot_log_in_and_lose_their_tokens(
    accounts: Accounts, store: Store
) -> None:
    accounts.create("boss", "admin", PASSWORD, actor="cli:root")
    accounts.create("wang", "operator", PASSWORD, actor="boss")
    token, secret = accounts.issue_token("wang", "日报", actor="wang")
    accounts.set_disabled("wang", True, actor="boss")
    assert accounts.authenticate("wang", PASSWORD) is None
    assert accounts.by_token(secret) is None
    revoked = store.tokens.get(token.id)
    assert revoked is not None and revoked.revoked is not None
    actions = [e.action for e in store.audit.list(actor="boss")]
    assert actions == ["token.revoke", "user.disable", "user.create"]
    with pytest.raises(AccountError) as e:
        accounts.issue_token("wang", "again", actor="boss")
    assert e.value.field == "user"

    # Enabling lets the user log in again; revoked tokens stay revoked.
    accounts.set_disabled("wang", False, actor="boss")
    assert accounts.authenticate("wang", PASSWORD) is not None
    assert accounts.by_token(secret) is None


def test_set_password(accounts: Accounts, store: Store) -> None:
    accounts.create("wang", "viewer", PASSWORD, actor="cli:root")
    with pytest.raises(AccountError) as e:
        accounts.set_password("wang", "short", actor="wang")
    assert e.value.field == "password"
    accounts.set_password("wang", "a new pass phrase", actor="wang")
    assert accounts.authenticate("wang", PASSWORD) is None
    assert accounts.authenticate("wang", "a new pass phrase") is not None
    entry = store.audit.list(target="user:wang")[0]
    assert entry.action == "user.password"
    assert "$argon2" not in json.dumps([entry.before, entry.after])


def test_outdated_hashes_are_replaced_on_login(accounts: Accounts, store: Store) -> None:
    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=8192)
    old = accounts.create("wang", "viewer", PASSWORD, actor="cli:root").password_hash
    accounts.hasher = PasswordHasher()
    assert accounts.authenticate("wang", "wrong password") is None
    got = store.users.get("wang")
    assert got is not None and got.password_hash == old
    assert accounts.authenticate("wang", PASSWORD) is not None
    got = store.users.get("wang")
    assert got is not None and got.password_hash != old
    assert not accounts.hasher.check_needs_rehash(got.password_hash)
    assert accounts.authenticate("wang", PASSWORD) is not None


def test_tokens(accounts: Accounts, store: Store, clock: Clock) -> None:
    accounts.create("wang", "operator", PASSWORD, actor="cli:root")
    token, secret = accounts.issue_token("wang", " 日报脚本 ", actor="cli:root")
    assert secret.startswith(f"yq_{token.id}_") and token.label == "日报脚本"
    stored = store.tokens.get(token.id)
    assert stored is not None and secret not in json.dumps(stored.__dict__, default=str)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert store.tokens.by_hash(stored.token_hash) == stored

    user = accounts.by_token(secret)
    assert user is not None and user.name == "wang"
    used = store.tokens.get(token.id)
    assert used is not None and used.last_used == T0

    # Within a minute the recorded use stays; after it, it moves on.
    clock.now = T0 + timedelta(seconds=30)
    assert accounts.by_token(secret) is not None
    used = store.tokens.get(token.id)
    assert used is not None and used.last_used == T0
    clock.now = T0 + timedelta(minutes=2)
    assert accounts.by_token(secret) is not None
    used = store.tokens.get(token.id)
    assert used is not None and used.last_used == clock.now

    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for bad in (tampered, "", "yq_", secret + "x", f"yq_{'0' * 16}_{secret[-43:]}", PASSWORD):
        assert accounts.by_token(bad) is None

    revoked = accounts.revoke_token(token.id, actor="wang")
    assert revoked.revoked == clock.now and accounts.by_token(secret) is None
    assert accounts.revoke_token(token.id, actor="wang").revoked == revoked.revoked
    entries = store.audit.list(target=f"token:{token.id}")
    assert [e.action for e in entries] == ["token.revoke", "token.issue"]
    assert secret not in json.dumps([(e.before, e.after) for e in entries])
    assert "token_hash" not in entries[1].after

    with pytest.raises(AccountError) as e:
        accounts.revoke_token("nope", actor="wang")
    assert e.value.field == "token_id"
    with pytest.raises(AccountError) as e:
        accounts.issue_token("wang", "  ", actor="wang")
    assert e.value.field == "label"
    with pytest.raises(AccountError) as e:
        accounts.issue_token("nobody", "x", actor="wang")
    assert e.value.field == "user"
