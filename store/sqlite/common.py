"""Helpers the SQLite repositories share."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


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
