"""The embedded backend: one SQLite file, FTS5 for Chinese full-text search."""

from store.sqlite.db import SQLiteStore

__all__ = ["SQLiteStore"]
