"""Errors every store backend raises, so callers never see a driver's exceptions, and
the refusals every domain operation shares (:class:`Invalid`, :class:`NotFound`,
:class:`ConflictError`), which the API turns into 400, 404 and 409."""

from __future__ import annotations

from typing import Any


class StoreError(Exception):
    """Base class for store failures."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached (the message names the URL)."""


def as_unavailable(error: BaseException) -> StoreUnavailable | None:
    """``error`` as :class:`StoreUnavailable` if it means the backend cannot be reached
    now (a driver's connection error or timeout), else None: callers that catch whatever a
    request raised tell an outage (503, retry later) from a bug (500)."""
    if isinstance(error, StoreUnavailable):
        return error
    import sqlite3

    from elastic_transport import ConnectionError as EsConnectionError
    from elastic_transport import ConnectionTimeout

    if isinstance(error, EsConnectionError | ConnectionTimeout):
        return StoreUnavailable(f"Elasticsearch is not reachable: {error}")
    if isinstance(error, sqlite3.OperationalError) and "unable to open" in str(error):
        return StoreUnavailable(f"the SQLite database cannot be opened: {error}")
    return None


class SchemaMismatch(StoreError):
    """Existing data has a layout this version cannot use; nothing was changed."""


class ConflictError(StoreError):
    """An optimistic-concurrency check failed: someone else wrote first (or, from an
    operation, the change collides with what is there); ``field`` names the input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(StoreError):
    """No record with that id; ``field`` names the input that named it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Invalid(ValueError):
    """An operation refused its input; nothing was changed. ``field`` names the input,
    ``details`` say more where one message cannot (e.g. every bad line)."""

    def __init__(self, message: str, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class QueryError(StoreError, ValueError):
    """A user query or filter is invalid; ``field`` names the offending part."""

    def __init__(self, message: str, field: str = "q", position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.position = position
