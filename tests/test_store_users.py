"""Users and API tokens: the contract, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store import ConflictError, Store
from store.model import ApiToken, User, UserSession

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2021, 2, 5, 10, 30, tzinfo=SH)


def user(name: str = "zhang.wei", **changes: object) -> User:
    values: dict[str, object] = {
        "name": name,
        "role": "operator",
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "created": T0,
        "updated": T0,
        "display_name": "张伟",
    }
    return User(**(values | changes))  # type: ignore[arg-type]


def token(ident: str, owner: str = "zhang.wei", **changes: object) -> ApiToken:
    values: dict[str, object] = {
        "id": ident,
        "user": owner,
        "label": "日报脚本",
        "token_hash": f"hash-{ident}",
        "created": T0,
    }
    return ApiToken(**(values | changes))  # type: ignore[arg-type]


def test_users_created_once_and_read_back(store: Store) -> None:
    assert store.users.count() == 0 and store.users.get("zhang.wei") is None
    created = store.users.put(user())
    assert created.version
    got = store.users.get("zhang.wei")
    assert got == created and got.display_name == "张伟" and got.created.tzinfo is not None
    with pytest.raises(ConflictError):
        store.users.put(user(role="admin"))
    again = store.users.get("zhang.wei")
    assert again is not None and again.role == "operator"
    store.users.put(user("admin", role="admin"))
    assert [u.name for u in store.users.list()] == ["admin", "zhang.wei"]
    assert store.users.count() == 2


def test_user_updates_are_checked_against_their_version(store: Store) -> None:
    store.users.put(user())
    mine, theirs = store.users.get("zhang.wei"), store.users.get("zhang.wei")
    assert mine is not None and theirs is not None
    mine.disabled, mine.updated = True, T0 + timedelta(minutes=1)
    store.users.put(mine)
    theirs.role = "admin"
    with pytest.raises(ConflictError):
        store.users.put(theirs)
    got = store.users.get("zhang.wei")
    assert got is not None and got.disabled and got.role == "operator"
    assert got.version == mine.version and got.updated == T0 + timedelta(minutes=1)


def test_tokens_found_by_hash_listed_per_user_and_kept_when_revoked(store: Store) -> None:
    store.tokens.put(token("t2", created=T0 + timedelta(hours=1)))
    store.tokens.put(token("t1"))
    store.tokens.put(token("t3", "li.na"))
    with pytest.raises(ConflictError):
        store.tokens.put(token("t1", "li.na"))

    found = store.tokens.by_hash("hash-t3")
    assert found is not None and found.id == "t3" and found.user == "li.na" and found.version
    assert store.tokens.by_hash("hash-nope") is None
    assert [t.id for t in store.tokens.list("zhang.wei")] == ["t1", "t2"]
    assert [t.id for t in store.tokens.list()] == ["t1", "t3", "t2"]
    assert store.tokens.list("nobody") == []

    stale = store.tokens.get("t1")
    live = store.tokens.get("t1")
    assert stale is not None and live is not None and live.revoked is None
    live.revoked = live.last_used = T0 + timedelta(days=1)
    store.tokens.put(live)
    stale.label = "改名"
    with pytest.raises(ConflictError):
        store.tokens.put(stale)
    kept = store.tokens.by_hash("hash-t1")
    assert kept is not None and kept.revoked == T0 + timedelta(days=1) and kept.label == "日报脚本"
    assert [t.id for t in store.tokens.list("zhang.wei")] == ["t1", "t2"]


def session(ident: str, owner: str = "zhang.wei", **changes: object) -> UserSession:
    values: dict[str, object] = {
        "id": ident,
        "user": owner,
        "created": T0,
        "last_seen": T0,
        "address": "10.0.0.7",
    }
    return UserSession(**(values | changes))  # type: ignore[arg-type]


def test_sessions_created_once_revoked_in_place_and_pruned_by_last_use(store: Store) -> None:
    assert store.sessions.get("s1") is None
    store.sessions.put(session("s2", created=T0 + timedelta(hours=1)))
    store.sessions.put(session("s1"))
    store.sessions.put(session("s3", "li.na", last_seen=T0 + timedelta(days=2)))
    with pytest.raises(ConflictError):
        store.sessions.put(session("s1", "li.na"))
    assert [s.id for s in store.sessions.list("zhang.wei")] == ["s1", "s2"]
    assert [s.id for s in store.sessions.list()] == ["s1", "s3", "s2"]

    stale, live = store.sessions.get("s1"), store.sessions.get("s1")
    assert stale is not None and live is not None and live.address == "10.0.0.7"
    live.revoked = T0 + timedelta(minutes=5)
    store.sessions.put(live)
    stale.last_seen = T0 + timedelta(minutes=6)
    with pytest.raises(ConflictError):
        store.sessions.put(stale)  # a late touch never undoes a revocation
    got = store.sessions.get("s1")
    assert got is not None and got.revoked == T0 + timedelta(minutes=5)
    # Times in another zone compare as times: 03:00 UTC is 11:00 in Shanghai.
    cutoff = datetime(2021, 2, 6, 3, 0, tzinfo=ZoneInfo("UTC"))
    assert store.sessions.prune(cutoff) == 2
    assert [s.id for s in store.sessions.list()] == ["s3"]
    assert store.sessions.prune(cutoff) == 0
