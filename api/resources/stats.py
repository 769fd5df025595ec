"""``/api/stats``: items per rule, region (tag), source and day over a time range."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from apiflask import APIBlueprint
from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from api.auth import require
from api.context import parts
from api.errors import ApiError
from api.reports import Period, statistics

bp = APIBlueprint("stats", __name__, tag="stats")

MAX_DAYS = 366


class StatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime | None = Field(None, description="first seen at or after (default: 7 days ago)")
    until: datetime | None = Field(None, description="first seen before (default: now)")


def period_of(since: datetime | None, until: datetime | None) -> Period:
    """The range asked for, in the configured time zone (naive times are taken as local)."""
    p = parts()
    end = _aware(until, p.zone) if until else p.now()
    start = _aware(since, p.zone) if since else end - timedelta(days=7)
    if start >= end:
        raise ApiError(400, "since must be earlier than until", field="since")
    if end - start > timedelta(days=MAX_DAYS):
        raise ApiError(400, f"at most {MAX_DAYS} days at a time", field="since")
    label = f"{start.isoformat()} – {end.isoformat()}"
    return Period("range", label, start, end)


def _aware(value: datetime, zone: tzinfo) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=zone)


@bp.get("/stats")
@bp.input(StatsQuery, location="query")
@bp.doc(
    summary="Items first seen in a time range: total, per rule, tag, region, source and day; "
    "each figure with the console link that shows it",
    responses=[400],
)
@require("viewer")
def stats(query_data: StatsQuery) -> Response:
    period = period_of(query_data.since, query_data.until)
    return jsonify(statistics(parts().store, period))
