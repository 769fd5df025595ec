"""Console: the dashboard (``/``): item volume per rule, open alerts by severity with
their deadlines, the negative share per day, items and alerts by township, the biggest
events, source health, and the emergency switch."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.wrappers import Response

from api.auth import require
from api.console.alerts import labels
from api.console.i18n import gettext as _
from api.context import parts
from api.errors import ApiError, describe, refusals
from api.resources.alerts import (
    EmergencyIn,
    active_emergencies,
    rule_names,
    summary,
    switch_emergency,
)
from crawler.health import assess
from monitor.alerts.emergency import GLOBAL
from store import ItemQuery
from store.model import OPEN_STATUSES, Alert

bp = Blueprint("console_dashboard", __name__)
ENGLISH: dict[str, str] = {
    "信息量趋势": "Volume per rule",
    "近 %(days)s 天各规则命中信息数": "Matched items per rule and day, last %(days)s days",
    "未关闭预警": "Open alerts",
    "即将到期": "Next deadlines",
    "热点事件": "Top events",
    "近 7 天": "last 7 days",
    "信息源状态": "Source health",
    "运行正常": "Healthy",
    "存在异常": "In trouble",
    "从未运行": "Never run",
    "最近事件": "Recent health events",
    "紧急模式": "Emergency mode",
    "范围": "Scope",
    "全部规则": "All rules",
    "原因": "Reason",
    "持续小时数（可选）": "Hours (optional)",
    "开启紧急模式": "Switch on",
    "关闭紧急模式": "Switch off",
    "紧急模式已切换": "Emergency mode switched",
    "暂无": "None",
    "属地分布": "By township",
    "乡镇街道": "Township / street",
    "信息": "Items",
    "负面占比趋势": "Negative share",
    "负面占比": "Negative share (%)",
    "近 %(days)s 天每日负面信息占比": "Share of negative items per day, last %(days)s days",
}
TOWNSHIPS = 12  # rows of the by-township table
OPEN_LIMIT = 2_000  # open alerts counted on the dashboard
TOP_EVENTS = 10
VOLUME_DAYS = 14


@bp.get("/")
@require("viewer")
def dashboard() -> str:
    p = parts()
    now = p.now()
    open_alerts = p.store.alerts.list(status=OPEN_STATUSES, limit=OPEN_LIMIT)
    tickets = [summary(a, now) for a in open_alerts if a.kind != "health"]
    upcoming = sorted((t for t in tickets if t["next_due"]), key=lambda t: t["next_due"])
    recent = p.store.alerts.list(since=now - timedelta(days=7), limit=OPEN_LIMIT)
    top = sorted((a for a in recent if a.kind != "health"), key=lambda a: -a.items)
    listed = p.store.sources.list()
    runs = p.store.runs.recent_many([s.id for s in listed], 20)
    sources = [(s, assess(s.id, runs[s.id])) for s in listed]
    week = ItemQuery(since=now - timedelta(days=7), size=1, highlight=False)
    return render_template(
        "dashboard/index.html",
        days=VOLUME_DAYS,
        by_severity=Counter(a.severity for a in open_alerts),
        open_total=len(open_alerts),
        upcoming=upcoming[:10],
        top=[summary(a, now) for a in top[:TOP_EVENTS]],
        sources=sources,
        troubled=sum(1 for _, health in sources if health.problems),
        health_events=p.store.health_events.list(since=now - timedelta(days=1), limit=10),
        switches=active_emergencies(),
        rules=rule_names(),
        global_scope=GLOBAL,
        townships=by_township(p.store.items.facets(week).per_region, recent),
        **labels(),  # region_name among them
    )


def by_township(per_region: dict[str, int], alerts: list[Alert]) -> list[tuple[str, int, int]]:
    """(township code, items, alerts) of the last week, most items first: townships and
    streets (9-digit codes) and operators' places, the level a district office watches."""
    fine = {c: n for c, n in per_region.items() if len(c) >= 9}
    raised = Counter(a.region for a in alerts if len(a.region) >= 9)
    codes = sorted(set(fine) | set(raised), key=lambda c: (-fine.get(c, 0), -raised[c], c))
    return [(c, fine.get(c, 0), raised[c]) for c in codes[:TOWNSHIPS]]


@bp.get("/dashboard/volume.json")
@require("viewer")
def volume() -> Response:
    """Items matched per rule and day (the store's facets), for the chart."""
    days = min(max(request.args.get("days", VOLUME_DAYS, type=int) or VOLUME_DAYS, 1), 90)
    p = parts()
    today = p.now().replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=days - 1)
    dates = [(since + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(days)]
    series = []
    for rule in rule_names():
        query = ItemQuery(rules=[rule], since=since, size=1, highlight=False)
        per_day = p.store.items.facets(query).per_day
        series.append({"name": rule, "data": [per_day.get(d, 0) for d in dates]})
    return jsonify(days=dates, series=series)


@bp.get("/dashboard/negative.json")
@require("viewer")
def negative_share() -> Response:
    """The share of negative items per day (``sentiment:negative`` over all items), in
    percent, optionally of one region (``region=500152``), for the chart."""
    days = min(max(request.args.get("days", VOLUME_DAYS, type=int) or VOLUME_DAYS, 1), 90)
    region = request.args.get("region", "")
    if region and not region.replace("-", "").isdigit():
        raise ApiError(400, "region is an administrative code, e.g. 500152", field="region")
    p = parts()
    today = p.now().replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=days - 1)
    dates = [(since + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(days)]
    scope = f"region:{region}" if region else ""
    every = p.store.items.facets(ItemQuery(q=scope, since=since, size=1)).per_day
    negative = p.store.items.facets(
        ItemQuery(q=f"{scope} sentiment:negative".strip(), since=since, size=1)
    ).per_day
    share = [round(100 * negative.get(d, 0) / every[d]) if every.get(d) else 0 for d in dates]
    return jsonify(days=dates, series=[{"name": _("负面占比"), "data": share}])


@bp.post("/emergency")
@require("operator")
def emergency() -> Response:
    """The dashboard's switch; audited by the engine (see switch_emergency)."""
    form = request.form
    try:
        hours = float(form.get("hours", "").strip() or 0)  # none or 0: until switched off
        until = parts().now() + timedelta(hours=hours) if hours else None
    except (ValueError, OverflowError) as e:  # not a number of hours
        flash(f"hours: {e}", "error")
        return redirect(url_for(".dashboard"))
    try:
        data = EmergencyIn(
            scope=form.get("scope") or GLOBAL,
            on=form.get("on") == "1",
            reason=form.get("reason", ""),
            until=until,
        )
        with refusals():
            switch_emergency(data)
        flash(_("紧急模式已切换"))
    except ValidationError as e:
        flash(describe(e), "error")
    except ApiError as e:
        flash(e.detail, "error")
    return redirect(url_for(".dashboard"))
