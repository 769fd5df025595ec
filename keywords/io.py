"""Import and export of the keyword library: CSV, XLSX, plain text, YAML and JSON.

An import validates the whole file before it returns anything: every bad line is reported as a
:class:`Problem`, all of them together in one :class:`ImportFailed`, so a failed import yields
nothing to apply. :func:`merge` then combines the imported library with the current one.

Exports read back equal to what was written. CSV, XLSX and plain text carry words only: a
group's ``enabled`` flag, description and variant options, groups without words and rules
are not part of those formats (plain text carries word texts only, without weight, level or
aliases). Rather than write a word that would read back different, :func:`write_library`
raises ``ValueError``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import PurePath
from typing import Any, Literal, get_args

import openpyxl
import yaml
from openpyxl.utils import get_column_letter
from pydantic import ValidationError

from keywords.model import CATEGORY_LABELS, NAME_PATTERN, Group, Library
from store.export import cell, uncell

__all__ = [
    "ALIAS_SEPARATOR",
    "CHINESE_COLUMNS",
    "COLUMNS",
    "FORMATS",
    "Format",
    "ImportFailed",
    "ImportLimits",
    "Problem",
    "Progress",
    "check_size",
    "detect_format",
    "merge",
    "read_library",
    "unpacked_size",
    "write_library",
]

Format = Literal["csv", "xlsx", "txt", "yaml", "json"]
FORMATS: tuple[Format, ...] = get_args(Format)
Progress = Callable[[int, int], object]
"""Called with (lines done, lines in total) while a file is read."""

COLUMNS = ("group", "category", "word", "weight", "level", "aliases")
CHINESE_COLUMNS = ("词组", "分类", "关键词", "权重", "级别", "别名")
ALIAS_SEPARATOR = "|"

_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".txt": "txt",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
}
_HEADER = {name: name for name in COLUMNS} | dict(zip(CHINESE_COLUMNS, COLUMNS, strict=True))
_REQUIRED = ("group", "word")
_CATEGORY_BY_LABEL = {label: name for name, label in CATEGORY_LABELS.items()}
# Mirrors Word's limits, checked here so that each bad line gets its own readable message.
_MAX_TEXT = 100


@dataclass(frozen=True)
class ImportLimits:
    """What an import may be, checked before anything is parsed where possible, so a file
    built to exhaust the server (a zip bomb, millions of rows, giant cells) is refused in
    milliseconds. Set from the configuration's ``[imports]`` section."""

    max_bytes: int = 20 * 1024 * 1024  # the file as uploaded
    max_unpacked_bytes: int = 64 * 1024 * 1024  # an .xlsx's parts, unpacked
    max_rows: int = 200_000
    max_cell_chars: int = 1_000
    max_columns: int = 64


def _limit(message: str, key: str, *, too_large: bool = False) -> ImportFailed:
    failed = _fail(f"{message} (the limit is set by imports.{key})")
    failed.too_large = too_large
    return failed


_MAX_WEIGHT = 100
_MAX_LEVEL = 9
# Line breaks and tabs inside a word come from Alt+Enter in Excel or pasted web text; a keyword
# containing them can never match, so they are refused rather than imported. U+FFFE and U+FFFF
# are not characters at all, and XML (so XLSX) cannot hold them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")
_NAME = re.compile(NAME_PATTERN)
# Files that operators pick by mistake, named instead of being called undecodable.
_XLS = (b"\xd0\xcf\x11\xe0", "an old Excel .xls file; save it as .xlsx")
_NOT_TEXT = ((b"PK\x03\x04", "an .xlsx (zip) file"), _XLS)
# The C implementation is several times faster on libraries of 100k words.
_Loader: Any = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
_Dumper: Any = yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an imported file; ``line`` as an editor or Excel numbers it."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ImportFailed(ValueError):
    """An import was refused; ``problems`` lists everything found wrong, in file order."""

    SHOWN = 20  # in the message; ``problems`` has them all

    too_large = False  # refused for its size alone (HTTP 413)

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [str(p) for p in problems[: self.SHOWN]]
        if len(problems) > self.SHOWN:
            lines.append(f"... and {len(problems) - self.SHOWN} more")
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"import failed, {count}:\n" + "\n".join(lines))


def detect_format(filename: str) -> Format:
    """The format for a file name's extension; ``ValueError`` for one that is not supported."""
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".xls":
        raise ValueError(f"{filename}: old Excel .xls files are not supported; save as .xlsx")
    if suffix not in _EXTENSIONS:
        known = ", ".join(_EXTENSIONS)
        raise ValueError(f"{filename}: unknown file type {suffix or '(none)'}; expected {known}")
    return _EXTENSIONS[suffix]


def read_library(
    data: bytes,
    fmt: Format,
    *,
    group: str | None = None,
    category: str = "subject",
    progress: Progress | None = None,
    limits: ImportLimits = ImportLimits(),
) -> Library:
    """Read and validate a whole file; raise :class:`ImportFailed` listing every problem
    (or naming the first of ``limits`` the file exceeds).

    ``csv`` and ``xlsx`` need a header row (English or Chinese column names) and give groups
    only; ``category`` is the category of groups whose rows name none. ``txt`` puts one word
    per line into the group named ``group`` with ``category``. ``yaml`` and ``json`` hold a
    whole library in the form of :meth:`Library.to_data`. Text files may be UTF-8 (with or
    without BOM), UTF-16 with BOM or GBK/GB18030.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if group is not None and fmt != "txt":
        raise ValueError("group names the target of a txt import; other formats name their own")
    check_size(data, fmt, limits)
    if fmt == "xlsx":
        return _read_table(*_xlsx_rows(data, limits), category, progress, limits)
    text = _decode(data)
    if fmt == "csv":
        return _read_table(*_csv_rows(text), category, progress, limits)
    if fmt == "txt":
        _check_lines(text, limits)
        return _read_txt(text, group, category, progress)
    return _read_document(text, fmt, progress, limits)


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _check_lines(text: str, limits: ImportLimits) -> None:
    lines = text.count("\n") + 1
    if lines > limits.max_rows:
        raise _limit(f"too many lines: {lines}, over the limit of {limits.max_rows}", "max_rows")


def merge(base: Library, incoming: Library, *, mode: Literal["add", "replace"] = "add") -> Library:
    """``base`` with ``incoming`` applied; neither argument is changed.

    ``add`` appends to an existing group the words it lacks, keeping everything else of the
    group (its category, and base's version of a word); ``replace`` swaps a whole group for
    the incoming one. New groups are appended in both
    modes, and an incoming rule replaces the rule of the same name or is appended.
    """
    if mode not in ("add", "replace"):
        raise ValueError(f"unknown merge mode {mode!r}; expected add or replace")
    result, incoming = base.model_copy(deep=True), incoming.model_copy(deep=True)
    positions = {g.name: i for i, g in reversed(list(enumerate(result.groups)))}
    for group in incoming.groups:
        if group.name not in positions:
            positions[group.name] = len(result.groups)
            result.groups.append(group)
        elif mode == "replace":
            result.groups[positions[group.name]] = group
        else:
            target = result.groups[positions[group.name]]
            have = {w.text for w in target.words}
            for word in group.words:
                if word.text not in have:
                    have.add(word.text)
                    target.words.append(word)
    rules = {r.name: i for i, r in reversed(list(enumerate(result.rules)))}
    for rule in incoming.rules:
        if rule.name in rules:
            result.rules[rules[rule.name]] = rule
        else:
            rules[rule.name] = len(result.rules)
            result.rules.append(rule)
    return result


def write_library(library: Library, fmt: Format, *, group: str | None = None) -> bytes:
    """Export ``library``; read back with :func:`read_library` it gives the same words.

    ``yaml`` and ``json`` hold the whole library (UTF-8). ``csv`` (UTF-8 with BOM, so that
    Excel shows Chinese) and ``xlsx`` write one row per word of every group, or of ``group``
    only; ``txt`` writes the words of ``group``, one per line. ``ValueError`` if ``group`` is
    unknown or a word could not be read back unchanged (see :func:`read_library`'s checks).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt in ("yaml", "json"):
        if group is not None:
            raise ValueError(f"{fmt} exports the whole library; use csv, xlsx or txt for a group")
        data = library.to_data()
        if fmt == "json":
            return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
        dumped: str = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False)
        return dumped.encode()
    groups = _chosen_groups(library, group, fmt)
    if refused := _unexportable(groups, fmt):
        raise ValueError(f"cannot write {fmt} without changing these words:\n" + "\n".join(refused))
    if fmt == "txt":
        return "".join(f"{w.text}\n" for w in groups[0].words).encode()
    if fmt == "csv":
        return _csv_bytes(groups)
    return _xlsx_bytes(groups)


# --- reading text ---------------------------------------------------------------------------


def _fail(message: str, line: int | None = None) -> ImportFailed:
    return ImportFailed([Problem(line, None, message)])


def _decode(data: bytes) -> str:
    for magic, what in _NOT_TEXT:
        if data.startswith(magic):
            raise _fail(f"this is {what}, not a text file")
    if data.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    else:
        # Excel saves "CSV" in the ANSI code page, GBK on Chinese Windows; GB18030 is its
        # superset. Valid UTF-8 is tried first: Chinese GBK text is practically never valid UTF-8.
        encodings = ["utf-8", "gb18030"]
    where = ""
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            where = f" (undecodable bytes on line {line})"
            continue
        # NUL never occurs in these encodings of text: binary file, or UTF-16 without a BOM.
        if "\x00" not in text:
            return text
        where = " (it contains NUL bytes)"
    raise _fail(
        f"the file is not text in UTF-8, UTF-16 with BOM or GBK/GB18030{where}; "
        "in Excel choose Save As > CSV UTF-8"
    )


def _lines(text: str) -> list[str]:
    # Only the line ends editors count: str.splitlines() also splits at \x0b, \x1c, \u2028...
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


class _Ticker:
    """Passes (done, total) to a progress callback about a hundred times per file."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress = progress
        self._total = total
        self._next = 0
        self._step = max(1, total // 100)

    def __call__(self, done: int) -> None:
        # Totals are estimates (line counts, Excel's stored sheet size): never report past them.
        self._total = max(self._total, done)
        if self._progress is not None and self._next <= done < self._total:
            self._progress(done, self._total)
            self._next = done + self._step

    def finish(self) -> None:
        if self._progress is not None:
            self._progress(self._total, self._total)


# --- CSV, XLSX and plain text -----------------------------------------------------------------

# A row's cells, or why the row could not be read at all.
_Rows = Iterator[tuple[int, list[str] | Problem]]


def _csv_rows(text: str) -> tuple[_Rows, int]:
    lines = max(text.count("\n"), text.count("\r")) + (not text.endswith(("\n", "\r")))

    def rows() -> _Rows:
        # strict: a stray quote is an error rather than silently dropped from the word.
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        start = 1
        while True:
            try:
                cells: list[str] | Problem = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                message = f"bad quoting ({exc}): quote the cell and double quotes inside it"
                if "end of data" in str(exc):
                    message = "unclosed quote: the rest of the file would be one cell"
                cells = Problem(start, None, message)
            yield start, cells
            start = reader.line_num + 1

    return rows(), lines


def _xlsx_rows(data: bytes, limits: ImportLimits) -> tuple[_Rows, int]:
    if data.startswith(_XLS[0]):
        raise _fail(f"this is {_XLS[1]}")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, KeyError, XML and value errors, varying by damage
        raise _fail(f"not a readable .xlsx file ({exc})") from exc
    sheet = book.worksheets[0]
    total = sheet.max_row or 0
    # A stale stored sheet size would make openpyxl stop early; read every row that is there.
    sheet.reset_dimensions()

    def rows() -> _Rows:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                yield number, [_cell_text(v) for v in values]
        except Exception as exc:  # a damaged sheet only shows while it is parsed
            raise _fail(f"not a readable .xlsx file ({exc})") from exc
        finally:
            book.close()

    return rows(), total


def unpacked_size(data: bytes, fmt: Format) -> int:
    """How much there is to parse: an .xlsx's declared unpacked size (its length if it is
    not a readable zip), any other file's length."""
    if fmt != "xlsx":
        return len(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return len(data)


def check_size(data: bytes, fmt: Format, limits: ImportLimits) -> None:
    """Refuse a file beyond the size limits, before any of it is parsed: an .xlsx by the
    sizes its zip directory declares, before a byte is inflated (a zip bomb is refused in
    milliseconds). :class:`ImportFailed` with :attr:`ImportFailed.too_large` set."""
    if len(data) > limits.max_bytes:
        size, most = _mb(len(data)), _mb(limits.max_bytes)
        raise _limit(
            f"the file is too large: {size}, over the limit of {most}", "max_bytes", too_large=True
        )
    unpacked = unpacked_size(data, fmt)
    if unpacked > limits.max_unpacked_bytes:
        size, most = _mb(unpacked), _mb(limits.max_unpacked_bytes)
        message = f"the file unpacks to {size}, over the limit of {most}"
        raise _limit(message, "max_unpacked_bytes", too_large=True)


def _cell_text(value: object) -> str:
    """A cell as text: Excel stores numbers typed into the word column (110, 12345) as numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _float(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _text_problem(text: str, what: str) -> str | None:
    if not text:
        return f"empty {what}"
    if len(text) > _MAX_TEXT:
        return f"{what} longer than {_MAX_TEXT} characters ({len(text)})"
    if _CONTROL.search(text):
        return f"{what} contains a line break, tab or other control character"
    return None


def _name_problem(name: str) -> str | None:
    if not name:
        return "empty group name"
    if not _NAME.fullmatch(name):
        return (
            f"invalid group name {name!r}: 1-64 characters without spaces, "
            "parentheses, quotes, @ or colon"
        )
    return None


@lru_cache(maxsize=256)  # bounded: category cells are operator input
def _category(value: str) -> str | None:
    """The category a cell or argument names (English, Chinese label or custom), else None."""
    value = _CATEGORY_BY_LABEL.get(value, value)
    try:
        Group(name="_", category=value)  # custom categories are whatever the model accepts
    except ValidationError:
        return None
    return value


def _category_problem(value: str) -> str:
    labels = "/".join(CATEGORY_LABELS.values())
    return (
        f"unknown category {value!r}: use {'/'.join(CATEGORY_LABELS)}, {labels} "
        "or a custom name of letters, digits, _ and -"
    )


@dataclass
class _Draft:
    """A group collected from rows that may be scattered over the file."""

    category: str | None = None
    category_line: int = 0
    words: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    first: dict[str, int] = field(default_factory=dict)  # word -> line it first appears on


class _Table:
    """Validates header and rows of a CSV file or an XLSX sheet, collecting every problem."""

    def __init__(self, line: int, header: list[str]) -> None:
        self.problems: list[Problem] = []
        self.index: dict[str, int] = {}
        self.names: dict[str, str] = {}  # column -> its name as written, for messages
        for i, raw in enumerate(header):
            name = raw.strip()
            if not name:
                continue
            column = _HEADER.get(name.lower())
            if column is None:
                expected = f"{', '.join(COLUMNS)} or {', '.join(CHINESE_COLUMNS)}"
                self.problems.append(Problem(line, name, f"unknown column (expected {expected})"))
            elif column in self.index:
                self.problems.append(Problem(line, name, "column given twice"))
            else:
                self.index[column] = i
                self.names[column] = name
        for column in _REQUIRED:
            if column not in self.index:
                chinese = CHINESE_COLUMNS[COLUMNS.index(column)]
                message = f"missing required column (or {chinese})"
                self.problems.append(Problem(line, column, message))
        self.usable = all(column in self.index for column in _REQUIRED)
        # Cells under a blank header cell or right of the header would be silently lost.
        self.unnamed = {i for i, raw in enumerate(header) if not raw.strip()}
        self.width = len(header)
        self.drafts: dict[str, _Draft] = {}

    def add_row(self, line: int, cells: list[str]) -> None:
        found: list[Problem] = []

        def cell(column: str) -> str:
            i = self.index.get(column)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        def problem(column: str, message: str) -> None:
            found.append(Problem(line, self.names.get(column, column), message))

        for i, value in enumerate(cells):
            if (i >= self.width or i in self.unnamed) and value.strip():
                found.append(Problem(line, str(i + 1), "value in a column without a header"))
        # A cell the export defused (store.export) reads back as what was exported.
        name, text = uncell(cell("group")), uncell(cell("word"))
        draft = self.drafts.get(name)
        if draft is None:
            if message := _name_problem(name):
                problem("group", message)
            else:
                draft = self.drafts[name] = _Draft()
        if message := _text_problem(text, "word"):
            problem("word", message)
        category = None
        if raw_category := cell("category"):
            category = _category(raw_category)
            if category is None:
                problem("category", _category_problem(raw_category))
        weight: float | None = 1.0
        if raw_weight := cell("weight"):
            weight = _float(raw_weight)
            if weight is None or not 0 <= weight <= _MAX_WEIGHT:
                problem("weight", f"weight {raw_weight!r} is not a number from 0 to {_MAX_WEIGHT}")
        level = None
        if raw_level := cell("level"):
            number = _float(raw_level)
            if number is None or not number.is_integer() or not 0 <= number <= _MAX_LEVEL:
                message = f"level {raw_level!r} is not a whole number from 0 to {_MAX_LEVEL}"
                problem("level", message)
            else:
                level = int(number)
        aliases = [a.strip() for a in uncell(cell("aliases")).split(ALIAS_SEPARATOR) if a.strip()]
        for alias in aliases:
            if message := _text_problem(alias, "alias"):
                problem("aliases", f"{message}: {alias[:20]!r}")

        if draft is not None and category is not None:
            if draft.category is None:
                draft.category, draft.category_line = category, line
            elif draft.category != category:
                problem(
                    "category",
                    f"group {name} is {category} here but {draft.category} "
                    f"on line {draft.category_line}",
                )
        if draft is not None and text:
            if text in draft.first:
                problem(
                    "word",
                    f"duplicate word {text!r} in group {name} (first on line {draft.first[text]})",
                )
            else:
                draft.first[text] = line
        if found:
            self.problems.extend(found)
        elif draft is not None:
            draft.words.append({"text": text, "weight": weight, "level": level, "aliases": aliases})
            draft.lines.append(line)

    def library(self, default_category: str) -> Library:
        groups = [
            {"name": name, "category": draft.category or default_category, "words": draft.words}
            for name, draft in self.drafts.items()
        ]
        lines = [draft.lines for draft in self.drafts.values()]

        def line_of(loc: tuple[int | str, ...]) -> int | None:
            if loc[:1] == ("groups",) and len(loc) > 3 and loc[2] == "words":
                group, word = loc[1], loc[3]
                if isinstance(group, int) and isinstance(word, int):
                    return lines[group][word]
            return None

        return _validated({"groups": groups}, line_of)


def _read_table(
    rows: _Rows, total: int, category: str, progress: Progress | None, limits: ImportLimits
) -> Library:
    ticker = _Ticker(progress, total)
    table: _Table | None = None
    unreadable: list[Problem] = []
    data_rows = 0
    for line, cells in rows:
        ticker(line)
        if table is not None:
            data_rows += 1
            if data_rows > limits.max_rows:
                raise _limit(f"too many lines: over the limit of {limits.max_rows}", "max_rows")
        if not isinstance(cells, Problem):
            if len(cells) > limits.max_columns:
                message = (
                    f"line {line} has {len(cells)} columns, over the limit of {limits.max_columns}"
                )
                raise _limit(message, "max_columns")
            if any(len(c) > limits.max_cell_chars for c in cells):
                message = (
                    f"a cell is longer than the limit of {limits.max_cell_chars} characters"
                    " (imports.max_cell_chars)"
                )
                unreadable.append(Problem(line, None, message))
                continue
        if isinstance(cells, Problem):
            unreadable.append(cells)
        elif not any(c.strip() for c in cells):
            continue
        elif table is None:
            table = _Table(line, cells)
            if not table.usable:
                break
        else:
            table.add_row(line, cells)
    ticker.finish()
    if table is None:
        raise ImportFailed(unreadable or [Problem(None, None, "empty file: no header row")])
    problems = sorted(table.problems + unreadable, key=lambda p: p.line or 0)
    default = _category(category)
    if default is None:
        problems.insert(0, Problem(None, None, _category_problem(category)))
    if problems:
        raise ImportFailed(problems)
    return table.library(default or category)


def _read_txt(text: str, group: str | None, category: str, progress: Progress | None) -> Library:
    problems: list[Problem] = []
    if group is None:
        problems.append(Problem(None, None, "a plain-text import needs a group name"))
    elif message := _name_problem(group):
        problems.append(Problem(None, None, message))
    if _category(category) is None:
        problems.append(Problem(None, None, _category_problem(category)))
    lines = _lines(text)
    ticker = _Ticker(progress, len(lines))
    words: list[str] = []
    first: dict[str, int] = {}
    for number, raw in enumerate(lines, 1):
        ticker(number)
        word = raw.strip()
        if not word or word.startswith("#"):
            continue
        if message := _text_problem(word, "word"):
            problems.append(Problem(number, None, message))
        elif word in first:
            message = f"duplicate word {word!r} (first on line {first[word]})"
            problems.append(Problem(number, None, message))
        else:
            first[word] = number
            words.append(word)
    ticker.finish()
    if problems:
        raise ImportFailed(problems)
    data = {"name": group, "category": _category(category), "words": words}
    return _validated({"groups": [data]}, lambda loc: None)


# --- YAML and JSON ----------------------------------------------------------------------------


def _read_document(
    text: str, fmt: Format, progress: Progress | None, limits: ImportLimits
) -> Library:
    ticker = _Ticker(progress, len(_lines(text)))
    root: yaml.Node | None = None
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _fail(f"JSON syntax error: {exc.msg} (column {exc.colno})", exc.lineno) from exc
        except RecursionError as exc:
            raise _fail("JSON nested too deeply to be a keyword library") from exc
    else:
        loader = _Loader(text)
        try:
            # Composing keeps the node tree, whose marks give the line of each value.
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = ", ".join(filter(None, (exc.context, exc.problem)))
            where = f" (column {mark.column + 1})" if mark else ""
            line = mark.line + 1 if mark else None
            raise _fail(f"YAML syntax error: {what}{where}", line) from exc
        except yaml.YAMLError as exc:
            raise _fail(f"YAML error: {exc}") from exc
        finally:
            loader.dispose()
    ticker.finish()
    if not isinstance(data, dict):
        raise _fail(f"expected a {fmt} mapping with groups and rules, found {type(data).__name__}")
    words = sum(len(g.get("words") or []) for g in data.get("groups") or [] if isinstance(g, dict))
    if words > limits.max_rows:
        raise _limit(f"too many keywords: {words}, over the limit of {limits.max_rows}", "max_rows")
    return _validated(data, lambda loc: _node_line(root, loc))


def _node_line(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest YAML node on the path ``loc`` (a pydantic error location)."""
    if root is None:
        return None
    node = root
    for key in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            child = node.value[key] if 0 <= key < len(node.value) else None
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _validated(
    data: dict[str, Any], line_of: Callable[[tuple[int | str, ...]], int | None]
) -> Library:
    try:
        return Library.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc, message = error["loc"], error["msg"]
            # The model's regular expressions mean nothing to an operator.
            if error["type"] == "string_pattern_mismatch" and loc[::2] == ("groups", "name"):
                message = _name_problem(error["input"]) or message
            if error["type"] == "string_pattern_mismatch" and loc[::2] == ("groups", "category"):
                message = _category_problem(error["input"])
            # YAML reads unquoted 110, 2024-01-01 or yes in a word list as number, date, bool.
            if error["type"] == "model_type" and not isinstance(error["input"], dict | list):
                message = f"{error['input']!r} is not text: put the word in quotes"
            problems.append(Problem(line_of(loc), None, f"{_location(data, loc)}: {message}"))
    raise ImportFailed(problems)


def _location(data: object, loc: tuple[int | str, ...]) -> str:
    """A readable path such as ``groups[2] (name 潼南地名).words[5].weight``."""
    parts: list[str] = []
    value: object = data
    for key in loc:
        if isinstance(key, int):
            parts.append(f"[{key}]")
            value = value[key] if isinstance(value, list) and 0 <= key < len(value) else None
            label = _label(value)
            parts.append(f" ({label})" if label else "")
        else:
            parts.append(f".{key}" if parts else key)
            value = value.get(key) if isinstance(value, dict) else None
    return "".join(parts)


def _label(item: object) -> str | None:
    """What names a list item for a person: a group's or rule's name, a word's text."""
    if isinstance(item, str):
        text = item
    elif isinstance(item, dict) and isinstance(item.get("name"), str):
        return f"name {item['name']}"
    elif isinstance(item, dict) and isinstance(item.get("text"), str):
        text = item["text"]
    else:
        return None
    return f"text {text[:20]}{'...' if len(text) > 20 else ''}" if text else None


# --- writing ----------------------------------------------------------------------------------


def _chosen_groups(library: Library, name: str | None, fmt: Format) -> list[Group]:
    if name is None:
        if fmt == "txt":
            raise ValueError("a txt export holds one group: name it")
        return library.groups
    chosen = library.group(name)
    if chosen is None:
        raise ValueError(f"no group named {name!r}")
    return [chosen]


def _unexportable(groups: Sequence[Group], fmt: Format) -> list[str]:
    """Why words could not be read back unchanged from ``fmt``, one line per word."""
    refused: list[str] = []
    for group in groups:
        if fmt != "txt" and group.category in _CATEGORY_BY_LABEL:
            label = group.category
            refused.append(
                f"group {group.name}: category {label} would read back as "
                f"{_CATEGORY_BY_LABEL[label]}"
            )
        seen: set[str] = set()
        for word in group.words:
            texts = [("word", word.text)]
            if fmt != "txt":
                texts += [("alias", alias) for alias in word.aliases]
            for what, text in texts:
                reason = _text_problem(text, what)
                if reason is None and text != text.strip():
                    reason = f"{what} has surrounding whitespace"
                if reason is None and what == "alias" and ALIAS_SEPARATOR in text:
                    reason = f"alias contains the separator {ALIAS_SEPARATOR}"
                if reason is None and fmt == "txt" and text.startswith("#"):
                    reason = "word starts with #, which marks a comment line"
                if reason is not None:
                    refused.append(f"group {group.name} word {word.text[:40]!r}: {reason}")
            if word.text in seen:
                refused.append(f"group {group.name} word {word.text[:40]!r}: duplicate")
            seen.add(word.text)
    return refused


def _rows(groups: Sequence[Group]) -> Iterator[tuple[str, str, str, float, int | None, str]]:
    for g in groups:
        for w in g.words:
            yield g.name, g.category, w.text, w.weight, w.level, ALIAS_SEPARATOR.join(w.aliases)


def _csv_bytes(groups: Sequence[Group]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(
        (
            cell(name),
            category,
            cell(text),
            _number(weight),
            "" if level is None else level,
            cell(aliases),
        )
        for name, category, text, weight, level, aliases in _rows(groups)
    )
    # The BOM makes Excel read the file as UTF-8 instead of the ANSI code page.
    return out.getvalue().encode("utf-8-sig")


def _xlsx_bytes(groups: Sequence[Group]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("keywords")
    # Write-only sheets lack the stored size (<dimension>), without which openpyxl's reader
    # parses the whole sheet an extra time; its writer takes the size from this method.
    count = sum(len(g.words) for g in groups) + 1
    sheet.calculate_dimension = lambda: f"A1:{get_column_letter(len(COLUMNS))}{count}"
    sheet.append(COLUMNS)
    for name, category, text, weight, level, aliases in _rows(groups):
        # openpyxl writes numbers with 16 significant digits; a weight needing 17 goes as text.
        exact = float(f"{weight:.16g}") == weight
        sheet.append(
            [
                cell(name) or None,
                category,
                cell(text) or None,
                weight if exact else repr(weight),
                level,
                cell(aliases) or None,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
