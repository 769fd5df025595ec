"""Keyword-library versions in SQLite."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from store.base import LibraryRepo, check_successor
from store.errors import ConflictError
from store.model import LibraryVersion
from store.sqlite.common import ms

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS library_versions (
    version INTEGER PRIMARY KEY,
    parent INTEGER,
    author TEXT NOT NULL,
    created INTEGER NOT NULL,
    message TEXT NOT NULL,
    data TEXT NOT NULL,
    summary TEXT NOT NULL
);
"""


class SQLiteLibrary(LibraryRepo):
    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def head(self) -> LibraryVersion | None:
        row = (
            self.store.connection()
            .execute("SELECT * FROM library_versions ORDER BY version DESC LIMIT 1")
            .fetchone()
        )
        return None if row is None else self._version(row)

    def get(self, version: int) -> LibraryVersion | None:
        row = (
            self.store.connection()
            .execute("SELECT * FROM library_versions WHERE version = ?", (version,))
            .fetchone()
        )
        return None if row is None else self._version(row)

    def history(self, limit: int = 50) -> list[LibraryVersion]:
        rows = self.store.connection().execute(
            "SELECT version, parent, author, created, message, '{}', summary "
            "FROM library_versions ORDER BY version DESC LIMIT ?",
            (limit,),
        )
        return [self._version(row) for row in rows]

    def commit(self, version: LibraryVersion) -> LibraryVersion:
        check_successor(version)
        with self.store.transaction() as db:
            (head,) = db.execute("SELECT max(version) FROM library_versions").fetchone()
            if head != version.parent:
                raise ConflictError(
                    f"the library is at version {head}, not {version.parent}: reload and retry"
                )
            db.execute(
                "INSERT INTO library_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    version.version,
                    version.parent,
                    version.author,
                    ms(version.created),
                    version.message,
                    json.dumps(version.data, ensure_ascii=False),
                    json.dumps(version.summary, ensure_ascii=False),
                ),
            )
        return version

    def _version(self, row: tuple[Any, ...]) -> LibraryVersion:
        created = self.store.to_local(row[3])
        assert created is not None
        return LibraryVersion(
            row[0], row[1], row[2], created, row[4], json.loads(row[5]), json.loads(row[6])
        )
