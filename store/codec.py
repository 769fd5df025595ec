"""Dataclass records as JSON documents: times as ISO 8601 text, ``version`` left out
(each backend keeps it beside the document)."""

from __future__ import annotations

import typing
from dataclasses import fields
from datetime import datetime, tzinfo
from typing import Any, TypeVar

T = TypeVar("T")


_TIME_FIELDS: dict[type, frozenset[str]] = {}


def _time_fields(cls: type) -> frozenset[str]:
    if cls not in _TIME_FIELDS:
        hints = typing.get_type_hints(cls)
        _TIME_FIELDS[cls] = frozenset(
            n for n, h in hints.items() if h is datetime or datetime in typing.get_args(h)
        )
    return _TIME_FIELDS[cls]


def to_doc(record: Any) -> dict[str, Any]:
    """``record``'s fields as JSON-ready data."""
    times = _time_fields(type(record))
    doc: dict[str, Any] = {}
    for f in fields(record):
        if f.name == "version":
            continue
        value = getattr(record, f.name)
        doc[f.name] = value.isoformat() if f.name in times and value is not None else value
    return doc


def from_doc(cls: type[T], doc: dict[str, Any], tz: tzinfo, version: str | None = None) -> T:
    """The record of ``cls`` stored as ``doc``, its times in ``tz``."""
    times = _time_fields(cls)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {
        k: datetime.fromisoformat(v).astimezone(tz) if k in times and v is not None else v
        for k, v in doc.items()
        if k in known
    }
    if "version" in known:
        values["version"] = version
    return cls(**values)
