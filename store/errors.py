"""Errors every store backend raises, so callers never see a driver's exceptions."""


class StoreError(Exception):
    """Base class for store failures."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached (the message names the URL)."""


class SchemaMismatch(StoreError):
    """Existing data has a layout this version cannot use; nothing was changed."""


class ConflictError(StoreError):
    """An optimistic-concurrency check failed: someone else wrote first."""


class NotFound(StoreError):
    """No record with that id."""


class QueryError(StoreError, ValueError):
    """A user query or filter is invalid; ``field`` names the offending part."""

    def __init__(self, message: str, field: str = "q", position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.position = position
