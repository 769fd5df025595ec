"""Region codes as operators read them: 潼南区 (重庆市) rather than 500152."""

from __future__ import annotations

import time

from flask import current_app, has_app_context

from analysis.gazetteer import Gazetteer, default
from api.context import parts
from keywords.model import Library
from keywords.places import gazetteer_of

FRESH_SECONDS = 10.0  # how stale the imported divisions may be when naming a code
_KEY = "yuqing.region_names"  # per app: (checked, library version, gazetteer)


def _gazetteer() -> Gazetteer:
    """The gazetteer with the library's imported divisions and operators' places (so a
    division added by ``yuqing places import-codes`` is named), re-read at most every
    :data:`FRESH_SECONDS` and only when the library changed."""
    if not has_app_context():
        return default()
    now = time.monotonic()
    known: tuple[float, int, Gazetteer] | None = current_app.extensions.get(_KEY)
    if known is not None and now - known[0] < FRESH_SECONDS:
        return known[2]
    head = parts().store.library.head()
    version = head.version if head else 0
    if known is not None and known[1] == version:
        found = known[2]
    else:
        found = gazetteer_of(Library.model_validate(head.data) if head else Library())
    current_app.extensions[_KEY] = (now, version, found)
    return found


def region_name(code: str) -> str:
    """The place's name with the one above it (``潼南区 · 重庆市``, ``潼南中学 · 潼南区``
    for an operator's place); an unknown code as it is."""
    if not code:
        return ""
    try:
        gazetteer = _gazetteer()
    except FileNotFoundError:  # built without `make analysis-data`: codes still work
        return code
    place = gazetteer.get(code)
    if place is None:
        return code
    chain = gazetteer.display(code).split(" ")
    return " · ".join(reversed(chain[-2:]))


def negative_percent(value: float) -> str:
    return f"{round(value * 100)}%"
