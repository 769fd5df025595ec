"""``/api/jobs``: progress and results of long operations started by other resources."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from apiflask import APIBlueprint
from flask import Response, current_app, jsonify

from api.auth import actor, require
from api.errors import ApiError
from api.jobs import Download, Job, jobs_of

bp = APIBlueprint("jobs", __name__, tag="jobs")


def _job(job_id: str) -> Job:
    job = jobs_of(current_app).get(job_id, actor())
    if job is None:
        raise ApiError(404, f"no job {job_id} of yours (jobs are kept for an hour)", field="id")
    return job


@bp.get("/jobs/<job_id>")
@bp.doc(summary="Progress of a background job")
@require("viewer")
def show(job_id: str) -> Response:
    return jsonify(_job(job_id).public())


@bp.get("/jobs/<job_id>/result")
@bp.doc(summary="Result of a finished job (a file for exports)")
@require("viewer")
def result(job_id: str) -> Response:
    job = _job(job_id)
    if job.state != "done":
        reason = f": {job.error}" if job.error else ""
        raise ApiError(409, f"job {job_id} is {job.state}{reason}")
    found: Any = job.result
    if isinstance(found, Download):
        disposition = f"attachment; filename*=UTF-8''{_quoted(found.filename)}"
        return Response(
            found.data, mimetype=found.mimetype, headers={"Content-Disposition": disposition}
        )
    return jsonify(found)


def _quoted(name: str) -> str:
    return quote(name, safe="")
