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
from collections.abc import Callable
from dataclasses import dataclass, field

from analysis.gazetteer import Gazetteer, normalize_code, with_operator_places
from analysis.gazetteer import Place as Division
from analysis.gazetteer import default as default_gazetteer
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
from keywords.model import DivisionChange, Library, Place

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
    """The library's imported changes of the divisions and its operators' places as
    gazetteer entries (aliases as places of the same code are not needed: the recognizer
    takes extra names from :func:`names`)."""
    changed = [
        Division(d.code, d.name, d.parent, former=tuple(d.former), removed=d.removed)
        for d in library.divisions
    ]
    return [
        *changed,
        *(Division(p.code, p.name, p.parent, p.kind or "place") for p in library.places),
    ]


def gazetteer_of(library: Library) -> Gazetteer:
    """The gazetteer as ``library`` sees it: the built one with the imported changes and
    the operators' places."""
    extra = divisions(library)
    base = default_gazetteer()
    return with_operator_places(base, extra) if extra else base


# -- the official code list ----------------------------------------------------------------

# A 12-digit village code (村/社区) is read and skipped: the gazetteer stops at townships.
_CODE_LENGTHS = (6, 12)
_HEADER = re.compile(r"^\D")
_CELLS = re.compile(r"[,\t，]|\s+")
REMOVAL_SHARE = 0.2  # more of the divisions in scope gone than this: not a full list


@dataclass(frozen=True)
class CodeLine:
    line: int
    code: str  # as the gazetteer writes it (500152, 500152001)
    name: str


@dataclass
class CodeImport:
    """What importing a code list changes: the library's new ``divisions`` and counts."""

    changes: list[DivisionChange]
    added: list[str] = field(default_factory=list)  # "500152999 新设镇"
    renamed: list[str] = field(default_factory=list)  # "500152002 梓潼街道 -> 梓潼新街道"
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: int = 0
    villages: int = 0  # 12-digit village codes read and skipped
    lines: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "lines": self.lines,
            "added": len(self.added),
            "renamed": len(self.renamed),
            "removed": len(self.removed),
            "restored": len(self.restored),
            "unchanged": self.unchanged,
            "villages": self.villages,
        }


def read_codes(
    data: bytes,
    limits: ImportLimits = _LIMITS,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[CodeLine], int]:
    """The divisions in an official code list (CSV or TXT: a code of 12 digits, the
    statistics bureau's 统计用区划代码, or of 6, the 民政部 list, then the name; a 3-digit
    城乡分类代码 between them is skipped) and how many village lines were skipped. Every
    problem is named with its line in Chinese (:class:`ImportFailed`); ``progress`` is
    told the lines read every 10,000."""
    check_size(data, "csv", limits)
    text = _decode(data)
    problems: list[Problem] = []
    found: list[CodeLine] = []
    seen: dict[str, CodeLine] = {}
    villages = 0
    started = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if progress is not None and number % 10_000 == 0:
            progress(number)
        line = raw.strip().strip("\ufeff")
        if not line or line.startswith("#"):
            continue
        cells = [c.strip().strip('"') for c in _CELLS.split(line) if c.strip().strip('"')]
        if not started and _HEADER.match(cells[0]):
            started = True  # a header row: 代码,名称 / 统计用区划代码 城乡分类代码 名称
            continue
        started = True
        code = cells[0]
        if not code.isdigit() or len(code) not in _CODE_LENGTHS:
            problems.append(
                Problem(
                    number,
                    None,
                    f"line {number}: code {code!r} should be 12 digits (a statistical division"
                    " code) or 6 digits (an administrative division code)",
                )
            )
            continue
        rest = cells[1:]
        if len(rest) >= 2 and len(rest[0]) == 3 and rest[0].isdigit():
            rest = rest[1:]  # 城乡分类代码
        name = "".join(rest)
        if not name:
            problems.append(Problem(number, None, f"line {number}: code {code} has no name"))
            continue
        if len(name) > 64:
            problems.append(
                Problem(number, None, f"line {number}: the name is longer than 64 characters")
            )
            continue
        short = normalize_code(code)
        if len(short) == 12:
            villages += 1
            continue
        known = seen.get(short)
        if known is not None:
            if known.name != name:
                problems.append(
                    Problem(
                        number,
                        None,
                        f"line {number}: code {code} repeats line {known.line} with another"
                        f" name ({known.name}, {name})",
                    )
                )
            continue
        seen[short] = CodeLine(number, short, name)
        found.append(seen[short])
    if problems:
        raise ImportFailed(problems)
    if not found:
        raise ImportFailed(
            [Problem(None, None, "the file holds no division codes (each line: code, name)")]
        )
    return found, villages


def _parent(code: str) -> str:
    return {9: code[:6], 6: code[:4], 4: code[:2]}.get(len(code), "")


def plan_codes(
    library: Library, lines: list[CodeLine], *, villages: int = 0, remove: bool = True
) -> CodeImport:
    """What the code list ``lines`` changes in the gazetteer ``library`` sees: new
    divisions, renamed ones (the old name kept as a former name) and — with ``remove``,
    for divisions whose parent the list lists with children, at the levels it has — the
    ones no longer listed. Raises :class:`ImportFailed` for a parent that is nowhere, or
    for a list that would remove too much to be a whole list."""
    gazetteer = gazetteer_of(library)
    listed = {c.code: c for c in lines}
    changes = {d.code: d for d in library.divisions}
    plan = CodeImport([], villages=villages, lines=len(lines))
    problems = []
    for entry in lines:
        parent = _parent(entry.code)
        if parent and parent not in listed and parent not in gazetteer.places:
            problems.append(
                Problem(
                    entry.line,
                    None,
                    f"line {entry.line}: parent code {parent} is neither in the file nor in the"
                    " gazetteer",
                )
            )
            continue
        known = gazetteer.get(entry.code)
        if known is None:
            changes[entry.code] = DivisionChange(code=entry.code, name=entry.name, parent=parent)
            plan.added.append(f"{entry.code} {entry.name}")
        elif known.name != entry.name:
            former = list(dict.fromkeys([*known.former, known.name]))
            former = [n for n in former if n != entry.name and len(n) >= 2][-20:]
            changes[entry.code] = DivisionChange(
                code=entry.code, name=entry.name, parent=known.parent, former=former
            )
            plan.renamed.append(f"{entry.code} {known.name} -> {entry.name}")
        elif known.removed:
            changes[entry.code] = DivisionChange(
                code=entry.code, name=entry.name, parent=known.parent, former=list(known.former)
            )
            plan.restored.append(f"{entry.code} {entry.name}")
        else:
            plan.unchanged += 1
    if problems:
        raise ImportFailed(problems)
    if remove:
        levels = {len(c) for c in listed}
        scope = {_parent(c) for c in listed}  # parents whose children the list gives
        in_scope = [
            p
            for p in gazetteer
            if not p.kind
            and len(p.code) in levels
            and p.parent in scope
            and (p.parent or len(p.code) == 2)
        ]
        gone = [p for p in in_scope if p.code not in listed and not p.removed]
        if len(gone) > max(20, REMOVAL_SHARE * len(in_scope)):
            raise ImportFailed(
                [
                    Problem(
                        None,
                        None,
                        f"the file would remove {len(gone)} of {len(in_scope)} divisions, unlike"
                        " a whole code list; to import only new and renamed ones add --no-remove",
                    )
                ]
            )
        for p in gone:
            changes[p.code] = DivisionChange(
                code=p.code, name=p.name, parent=p.parent, former=list(p.former), removed=True
            )
            plan.removed.append(f"{p.code} {p.name}")
    plan.changes = sorted(changes.values(), key=lambda d: d.code)
    return plan


def names(library: Library) -> list[tuple[str, str]]:
    """(alias, code) of every operator place's aliases."""
    return [(a, p.code) for p in library.places for a in p.aliases]
