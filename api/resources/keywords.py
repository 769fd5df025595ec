"""``/api/keywords``: groups, rules, versions, import/export, live test and backtest.

Every change saves a new library version on top of the version the client read
(``parent``): if someone saved in between, the change is refused with 409 instead of
overwriting theirs. The changes are :mod:`keywords.operations` (validated, saved and
audited there); the functions below the views translate for them and are what the
console calls too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

from apiflask import APIBlueprint
from apiflask.fields import UploadFile
from flask import Response, current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field

from analysis.gazetteer import default as gazetteer
from api.auth import acting, actor, require
from api.context import parts
from api.errors import ApiError, refusals
from api.jobs import Job, jobs_of
from keywords import operations
from keywords.backtest import RuleImpact, backtest
from keywords.diff import LibraryDiff
from keywords.io import (
    Format,
    ImportFailed,
    check_size,
    detect_format,
    read_library,
    unpacked_size,
)
from keywords.io import write_library as write_file
from keywords.library import KeywordLibrary, compile_library
from keywords.live import LiveMatcher
from keywords.matcher import Matcher, fact_finder, run_rule_tests
from keywords.model import Group, Library, Options, Rule, Scope, Word
from keywords.places import read_places
from keywords.validate import InvalidLibrary, Problem, expression_problems
from rules.highlight import mark
from rules.syntax import group_names, parse
from store import Item, NotFound
from store.acting import Acting
from store.model import LibraryVersion

bp = APIBlueprint("keywords", __name__, tag="keywords")

# Larger uploads (an .xlsx by its unpacked size) are read in a background job the client
# polls for progress, never in a request thread.
BACKGROUND_BYTES = 256 * 1024
MAX_TEST_TEXT = 10_000
MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "txt": "text/plain",
    "yaml": "application/yaml",
    "json": "application/json",
}
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the file, in the requested format",
        "content": {m: {} for m in MIME.values()},
    },
    400: {"description": "Bad request"},
    404: {"description": "Unknown group or version"},
}
DRAFT = "(draft)"  # the name a rule being edited is tested under


# --- schemas ----------------------------------------------------------------------------------


MAX_VERSION = 2**31 - 1  # beyond what a store can hold; keeps SQLite from overflowing
Version = Annotated[
    int, Field(ge=0, le=MAX_VERSION, description="the library version this change builds on")
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Parent(BaseModel):
    parent: Version


class GroupCreate(Group):
    parent: Version


class OptionsPatch(_In):
    """Variant options to change; those left out stay as they are."""

    enclosed: bool | None = None
    noise: Literal["off", "cjk", "latin", "brackets"] | None = None
    lookalikes: bool | None = None
    repeats: bool | None = None
    pinyin: bool | None = None
    homophones: bool | None = None
    split: bool | None = None


class GroupUpdate(_In):
    parent: Version
    category: str | None = Field(None, pattern=r"^[\w-]{1,32}$")
    enabled: bool | None = None
    description: str | None = None
    options: OptionsPatch | None = Field(None, description="variant options to change")
    add: list[Word | str] = Field(default_factory=list, description="words to add")
    remove: list[str] = Field(default_factory=list, description="texts of words to remove")
    paste: str = Field("", description="many words, one per line (a pasted list)")


class RuleCreate(Rule):
    parent: Version


class RuleUpdate(_In):
    parent: Version
    name: str | None = Field(None, min_length=1, max_length=100)
    expression: str | None = Field(None, min_length=1, max_length=10_000)
    scope: Scope | None = None
    severity: Literal["info", "warning", "critical"] | None = None
    enabled: bool | None = None
    owner: str | None = None
    description: str | None = None
    must_match: list[str] | None = None
    must_not_match: list[str] | None = None


class ExpressionIn(_In):
    expression: str = Field(max_length=10_000)


class LiveTestIn(_In):
    text: str = Field(min_length=1, max_length=MAX_TEST_TEXT, description="title and body")
    expression: str | None = Field(
        None, max_length=10_000, description="test this draft rule instead of the library"
    )
    scope: Scope = "both"
    overlaps: Literal["all", "longest"] = Field(
        "all", description="report all hits, or the leftmost-longest where words overlap"
    )


class GroupTestIn(_In):
    text: str = Field(min_length=1, max_length=MAX_TEST_TEXT)
    options: OptionsPatch | None = Field(
        None, description="try these variant options (unsaved) instead of the group's"
    )


class HistoryQuery(BaseModel):
    limit: int = Field(50, ge=1, le=500)


class DiffQuery(BaseModel):
    old: int = Field(ge=0, le=MAX_VERSION)
    new: int = Field(ge=0, le=MAX_VERSION)


class ImportForm(BaseModel):
    file: UploadFile
    parent: Version
    mode: Literal["add", "replace"] = "add"
    dry_run: bool = False
    group: str | None = Field(None, description="target group of a .txt word list")
    category: str = "subject"


class ExportQuery(BaseModel):
    format: Format = "yaml"
    group: str | None = None
    version: int | None = Field(None, ge=0, le=MAX_VERSION)


class BacktestIn(_In):
    days: int = Field(7, ge=1, le=90)
    examples: int = Field(3, ge=0, le=20)
    rule: Rule | None = Field(None, description="a changed or new rule, in the current library")
    replaces: str | None = Field(None, description="the rule's name before a rename")
    library: Library | None = Field(None, description="a whole proposed library")


# --- groups -----------------------------------------------------------------------------------


@bp.get("/keywords/groups")
@bp.doc(summary="List keyword groups (without their words)")
@require("viewer")
def list_groups() -> Response:
    version, library = parts().library.current()
    groups = [{**_group_data(x, words=False), "word_count": len(x.words)} for x in library.groups]
    return jsonify(version=version, groups=groups)


@bp.get("/keywords/groups/<group_id>")
@bp.doc(summary="A keyword group with its words", responses=[404])
@require("viewer")
def get_group(group_id: str) -> Response:
    version, library = parts().library.current()
    return jsonify(version=version, group=_group_data(find_group(library, group_id)))


@bp.post("/keywords/groups")
@bp.input(GroupCreate, location="json")
@bp.doc(summary="Create a group (a new library version)", responses=[201, 400, 409])
@require("operator")
def create_group(json_data: GroupCreate) -> tuple[Response, int]:
    saved, group = add_group(json_data)
    return jsonify(version=saved.version, group=group), 201


@bp.patch("/keywords/groups/<group_id>")
@bp.input(GroupUpdate, location="json")
@bp.doc(
    summary="Change a group: settings, add/remove words, paste a word list",
    responses=[400, 404, 409],
)
@require("operator")
def update_group(group_id: str, json_data: GroupUpdate) -> Response:
    saved, group = change_group(group_id, json_data)
    return jsonify(version=saved.version, group=group)


@bp.delete("/keywords/groups/<group_id>")
@bp.input(Parent, location="query")
@bp.doc(summary="Delete a group (refused while a rule uses it)", responses=[400, 404, 409])
@require("operator")
def delete_group(group_id: str, query_data: Parent) -> Response:
    saved = remove_group(group_id, query_data.parent)
    return jsonify(version=saved.version)


# --- rules ------------------------------------------------------------------------------------


@bp.get("/keywords/rules")
@bp.doc(summary="List rules")
@require("viewer")
def list_rules() -> Response:
    version, library = parts().library.current()
    return jsonify(version=version, rules=[_rule_data(r) for r in library.rules])


@bp.get("/keywords/rules/<rule_id>")
@bp.doc(summary="A rule", responses=[404])
@require("viewer")
def get_rule(rule_id: str) -> Response:
    version, library = parts().library.current()
    return jsonify(version=version, rule=_rule_data(find_rule(library, rule_id)))


@bp.post("/keywords/rules")
@bp.input(RuleCreate, location="json")
@bp.doc(
    summary="Create a rule; a bad expression is a 400 naming its position",
    responses=[201, 400, 409],
)
@require("operator")
def create_rule(json_data: RuleCreate) -> tuple[Response, int]:
    saved, rule = add_rule(json_data)
    return jsonify(version=saved.version, rule=rule), 201


@bp.patch("/keywords/rules/<rule_id>")
@bp.input(RuleUpdate, location="json")
@bp.doc(summary="Change a rule (fields left out stay as they are)", responses=[400, 404, 409])
@require("operator")
def update_rule(rule_id: str, json_data: RuleUpdate) -> Response:
    saved, rule = change_rule(rule_id, json_data)
    return jsonify(version=saved.version, rule=rule)


@bp.delete("/keywords/rules/<rule_id>")
@bp.input(Parent, location="query")
@bp.doc(summary="Delete a rule", responses=[404, 409])
@require("operator")
def delete_rule(rule_id: str, query_data: Parent) -> Response:
    saved = remove_rule(rule_id, query_data.parent)
    return jsonify(version=saved.version)


@bp.get("/keywords/rules/<rule_id>/tests")
@bp.doc(summary="Run a rule's test sentences", responses=[404])
@require("viewer")
def rule_tests(rule_id: str) -> Response:
    version, library = parts().library.current()
    rule = find_rule(library, rule_id)
    return jsonify(
        version=version, rule=rule.name, id=rule.id, results=rule_test_results(library, rule_id)
    )


# --- checking and testing ---------------------------------------------------------------------


@bp.post("/keywords/groups/<group_id>/test")
@bp.input(GroupTestIn, location="json")
@bp.doc(
    summary="Where a group's words (and their variants) occur in a text, and which variant",
    responses=[404],
)
@require("viewer")
def test_group(group_id: str, json_data: GroupTestIn) -> Response:
    return jsonify(run_group_test(group_id, json_data))


@bp.post("/keywords/validate-expression")
@bp.input(ExpressionIn, location="json")
@bp.doc(summary="Check a rule expression against the current groups (for inline errors)")
@require("viewer")
def validate_expression(json_data: ExpressionIn) -> Response:
    return jsonify(check_expression(json_data.expression))


@bp.post("/keywords/test")
@bp.input(LiveTestIn, location="json")
@bp.doc(summary="Which rules a text matches, and where (hits and escaped <mark> HTML)")
@require("viewer")
def live_test(json_data: LiveTestIn) -> Response:
    return jsonify(run_live_test(json_data))


# --- versions ---------------------------------------------------------------------------------


@bp.get("/keywords/versions")
@bp.input(HistoryQuery, location="query")
@bp.doc(summary="Saved library versions, newest first")
@require("viewer")
def list_versions(query_data: HistoryQuery) -> Response:
    history = parts().store.library.history(query_data.limit)
    return jsonify(versions=[_version_data(v) for v in history])


@bp.get(f"/keywords/versions/<int(max={MAX_VERSION}):version>")
@bp.doc(summary="One saved version with its library", responses=[404])
@require("viewer")
def get_version(version: int) -> Response:
    saved = parts().store.library.get(version)
    if saved is None:
        raise ApiError(404, f"no library version {version}", field="version")
    return jsonify(_version_data(saved) | {"library": saved.data})


@bp.get("/keywords/diff")
@bp.input(DiffQuery, location="query")
@bp.doc(summary="What changed from version old to version new", responses=[404])
@require("viewer")
def diff_versions(query_data: DiffQuery) -> Response:
    return jsonify(version_diff(query_data.old, query_data.new))


@bp.post(f"/keywords/versions/<int(max={MAX_VERSION}):version>/rollback")
@bp.input(Parent, location="json")
@bp.doc(summary="Make a past version current again, as a new version", responses=[201, 404, 409])
@require("operator")
def rollback(version: int, json_data: Parent) -> tuple[Response, int]:
    saved = restore_version(version, json_data.parent)
    return jsonify(_version_data(saved)), 201


# --- import, export, backtest -----------------------------------------------------------------


@bp.post("/keywords/import")
@bp.input(ImportForm, location="form_and_files")
@bp.doc(
    summary="Import a CSV/XLSX/TXT/YAML/JSON file (dry_run: only show the diff)",
    description="Small files answer at once (400 lists every bad line); larger ones start "
    "a background job (202, poll the Location).",
    responses=[200, 201, 202, 400, 409],
)
@require("operator")
def import_file(form_and_files_data: ImportForm) -> tuple[Response, int]:
    outcome = start_import(form_and_files_data)
    if isinstance(outcome, Job):
        return job_response(outcome)
    return jsonify(outcome), 200 if form_and_files_data.dry_run else 201


class PlacesForm(BaseModel):
    file: UploadFile
    parent: Version


@bp.post("/keywords/places/import")
@bp.input(PlacesForm, location="form_and_files")
@bp.doc(
    summary="Import operators' places (CSV/XLSX: name, parent code, kind, aliases)",
    description="Each place is filed under an administrative code (given as "
    "`<parent>-<n>`) for place recognition and `region:`; a 400 lists every bad line and "
    "nothing is imported.",
    responses=[201, 400, 409],
)
@require("operator")
def import_places_file(form_and_files_data: PlacesForm) -> tuple[Response, int]:
    form = form_and_files_data
    try:
        fmt = detect_format(form.file.filename or "")
        incoming = read_places(form.file.read(), fmt, gazetteer(), parts().import_limits)
    except ImportFailed as e:
        raise _import_error(e, "file") from e
    except ValueError as e:
        raise ApiError(400, str(e), field="file") from e
    details = {"filename": form.file.filename, "places": len(incoming)}
    with _refused("file"):
        change = operations.import_places(acting(), incoming, parent=form.parent, details=details)
    _version, library = parts().library.current()
    codes = {(p.name, p.parent): p.code for p in library.places}
    body = {
        "version": change.version.version,
        "places": [{"code": codes[p.name, p.parent], "name": p.name} for p in incoming],
    }
    return jsonify(body), 201


@bp.get("/keywords/export")
@bp.input(ExportQuery, location="query")
@bp.doc(summary="Download the library (or one group) as a file", responses=EXPORT_RESPONSES)
@require("viewer")
def export(query_data: ExportQuery) -> Response:
    filename, data = export_file(query_data)
    disposition = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(
        data, mimetype=MIME[query_data.format], headers={"Content-Disposition": disposition}
    )


@bp.post("/keywords/backtest")
@bp.input(BacktestIn, location="json")
@bp.doc(
    summary="What a changed rule or library would add and remove over the last days",
    description="A background job (202, poll the Location); its result lists each rule.",
    responses=[202, 400],
)
@require("operator")
def start_backtest(json_data: BacktestIn) -> tuple[Response, int]:
    return job_response(backtest_job(json_data))


def job_response(job: Job) -> tuple[Response, int]:
    response = jsonify(job.public())
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return response, 202


# --- the changes (the console calls these too): adapters over keywords.operations -------------


def add_group(data: GroupCreate) -> tuple[LibraryVersion, dict[str, Any]]:
    group = Group.model_validate(data.model_dump(exclude={"parent", "id"}))
    with _refused():
        change = operations.create_group(acting(), group, parent=data.parent)
    return change.version, _after(change)


def change_group(key: str, data: GroupUpdate) -> tuple[LibraryVersion, dict[str, Any]]:
    """Change the group ``key`` (its id, or its name)."""
    words: list[Word | str] = list(data.add)
    if data.paste.strip():
        words += pasted_words(data.paste, "pasted")
    settings = data.model_dump(exclude={"parent", "add", "remove", "paste"}, exclude_none=True)
    with _refused():
        change = operations.update_group(
            acting(), key, parent=data.parent, settings=settings, add=words, remove=data.remove
        )
    return change.version, _after(change)


def pasted_words(text: str, group: str) -> list[Word]:
    """Words pasted one per line; 400 naming every bad line."""
    try:
        return read_library(text.encode(), "txt", group=group).groups[0].words
    except ImportFailed as e:
        raise _import_error(e, "paste") from e


def remove_group(key: str, parent: int) -> LibraryVersion:
    with _refused():
        return operations.delete_group(acting(), key, parent=parent).version


def add_rule(data: RuleCreate) -> tuple[LibraryVersion, dict[str, Any]]:
    rule = Rule.model_validate(data.model_dump(exclude={"parent", "id"}))
    with _refused():
        change = operations.create_rule(acting(), rule, parent=data.parent)
    return change.version, _after(change)


def change_rule(key: str, data: RuleUpdate) -> tuple[LibraryVersion, dict[str, Any]]:
    """Change the rule ``key`` (its id, or its name)."""
    fields = data.model_dump(exclude={"parent"}, exclude_none=True)
    with _refused():
        change = operations.update_rule(acting(), key, fields, parent=data.parent)
    return change.version, _after(change)


def remove_rule(key: str, parent: int) -> LibraryVersion:
    with _refused():
        return operations.delete_rule(acting(), key, parent=parent).version


def restore_version(version: int, parent: int) -> LibraryVersion:
    with _refused():
        return operations.rollback(acting(), version, parent=parent)


@contextmanager
def _refused(field: str | None = None) -> Iterator[None]:
    """A refused library change as the API answers it: a problem of the library it would
    make is a 400 naming the input it is about (or ``field``)."""
    try:
        with refusals():
            yield
    except InvalidLibrary as e:
        raise _invalid(e, field) from e


def _after(change: operations.Change) -> dict[str, Any]:
    assert change.after is not None  # a created or changed group or rule
    return change.after


def check_expression(expression: str) -> dict[str, Any]:
    """Problems of ``expression`` over the current groups, the first one's position, and
    the groups it uses."""
    version, library = parts().library.current()
    problems = expression_problems(expression, {x.name: x for x in library.groups})
    first = problems[0] if problems else None
    try:
        groups = sorted(group_names(parse(expression)))
    except ValueError:
        groups = []
    return {
        "version": version,
        "valid": not problems,
        "detail": first.message if first else "",
        "position": first.position if first else None,
        "problems": [_problem_data(p) for p in problems],
        "groups": groups,
    }


def run_live_test(data: LiveTestIn) -> dict[str, Any]:
    """Match ``data.text`` (as title and body) against the library, or a draft rule."""
    version, library = parts().library.current()
    if data.expression is None:
        matcher = _live_matcher()
    else:
        problems = expression_problems(data.expression, {x.name: x for x in library.groups})
        if problems:
            p = problems[0]
            raise ApiError(400, p.message, field="expression", position=p.position)
        draft = Rule(name=DRAFT, expression=data.expression, scope=data.scope)
        matcher = Matcher(_rule_library(library, draft), version)
    # A rule on region: or sentiment: is tested on what analysis finds in the text.
    facts = fact_finder(matcher)(data.text)
    result = matcher.match(data.text, data.text, overlaps=data.overlaps, explain=True, facts=facts)
    return {
        "version": matcher.version,
        "rules": result.rules,
        "severity": result.severity,
        "hits": result.hits,
        "marked": str(mark(data.text, [(h["start"], h["end"]) for h in result.hits])),
    }


def run_group_test(key: str, data: GroupTestIn) -> dict[str, Any]:
    """Where the words of group ``key`` (id or name) occur in ``data.text``, each hit
    naming the variant that matched (``variant``: None for the word as written);
    ``data.options`` tries other options before saving them."""
    version, library = parts().library.current()
    group = find_group(library, key).model_copy(update={"enabled": True})
    if data.options is not None:
        group.options = Options.model_validate(
            group.options.model_dump() | data.options.model_dump(exclude_none=True)
        )
    rule = Rule(name=DRAFT, expression=f"@{group.name}", overlaps="longest")
    result = Matcher(Library(groups=[group], rules=[rule]), version).match(
        "", data.text, explain=True
    )
    return {
        "version": version,
        "options": group.options.model_dump(),
        "hits": [
            {k: v for k, v in h.items() if k != "rule"}
            for h in sorted(result.hits, key=lambda h: (h["field"], h["start"]))
        ],
        "marked": str(mark(data.text, [(h["start"], h["end"]) for h in result.hits])),
    }


def rule_test_results(library: Library, key: str) -> list[dict[str, Any]]:
    """Each test sentence of the rule ``key`` (id or name): what it should do and whether
    it does."""
    rule = find_rule(library, key).model_copy(update={"enabled": True})
    failures = {(s, o) for _, s, o in run_rule_tests(Matcher(_rule_library(library, rule)))}
    return [
        {"sentence": s, "expected": outcome, "ok": (s, outcome) not in failures}
        for sentences, outcome in (
            (rule.must_match, "should match"),
            (rule.must_not_match, "should not match"),
        )
        for s in sentences
    ]


def version_diff(old: int, new: int) -> dict[str, Any]:
    try:
        changes = parts().library.diff(old, new)
    except NotFound as e:
        raise ApiError(404, str(e)) from e
    return {"old": old, "new": new} | diff_data(changes)


def diff_data(changes: LibraryDiff) -> dict[str, Any]:
    return {"lines": changes.lines(), "summary": changes.summary(), "changes": asdict(changes)}


def start_import(form: ImportForm) -> dict[str, Any] | Job:
    """Import the uploaded file, or a job doing it if the file is large."""
    try:
        fmt = detect_format(form.file.filename or "")
    except ValueError as e:
        raise ApiError(400, str(e), field="file") from e
    if fmt != "txt" and form.group:
        raise ApiError(400, "only a .txt word list is imported into a named group", field="group")
    data = form.file.read()
    try:
        check_size(data, fmt, parts().import_limits)  # a bomb is refused here, at once
    except ImportFailed as e:
        raise _import_error(e, "file") from e
    who = acting()  # the job's change is audited as the user who started it
    if unpacked_size(data, fmt) <= BACKGROUND_BYTES:
        return import_data(who, data, fmt, form, None)
    return jobs_of(current_app).start(
        "keywords.import", who.actor, lambda job: import_data(who, data, fmt, form, job.progress)
    )


def import_data(
    who: Acting,
    data: bytes,
    fmt: Format,
    form: ImportForm,
    progress: Callable[[int, int], object] | None,
) -> dict[str, Any]:
    try:
        incoming = read_library(
            data,
            fmt,
            group=form.group if fmt == "txt" else None,
            category=form.category,
            progress=progress,
            limits=parts().import_limits,
        )
    except ImportFailed as e:
        raise _import_error(e, "file") from e
    except ValueError as e:
        raise ApiError(400, str(e), field="file") from e
    summary = {
        "filename": form.file.filename,
        "mode": form.mode,
        "groups": len(incoming.groups),
        "words": sum(len(x.words) for x in incoming.groups),
        "rules": len(incoming.rules),
    }
    with _refused("file"):
        if form.dry_run:
            _merged, changes = operations.preview_import(
                KeywordLibrary(who.store), incoming, parent=form.parent, mode=form.mode
            )
            return {"dry_run": True, "parent": form.parent, "import": summary} | diff_data(changes)
        change = operations.import_library(
            who, incoming, parent=form.parent, mode=form.mode, details=summary
        )
    version = change.version.version
    return {"dry_run": False, "version": version, "import": summary} | diff_data(change.changes)


def export_file(query: ExportQuery) -> tuple[str, bytes]:
    """The file name and content of an export."""
    library = parts().library
    try:
        if query.version is None:
            version, data = library.current()
        else:
            version, data = query.version, library.at(query.version)
    except NotFound as e:
        raise ApiError(404, str(e), field="version") from e
    try:
        content = write_file(data, query.format, group=query.group or None)
    except ValueError as e:
        raise ApiError(400, str(e), field="group" if query.group else "format") from e
    stem = f"keywords-v{version}" + (f"-{query.group}" if query.group else "")
    return f"{stem}.{query.format}", content


def proposed_library(data: BacktestIn, current: Library) -> Library:
    """The library a backtest compares with ``current``."""
    if (data.rule is None) == (data.library is None):
        raise ApiError(400, "send either a rule or a whole library", field="rule")
    if data.library is not None:
        proposed = data.library
    else:
        assert data.rule is not None
        proposed = current.model_copy(deep=True)
        old = proposed.rule(data.replaces or data.rule.name)
        if old is None:
            proposed.rules.append(data.rule)
        else:
            proposed.rules[proposed.rules.index(old)] = data.rule
    try:
        compile_library(proposed)
    except InvalidLibrary as e:
        raise _invalid(e, "library" if data.library is not None else None) from e
    return proposed


def backtest_job(data: BacktestIn) -> Job:
    version, current = parts().library.current()
    proposed = proposed_library(data, current)
    store, now = parts().store, parts().now()

    def work(job: Job) -> dict[str, Any]:
        # Rule by rule, so the job can say how far it is.
        names = list(dict.fromkeys([r.name for r in current.rules + proposed.rules]))
        impacts: list[RuleImpact] = []
        for done, name in enumerate(names):
            job.progress(done, len(names))
            impacts += backtest(
                store,
                _only_rule(current, name),
                _only_rule(proposed, name),
                days=data.days,
                now=now,
                examples=data.examples,
            )
        job.progress(len(names), len(names))
        return {
            "version": version,
            "days": data.days,
            "since": (now - timedelta(days=data.days)).isoformat(),
            "rules": [_impact_data(i) for i in impacts],
        }

    return jobs_of(current_app).start("keywords.backtest", actor(), work)


# --- helpers ----------------------------------------------------------------------------------


def _live_matcher() -> Matcher:
    """The current version compiled, kept per app and recompiled only when it changes."""
    live = current_app.extensions.get("yuqing.keywords.live")
    if live is None:
        live = current_app.extensions["yuqing.keywords.live"] = LiveMatcher(parts().store)
    else:
        live.refresh()
    matcher: Matcher = live.matcher
    return matcher


def _rule_library(library: Library, rule: Rule) -> Library:
    """Only ``rule`` and the groups it uses, quick to compile for one test. The groups are
    enabled: a disabled rule may use disabled groups, and its tests still run."""
    used = group_names(parse(rule.expression))
    groups = [x.model_copy(update={"enabled": True}) for x in library.groups if x.name in used]
    return Library(groups=groups, rules=[rule])


def _only_rule(library: Library, name: str) -> Library:
    rule = library.rule(name)
    return _rule_library(library, rule) if rule is not None else Library()


def find_group(library: Library, key: str) -> Group:
    """The group whose id (or else name) is ``key``, or 404."""
    with refusals():
        return operations.find_group(library, key)


def find_rule(library: Library, key: str) -> Rule:
    """The rule whose id (or else name) is ``key``, or 404."""
    with refusals():
        return operations.find_rule(library, key)


def _group_data(group: Group, *, words: bool = True) -> dict[str, Any]:
    data = operations.group_data(group)
    if not words:
        del data["words"]
    return data


_rule_data = operations.rule_data


def _version_data(v: LibraryVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "parent": v.parent,
        "author": v.author,
        "created": v.created.isoformat(),
        "message": v.message,
        "summary": v.summary,
    }


def _item_data(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "url": item.url,
        "first_seen": item.first_seen.isoformat(),
    }


def _impact_data(impact: RuleImpact) -> dict[str, Any]:
    data = asdict(impact)
    data["added_examples"] = [_item_data(i) for i in impact.added_examples]
    data["removed_examples"] = [_item_data(i) for i in impact.removed_examples]
    return data


def _problem_data(p: Problem) -> dict[str, Any]:
    return {"where": p.where, "message": p.message, "position": p.position}


def _problem_field(p: Problem) -> str | None:
    """The input of a rule or group edit a library problem is about."""
    if p.where.endswith(", expression"):
        return "expression"
    if p.message in ("should match", "should not match"):
        return "must_match" if p.message == "should match" else "must_not_match"
    if p.where.startswith("group "):
        return "words"
    if p.message.startswith("the name is used"):
        return "name"
    return None


def _invalid(e: InvalidLibrary, field: str | None = None) -> ApiError:
    first = e.problems[0]
    more = f" (and {len(e.problems) - 1} more problems)" if len(e.problems) > 1 else ""
    return ApiError(
        400,
        f"{first}{more}",
        field=field or _problem_field(first),
        position=first.position,
        problems=[_problem_data(p) for p in e.problems],
    )


def _import_error(e: ImportFailed, field: str) -> ApiError:
    problems = [{"line": p.line, "column": p.column, "message": p.message} for p in e.problems]
    return ApiError(413 if e.too_large else 400, str(e), field=field, problems=problems)
