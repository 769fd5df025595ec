"""``/api/discovery``: what the library does not know yet. The latest report (emerging
terms, unmatched clusters, suggestions), a run on demand (a background job), a
suggestion's backtest preview, accepting a suggestion (the keyword operation that adds a
word to a group) and dismissing one (remembered until the term bursts again)."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field

from api.auth import acting, actor, require
from api.context import parts
from api.errors import ApiError
from api.jobs import Job, jobs_of
from api.resources.keywords import MAX_VERSION, _refused, job_response
from monitor.discovery import operations
from monitor.discovery.run import run_and_save
from monitor.discovery.suggest import PREVIEW_DAYS, preview

bp = APIBlueprint("discovery", __name__, tag="discovery")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcceptIn(_In):
    group: str = Field(min_length=1, max_length=64, description="the group the word joins")
    parent: int = Field(ge=0, le=MAX_VERSION, description="the library version read")


class DismissIn(_In):
    window_df: int | None = Field(
        None, ge=0, description="items holding it now (default: as in the latest report)"
    )


class PreviewQuery(_In):
    group: str | None = Field(None, max_length=64, description="the group it would join")
    days: int = Field(PREVIEW_DAYS, ge=1, le=30)


def latest() -> dict[str, Any] | None:
    report = parts().store.discovery.latest_report()
    return None if report is None else report.data


@bp.get("/discovery")
@bp.doc(summary="The latest discovery report: emerging terms, unmatched clusters, suggestions")
@require("viewer")
def get_report() -> Response:
    report = latest()
    dismissed = [
        {"term": d.term, "actor": d.actor, "time": d.time.isoformat(), "window_df": d.window_df}
        for d in parts().store.discovery.dismissals()
    ]
    return jsonify(report=report, dismissed=dismissed)


@bp.post("/discovery/run")
@bp.doc(
    summary="Run discovery now (a background job; poll the Location)",
    description="The report becomes the latest, as the hourly run's does.",
    responses=[202],
)
@require("operator")
def run_now() -> tuple[Response, int]:
    return job_response(_run_job())


def _run_job() -> Job:
    store, now, settings = parts().store, parts().now(), parts().discovery

    def work(job: Job) -> dict[str, Any]:
        report = run_and_save(store, now=now, settings=settings)
        return {
            "terms": len(report.terms),
            "clusters": len(report.clusters),
            "suggestions": len(report.suggestions),
            "seconds": report.seconds,
        }

    return jobs_of(current_app).start("discovery.run", actor(), work)


@bp.get("/discovery/terms/<term>/preview")
@bp.input(PreviewQuery, location="query")
@bp.doc(
    summary="What adding the term (to a group) would have matched over the last days",
    responses=[400, 404],
)
@require("viewer")
def get_preview(term: str, query_data: PreviewQuery) -> Response:
    term = operations.check_term(term)
    _, library = parts().library.current()
    if query_data.group is not None and library.group(query_data.group) is None:
        raise ApiError(404, f"no group {query_data.group}", field="group")
    result = preview(
        parts().store, library, term, query_data.group, now=parts().now(), days=query_data.days
    )
    return jsonify(term=term, group=query_data.group, preview=result.to_data())


@bp.post("/discovery/terms/<term>/accept")
@bp.input(AcceptIn, location="json")
@bp.doc(
    summary="Add the term to a group (a new library version, audited)", responses=[400, 404, 409]
)
@require("operator")
def accept(term: str, json_data: AcceptIn) -> Response:
    with _refused("group"):
        change = operations.accept(acting(), term, json_data.group, parent=json_data.parent)
    return jsonify(version=change.version.version, group=change.after)


@bp.post("/discovery/terms/<term>/dismiss")
@bp.input(DismissIn, location="json")
@bp.doc(summary="Do not suggest the term again unless it bursts again", responses=[400])
@require("operator")
def dismiss(term: str, json_data: DismissIn) -> Response:
    window_df = json_data.window_df
    if window_df is None:
        found = [t for t in (latest() or {}).get("terms", []) if t["term"] == term]
        window_df = found[0]["window_df"] if found else 0
    saved = operations.dismiss(acting(), term, window_df=window_df)
    return jsonify(term=saved.term, window_df=saved.window_df, time=saved.time.isoformat())


@bp.delete("/discovery/terms/<term>/dismiss")
@bp.doc(summary="Forget a dismissal: the term may be suggested again", responses=[404])
@require("operator")
def undismiss(term: str) -> Response:
    operations.undismiss(acting(), term)
    return jsonify(term=term)
