"""Alert policies and emergency switches in SQLite: small keyed JSON documents."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from store.base import EmergencyRepo, PolicyRepo
from store.codec import from_doc, to_doc
from store.errors import ConflictError
from store.model import (
    AlertPolicy,
    ApiToken,
    ChannelConfig,
    EmergencySwitch,
    RoutingTable,
    User,
    UserSession,
)

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_policies (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS emergencies (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
);
"""

R = TypeVar(
    "R", AlertPolicy, EmergencySwitch, User, ApiToken, ChannelConfig, RoutingTable, UserSession
)


class Keyed(Generic[R]):
    """Documents of ``cls`` in ``table``, keyed by the field ``key``. With ``exclusive``
    a record without a version only creates: it never replaces one of the same key."""

    exclusive = False

    def __init__(self, store: SQLiteStore, table: str, cls: type[R], key: str) -> None:
        self.store = store
        self.cls: type[R] = cls
        self.table, self.key = table, key

    def _put(self, record: R) -> R:
        key = getattr(record, self.key)
        doc = json.dumps(to_doc(record), ensure_ascii=False)
        with self.store.transaction() as db:
            row = db.execute(f"SELECT version FROM {self.table} WHERE key = ?", (key,)).fetchone()
            current = None if row is None else str(row[0])
            if record.version is None and current is not None and self.exclusive:
                raise ConflictError(f"{key} exists already")
            if record.version is not None and record.version != current:
                raise ConflictError(f"{key} changed since version {record.version}")
            version = 1 if row is None else row[0] + 1
            db.execute(
                f"INSERT INTO {self.table} VALUES (?, ?, ?) ON CONFLICT(key) "
                "DO UPDATE SET doc = excluded.doc, version = excluded.version",
                (key, doc, version),
            )
        record.version = str(version)
        return record

    def _get(self, key: str) -> R | None:
        row = (
            self.store.connection()
            .execute(f"SELECT doc, version FROM {self.table} WHERE key = ?", (key,))
            .fetchone()
        )
        return None if row is None else self._record(row)

    def _list(self, where: str = "1", params: tuple[Any, ...] = ()) -> list[R]:
        rows = self.store.connection().execute(
            f"SELECT doc, version FROM {self.table} WHERE {where} ORDER BY key", params
        )
        return [self._record(row) for row in rows]

    def _record(self, row: tuple[str, int]) -> R:
        return from_doc(self.cls, json.loads(row[0]), self.store.tz, str(row[1]))


class SQLitePolicies(Keyed[AlertPolicy], PolicyRepo):
    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store, "alert_policies", AlertPolicy, "rule")

    def put(self, policy: AlertPolicy) -> AlertPolicy:
        return self._put(policy)

    def get(self, rule: str) -> AlertPolicy | None:
        return self._get(rule)

    def list(self) -> list[AlertPolicy]:
        return self._list()

    def delete(self, rule: str) -> bool:
        with self.store.transaction() as db:
            return db.execute("DELETE FROM alert_policies WHERE key = ?", (rule,)).rowcount > 0


class SQLiteEmergencies(Keyed[EmergencySwitch], EmergencyRepo):
    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store, "emergencies", EmergencySwitch, "scope")

    def put(self, switch: EmergencySwitch) -> EmergencySwitch:
        return self._put(switch)

    def get(self, scope: str) -> EmergencySwitch | None:
        return self._get(scope)

    def list(self) -> list[EmergencySwitch]:
        return self._list()
