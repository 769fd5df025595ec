"""``/api/sources``: the crawl source registry with each source's health, "run now", run
history and "test this source".

URLs people add are checked (:mod:`crawler.preview`): http(s) only, and no private,
loopback or link-local host unless an admin sets ``allow_private`` for that source (which
the audit records). A URL already accepted for the source is not checked again on edit.
Every change is an operation of :mod:`crawler.operations` (validated and audited there);
the console's source pages call the functions here.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from apiflask import APIBlueprint
from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from api.auth import acting, require
from api.context import parts
from api.errors import ApiError, refusals
from api.reports import HEALTH_RUNS, health_row, run_row
from crawler import operations
from crawler.preview import preview
from crawler.sources import validate
from store.codec import to_doc
from store.model import Source

bp = APIBlueprint("sources", __name__, tag="sources")

HISTORY = 50
PREVIEW_MAX = 10


class SourceIn(BaseModel):
    """A source as an admin writes it (see the README for the fields)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    type: Literal["feed", "list", "sitemap", "page"]
    start_urls: list[str] = Field(min_length=1, max_length=50)
    interval: int = Field(description="seconds between runs, at least 60")
    tags: list[str] = Field(default_factory=list)
    region: str = Field("", max_length=100)
    encoding: str | None = None
    selectors: dict[str, str] = Field(default_factory=dict)
    robots: Literal["obey", "ignore"] = "obey"
    enabled: bool = True
    max_pages: int = 10
    render: bool = Field(
        False,
        description="render its pages in Chromium (JavaScript run) before extraction; "
        "slower, for sites that build their articles in script",
    )
    allow_private: bool | None = Field(
        None,
        description="allow private, loopback and link-local hosts (e.g. the demo site); "
        "on update, leaving it out keeps the source's setting",
    )
    version: str | None = Field(None, description="on update: the version read (conflict check)")


class PreviewIn(SourceIn):
    id: str = Field("preview", min_length=1, max_length=64)
    limit: int = Field(3, ge=1, le=PREVIEW_MAX, description="articles to extract")


def _source(data: SourceIn) -> Source:
    """The source ``data`` describes, as the operations take it (validated there)."""
    values = data.model_dump(exclude={"allow_private", "limit"})
    values["start_urls"] = [u.strip() for u in values["start_urls"]]
    values["tags"] = [t.strip() for t in values["tags"] if t.strip()]
    values["encoding"] = (values["encoding"] or "").strip() or None
    return Source(**values)


def find(source_id: str) -> Source:
    source = parts().store.sources.get(source_id)
    if source is None:
        raise ApiError(404, f"no source {source_id!r}", field="id")
    return source


def listing() -> list[dict[str, Any]]:
    """Every source with its health, by id."""
    store = parts().store
    sources = store.sources.list()
    runs = store.runs.recent_many([s.id for s in sources], HEALTH_RUNS)
    return [health_row(s, runs[s.id]) for s in sources]


def detail(
    source_id: str, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """One source: its settings, health and recent runs, or (with ``since`` and
    ``until``) every run started in that period, as a report counts them."""
    source = find(source_id)
    store = parts().store
    runs = store.runs.recent(source.id, HISTORY)
    row = health_row(source, runs)
    row["source"] = to_doc(source) | {"version": source.version}
    if since is not None and until is not None:
        runs = store.runs.between(source.id, since, until)
    row["history"] = [run_row(r) for r in runs]
    return row


def create(data: SourceIn) -> Source:
    with refusals():
        return operations.create_source(acting(), _source(data), allow_private=data.allow_private)


def update(source_id: str, data: SourceIn) -> Source:
    with refusals():
        return operations.update_source(
            acting(), source_id, _source(data), allow_private=data.allow_private
        )


def delete(source_id: str) -> None:
    with refusals():
        operations.delete_source(acting(), source_id)


def run_now(source_id: str) -> None:
    """Start a run of the source now, the scheduler's way; 409 if one is in progress."""
    who, runner = acting(), parts().run_now
    with refusals():
        operations.request_run(who, source_id, lambda sid: runner.start(sid, who.now()))


def test_source(data: PreviewIn) -> dict[str, Any]:
    """What the source would yield now; nothing is stored."""
    with refusals():
        source = validate(_source(data))
        found = preview(
            source,
            parts().now(),
            allow_private=bool(data.allow_private),
            limit=data.limit,
            settings=parts().crawl_settings,
        )
    result = asdict(found)
    for article in result["articles"]:
        when = article["publish_time"]
        article["publish_time"] = when.isoformat() if when else None
    return result


# -- endpoints -----------------------------------------------------------------------


@bp.get("/sources")
@bp.doc(summary="Sources with their health (last success, failures, yield, parse, blocked)")
@require("viewer")
def list_sources() -> Response:
    return jsonify(sources=listing())


@bp.post("/sources")
@bp.input(SourceIn, location="json")
@bp.doc(summary="Add a source", responses=[201, 400, 409])
@require("admin")
def create_source(json_data: SourceIn) -> tuple[Response, int]:
    source = create(json_data)
    return jsonify(detail(source.id)), 201


@bp.post("/sources/preview")
@bp.input(PreviewIn, location="json")
@bp.doc(summary="Test a source: fetch its start URL and extract the first articles, store nothing")
@require("admin")
def preview_source(json_data: PreviewIn) -> Response:
    return jsonify(test_source(json_data))


@bp.get("/sources/<source_id>")
@bp.doc(summary="A source, its health and its recent runs", responses=[404])
@require("viewer")
def show_source(source_id: str) -> Response:
    return jsonify(detail(source_id))


@bp.put("/sources/<source_id>")
@bp.input(SourceIn, location="json")
@bp.doc(summary="Replace a source's settings", responses=[400, 404, 409])
@require("admin")
def update_source(source_id: str, json_data: SourceIn) -> Response:
    update(source_id, json_data)
    return jsonify(detail(source_id))


@bp.delete("/sources/<source_id>")
@bp.doc(summary="Remove a source (its runs and items stay)", responses=[204, 404])
@require("admin")
def delete_source(source_id: str) -> tuple[str, int]:
    delete(source_id)
    return "", 204


@bp.post("/sources/<source_id>/run")
@bp.doc(summary="Run the source now, as the scheduler would", responses=[202, 404, 409])
@require("operator")
def run_source(source_id: str) -> tuple[Response, int, dict[str, str]]:
    run_now(source_id)
    location = f"/api/sources/{source_id}/runs"
    return jsonify(source=source_id, state="started", runs=location), 202, {"Location": location}


@bp.get("/sources/<source_id>/runs")
@bp.doc(summary="The source's runs, newest first", responses=[404])
@require("viewer")
def source_runs(source_id: str) -> Response:
    find(source_id)
    runs = parts().store.runs.recent(source_id, HISTORY)
    running = parts().run_now.busy(source_id, parts().now())
    return jsonify(source=source_id, running=running, runs=[run_row(r) for r in runs])
