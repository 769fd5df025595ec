"""Operators' own places (landmarks, schools, hospitals, parks, compounds, roads) read from
a CSV or XLSX file, each filed under an administrative code of the gazetteer.

The file has a header row, English or Chinese::

    name,parent,kind,aliases          名称,上级代码,类型,别名
    潼南中学,500152,school,潼南一中

Every problem is reported with its line (as an editor or Excel numbers it), all at once;
nothing is imported from a file with problems. ``aliases`` are separated by ``|`` or ``、``.
"""

from __future__ import annotations

import re

from analysis.gazetteer import Gazetteer
from analysis.gazetteer import Place as Division
from keywords.io import (
    Format,
    ImportFailed,
    ImportLimits,
    Problem,
    _csv_rows,
    _decode,
    _xlsx_rows,
    check_size,
)
from keywords.model import Library, Place

_COLUMNS = {
    "name": "name",
    "名称": "name",
    "地点": "name",
    "parent": "parent",
    "上级代码": "parent",
    "区划代码": "parent",
    "上级区划代码": "parent",
    "kind": "kind",
    "类型": "kind",
    "aliases": "aliases",
    "别名": "aliases",
}
_LIMITS = ImportLimits()
_SPLIT = re.compile(r"[|、]")


def read_places(
    data: bytes, fmt: Format, gazetteer: Gazetteer, limits: ImportLimits = _LIMITS
) -> list[Place]:
    """The places in a CSV/XLSX file (codes not yet given: ``<parent>-0``); raises
    :class:`ImportFailed` listing every problem with its line."""
    if fmt not in ("csv", "xlsx"):
        raise ImportFailed([Problem(None, None, "places are imported from .csv or .xlsx files")])
    check_size(data, fmt, limits)
    rows, _total = _xlsx_rows(data, limits) if fmt == "xlsx" else _csv_rows(_decode(data))
    problems: list[Problem] = []
    places: list[Place] = []
    header: dict[str, int] | None = None
    seen: dict[tuple[str, str], int] = {}
    for line, cells in rows:
        if isinstance(cells, Problem):
            problems.append(cells)
            continue
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = {}
            for i, cell in enumerate(cells):
                key = _COLUMNS.get(cell.strip().lower())
                if key is None:
                    problems.append(Problem(line, cell, f"unknown column {cell.strip()!r}"))
                else:
                    header[key] = i
            for needed in ("name", "parent"):
                if needed not in header:
                    problems.append(Problem(line, None, f"the header has no {needed} column"))
            if problems:
                raise ImportFailed(problems)
            continue

        name, parent = _cell(header, cells, "name"), _cell(header, cells, "parent")
        if len(name) < 2:
            problems.append(Problem(line, "name", "a place name needs at least two characters"))
            continue
        division: Division | None = gazetteer.get(parent)
        if division is None:
            problems.append(
                Problem(line, "parent", f"{parent!r} is not a code of the gazetteer (e.g. 500152)")
            )
            continue
        if (name, parent) in seen:
            problems.append(
                Problem(
                    line, "name", f"{name} under {parent} is already on line {seen[name, parent]}"
                )
            )
            continue
        seen[name, parent] = line
        aliases = [
            a.strip() for a in _SPLIT.split(_cell(header, cells, "aliases")) if len(a.strip()) >= 2
        ]
        places.append(
            Place(
                code=f"{parent}-0",
                name=name,
                parent=parent,
                kind=_cell(header, cells, "kind"),
                aliases=aliases,
            )
        )
    if header is None:
        problems.append(Problem(None, None, "the file is empty"))
    if problems:
        raise ImportFailed(problems)
    return places


def _cell(header: dict[str, int], cells: list[str], key: str) -> str:
    i = header.get(key)
    return cells[i].strip() if i is not None and i < len(cells) else ""


def merged(library: Library, incoming: list[Place]) -> tuple[Library, int]:
    """``library`` with ``incoming`` added (a place already there by name and parent is
    updated, keeping its code); new places get the next free ``<parent>-<n>``. Returns
    the new library and how many places were added."""
    out = library.model_copy(deep=True)
    by_key = {(p.name, p.parent): i for i, p in enumerate(out.places)}
    used: dict[str, int] = {}
    for p in out.places:
        parent, _, n = p.code.rpartition("-")
        used[parent] = max(used.get(parent, 0), int(n))
    added = 0
    for place in incoming:
        known = by_key.get((place.name, place.parent))
        if known is not None:
            code = out.places[known].code
            out.places[known] = place.model_copy(update={"code": code})
            continue
        used[place.parent] = used.get(place.parent, 0) + 1
        out.places.append(place.model_copy(update={"code": f"{place.parent}-{used[place.parent]}"}))
        by_key[place.name, place.parent] = len(out.places) - 1
        added += 1
    return out, added


def divisions(library: Library) -> list[Division]:
    """The library's places as gazetteer entries (aliases as places of the same code are
    not needed: the recognizer takes extra names from :func:`names`)."""
    return [Division(p.code, p.name, p.parent, p.kind or "place") for p in library.places]


def names(library: Library) -> list[tuple[str, str]]:
    """(alias, code) of every operator place's aliases."""
    return [(a, p.code) for p in library.places for a in p.aliases]
