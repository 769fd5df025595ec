"""Region codes as operators read them: 潼南区 (重庆市) rather than 500152."""

from __future__ import annotations

from analysis.gazetteer import default


def region_name(code: str) -> str:
    """The place's name with the one above it (``潼南区 · 重庆市``); an operator's own
    place or an unknown code as it is."""
    if not code:
        return ""
    try:
        gazetteer = default()
    except FileNotFoundError:  # built without `make analysis-data`: codes still work
        return code
    place = gazetteer.get(code)
    if place is None:
        return code
    chain = gazetteer.display(code).split(" ")
    return " · ".join(reversed(chain[-2:]))


def negative_percent(value: float) -> str:
    return f"{round(value * 100)}%"
