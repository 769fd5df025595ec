"""Users, API tokens and console sessions in SQLite: keyed JSON documents, tokens indexed
by hash and user, sessions by user and last use."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from store.base import SessionRepo, TokenRepo, UserRepo
from store.model import ApiToken, User, UserSession
from store.sqlite.policies import Keyed

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

# Lookups must spell these expressions exactly so that SQLite uses the indices.
_HASH = "json_extract(doc, '$.token_hash')"
_USER = "json_extract(doc, '$.user')"
_SEEN = "json_extract(doc, '$.last_seen')"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS users (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS api_tokens_hash ON api_tokens({_HASH});
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens({_USER});
CREATE TABLE IF NOT EXISTS user_sessions (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS user_sessions_user ON user_sessions({_USER});
"""


class SQLiteUsers(Keyed[User], UserRepo):
    exclusive = True

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store, "users", User, "name")

    def put(self, user: User) -> User:
        return self._put(user)

    def get(self, name: str) -> User | None:
        return self._get(name)

    def list(self) -> list[User]:
        return self._list()

    def count(self) -> int:
        row = self.store.connection().execute("SELECT count(*) FROM users").fetchone()
        return int(row[0])


class SQLiteTokens(Keyed[ApiToken], TokenRepo):
    exclusive = True

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store, "api_tokens", ApiToken, "id")

    def put(self, token: ApiToken) -> ApiToken:
        return self._put(token)

    def get(self, token_id: str) -> ApiToken | None:
        return self._get(token_id)

    def by_hash(self, token_hash: str) -> ApiToken | None:
        found = self._list(f"{_HASH} = ?", (token_hash,))
        return found[0] if found else None

    def list(self, user: str | None = None) -> list[ApiToken]:
        found = self._list() if user is None else self._list(f"{_USER} = ?", (user,))
        return sorted(found, key=lambda t: (t.created, t.id))


class SQLiteSessions(Keyed[UserSession], SessionRepo):
    exclusive = True

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store, "user_sessions", UserSession, "id")

    def put(self, session: UserSession) -> UserSession:
        return self._put(session)

    def get(self, session_id: str) -> UserSession | None:
        return self._get(session_id)

    def list(self, user: str | None = None) -> list[UserSession]:
        found = self._list() if user is None else self._list(f"{_USER} = ?", (user,))
        return sorted(found, key=lambda s: (s.created, s.id))

    def prune(self, before: datetime) -> int:
        # Stored times keep their zone, so they are compared as times, not as text.
        with self.store.transaction() as db:
            rows = db.execute(f"SELECT key, {_SEEN} FROM user_sessions").fetchall()
            old = [(key,) for key, seen in rows if datetime.fromisoformat(seen) < before]
            db.executemany("DELETE FROM user_sessions WHERE key = ?", old)
            return len(old)
