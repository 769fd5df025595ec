"""``/api/reports``: the daily and weekly 舆情 reports as data (the console renders the same
data as printable HTML). Built from the store when asked; every figure has a ``link``."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from api.auth import require
from api.context import parts
from api.errors import ApiError
from api.reports import Period, PeriodError, current_week, day, report, week

bp = APIBlueprint("reports", __name__, tag="reports")


class DailyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: str = Field("", description="YYYY-MM-DD (default: today, so far)")


class WeeklyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    week: str = Field("", description="ISO week YYYY-Www (default: this week)")


def daily_period(text: str) -> Period:
    p = parts()
    try:
        # Today so far by default: on an installation's first day yesterday is empty.
        return day(text or p.now().date().isoformat(), p.zone)
    except PeriodError as e:
        raise ApiError(400, str(e), field=e.field) from e


def weekly_period(text: str) -> Period:
    p = parts()
    try:
        return week(text or current_week(p.now()), p.zone)
    except PeriodError as e:
        raise ApiError(400, str(e), field=e.field) from e


def build(period: Period) -> dict[str, Any]:
    p = parts()
    return report(p.store, period, p.alerts.deadlines, p.now())


@bp.get("/reports/daily")
@bp.input(DailyQuery, location="query")
@bp.doc(summary="The daily report: counts, main events, alert handling, sources", responses=[400])
@require("viewer")
def daily(query_data: DailyQuery) -> Response:
    return jsonify(build(daily_period(query_data.date)))


@bp.get("/reports/weekly")
@bp.input(WeeklyQuery, location="query")
@bp.doc(summary="The weekly report (ISO week, Monday to Sunday)", responses=[400])
@require("viewer")
def weekly(query_data: WeeklyQuery) -> Response:
    return jsonify(build(weekly_period(query_data.week)))
