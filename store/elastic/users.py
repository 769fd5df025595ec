"""Users, API tokens and console sessions in Elasticsearch: the name, token id or session
id is the document id."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.base import SessionRepo, TokenRepo, UserRepo
from store.elastic.common import SCHEMA_VERSION
from store.elastic.policies import MAX_KEYS, Keyed
from store.model import ApiToken, User, UserSession

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

USER_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "name": {"type": "keyword"},
        "role": {"type": "keyword"},
        "password_hash": {"type": "keyword", "index": False, "doc_values": False},
        "created": {"type": "date"},
        "updated": {"type": "date"},
        "display_name": {"type": "keyword"},
        "email": {"type": "keyword"},
        "disabled": {"type": "boolean"},
        "totp_secret": {"type": "keyword", "index": False, "doc_values": False},
        "totp_step": {"type": "long"},
        "recovery_codes": {"type": "keyword", "index": False, "doc_values": False},
    },
}
TOKEN_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "id": {"type": "keyword"},
        "user": {"type": "keyword"},
        "label": {"type": "keyword"},
        "token_hash": {"type": "keyword"},
        "created": {"type": "date"},
        "last_used": {"type": "date"},
        "revoked": {"type": "date"},
        "expires": {"type": "date"},
    },
}
SESSION_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "id": {"type": "keyword"},
        "user": {"type": "keyword"},
        "created": {"type": "date"},
        "last_seen": {"type": "date"},
        "revoked": {"type": "date"},
        "address": {"type": "keyword"},
    },
}


class ElasticUsers(Keyed[User], UserRepo):
    exclusive = True

    def __init__(self, store: ElasticStore) -> None:
        super().__init__(store, "users", USER_MAPPING, User, "name")

    def put(self, user: User) -> User:
        return self._put(user)

    def get(self, name: str) -> User | None:
        return self._get(name)

    def list(self) -> list[User]:
        return self._list()

    def count(self) -> int:
        return int(self.es.count(index=self.index)["count"])


class ElasticTokens(Keyed[ApiToken], TokenRepo):
    exclusive = True

    def __init__(self, store: ElasticStore) -> None:
        super().__init__(store, "api-tokens", TOKEN_MAPPING, ApiToken, "id")

    def put(self, token: ApiToken) -> ApiToken:
        return self._put(token)

    def get(self, token_id: str) -> ApiToken | None:
        return self._get(token_id)

    def by_hash(self, token_hash: str) -> ApiToken | None:
        found = self._list({"term": {"token_hash": token_hash}})
        return found[0] if found else None

    def list(self, user: str | None = None) -> list[ApiToken]:
        found = self._list(None if user is None else {"term": {"user": user}})
        return sorted(found, key=lambda t: (t.created, t.id))


class ElasticSessions(Keyed[UserSession], SessionRepo):
    exclusive = True

    def __init__(self, store: ElasticStore) -> None:
        super().__init__(store, "user-sessions", SESSION_MAPPING, UserSession, "id")

    def put(self, session: UserSession) -> UserSession:
        return self._put(session)

    def get(self, session_id: str) -> UserSession | None:
        return self._get(session_id)

    def list(self, user: str | None = None) -> list[UserSession]:
        found = self._list(None if user is None else {"term": {"user": user}})
        return sorted(found, key=lambda s: (s.created, s.id))

    def prune(self, before: datetime) -> int:
        # Search and delete: the node may lack the delete-by-query module.
        hits = self.es.search(
            index=self.index,
            size=MAX_KEYS,
            source=False,
            query={"range": {"last_seen": {"lt": before.isoformat()}}},
        )["hits"]["hits"]
        if not hits:
            return 0
        operations = [{"delete": {"_index": self.index, "_id": h["_id"]}} for h in hits]
        result = self.es.bulk(operations=operations, refresh=True)
        return sum(1 for r in result["items"] if r["delete"].get("result") == "deleted")
