"""Helpers the SQLite repositories share."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from store.model import AuditEntry, HealthEvent

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore


def statements(script: str) -> list[str]:
    """Split a schema script into statements, keeping trigger bodies whole."""
    out: list[str] = []
    for part in script.split(";"):
        if (
            out
            and out[-1].lstrip().startswith("CREATE TRIGGER")
            and not out[-1].rstrip().endswith("END")
        ):
            out[-1] += ";" + part
        elif part.strip():
            out.append(part)
    return [s for s in out if s.strip()]


def ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def json_list(value: list[Any]) -> str:
    return json.dumps(value, ensure_ascii=False) if value else "[]"


E = TypeVar("E", AuditEntry, HealthEvent)


class AppendLog(ABC, Generic[E]):
    """An append-only table (``table``): each record gets the next integer id, and lists
    come newest first. Subclasses say how a record maps to ``columns`` and back."""

    table: str
    columns: tuple[str, ...]  # stored beside ``id``, in the order of :meth:`_values`

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    @abstractmethod
    def _values(self, record: E) -> tuple[Any, ...]:
        """``record``'s values for ``columns``."""

    @abstractmethod
    def _record(self, row: tuple[Any, ...]) -> E:
        """The record of a row: its id, then ``columns``."""

    def _append(self, record: E) -> E:
        marks = ", ".join("?" * len(self.columns))
        with self.store.transaction() as db:
            cur = db.execute(
                f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks})",
                self._values(record),
            )
        record.id = str(cur.lastrowid)
        return record

    def _list(self, conditions: list[tuple[str, Any]], limit: int) -> list[E]:
        """Newest first; ``conditions`` pairs a clause with its parameter, skipped if None."""
        used = [(clause, value) for clause, value in conditions if value is not None]
        where = " AND ".join(clause for clause, _ in used) or "1"
        params: list[Any] = [value for _, value in used]
        rows = self.store.connection().execute(
            f"SELECT id, {', '.join(self.columns)} FROM {self.table} "
            f"WHERE {where} ORDER BY id DESC LIMIT ?",
            [*params, limit],
        )
        return [self._record(row) for row in rows]

    def _time(self, value: int) -> datetime:
        time = self.store.to_local(value)
        assert time is not None
        return time
