"""Console: 发现 (``/discovery``): emerging terms of the watched regions, clusters no rule
matched, and keyword suggestions with their evidence and backtest preview, to accept into
a group or dismiss; the chart of a term's daily frequency."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api.auth import acting, require
from api.console.alerts import labels
from api.console.i18n import gettext as _
from api.context import parts
from api.errors import ApiError, refusals
from api.resources.discovery import _run_job
from keywords.validate import InvalidLibrary
from monitor.discovery import operations

bp = Blueprint("console_discovery", __name__)
ENGLISH: dict[str, str] = {
    "发现": "Discovery",
    "关键词库尚未覆盖的新词、新事件：监测地域内近期突然增多的词语和未被任何规则命中的聚集事件。": (
        "What the keyword library does not know yet: terms that suddenly became frequent in "
        "the watched regions, and clusters of stories no rule matched."
    ),
    "最近一次分析": "Latest run",
    "尚未运行过发现分析。": "Discovery has not run yet.",
    "立即分析": "Run now",
    "分析已开始，稍后刷新本页。": "The run has started; reload this page in a moment.",
    "监测地域": "Watched regions",
    "全部信息": "all items",
    "窗口内信息": "Items in the window",
    "基线信息": "Baseline items",
    "用时 %(s)s 秒": "took %(s)s s",
    "新兴词语": "Emerging terms",
    "词语": "Term",
    "窗口": "Window",
    "基线": "Baseline",
    "倍数": "Lift",
    "已命中比例": "Already matched",
    "趋势": "Trend",
    "每日信息数": "Items per day",
    "未命中事件": "Unmatched clusters",
    "条": "items",
    "此前": "before",
    "建议关键词": "Suggested keywords",
    "建议加入": "Suggested group",
    "共现": "co-occurrence",
    "无合适词组": "no group fits",
    "示例": "Examples",
    "回测预览": "Backtest preview",
    "近 %(days)s 天含此词的信息 %(n)s 条": "%(n)s items held it in the last %(days)s days",
    "将新增命中": "would add",
    "规则": "Rule",
    "加入词组": "Add to group",
    "不再建议": "Dismiss",
    "已加入 %(group)s（版本 %(version)s）": "Added to %(group)s (version %(version)s)",
    "已忽略：%(term)s": "Dismissed: %(term)s",
    "已忽略的词": "Dismissed terms",
    "恢复建议": "Suggest again",
    "已恢复：%(term)s": "May be suggested again: %(term)s",
    "暂无": "None",
    "规则健康": "Rule health",
    "近 %(days)s 天": "last %(days)s days",
    "命中信息": "Items matched",
    "近 24 小时": "Last 24 h",
    "日均": "Usual per day",
    "准确率": "Precision",
    "暂无结案": "none closed",
    "误报词": "Words in false positives",
    "建议排除词": "Exclusions to consider",
    "量突增": "volume jump",
    "%(days)s 天内从未出现的词": "Words not seen in %(days)s days",
}


def _local(value: str) -> str:
    zone = parts().zone
    return f"{datetime.fromisoformat(value).astimezone(zone):%Y-%m-%d %H:%M} {zone}"


@bp.get("/discovery")
@require("viewer")
def discovery_page() -> str:
    p = parts()
    saved = p.store.discovery.latest_report()
    version, library = p.library.current()
    return render_template(
        "discovery/index.html",
        report=saved.data if saved else None,
        when=_local(saved.data["now"]) if saved else "",
        dismissed=p.store.discovery.dismissals(),
        groups=[g.name for g in library.groups if g.category not in ("region", "exclusion")],
        version=version,
        local=_local,
        **labels(),
    )


@bp.get("/discovery/terms/<term>/daily.json")
@require("viewer")
def daily(term: str) -> Response:
    """The term's documents per day over the latest run's baseline and window (zero-filled),
    for the chart."""
    saved = parts().store.discovery.latest_report()
    found = [t for t in (saved.data["terms"] if saved else []) if t["term"] == term]
    if saved is None or not found:
        raise ApiError(404, f"{term} is not in the latest report", field="term")
    counts: dict[str, int] = found[0]["daily"]
    end = datetime.fromisoformat(saved.data["now"]).astimezone(parts().zone).date()
    start = min([end - timedelta(days=14), *(datetime.fromisoformat(d).date() for d in counts)])
    days = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
    return jsonify(term=term, days=days, counts=[counts.get(d, 0) for d in days])


@bp.post("/discovery/run")
@require("operator")
def run_now() -> Response:
    _run_job()
    flash(_("分析已开始，稍后刷新本页。"))
    return redirect(url_for(".discovery_page"))


@bp.post("/discovery/terms/<term>/accept")
@require("operator")
def accept(term: str) -> Response:
    group = request.form.get("group", "")
    try:
        parent = int(request.form.get("parent", ""))
    except ValueError:
        flash("parent: a library version", "error")
        return redirect(url_for(".discovery_page"))
    try:
        with refusals():
            change = operations.accept(acting(), term, group, parent=parent)
        flash(
            _("已加入 %(group)s（版本 %(version)s）", group=group, version=change.version.version)
        )
    except ApiError as e:
        flash(e.detail, "error")
    except InvalidLibrary as e:
        flash(str(e), "error")
    return redirect(url_for(".discovery_page"))


@bp.post("/discovery/terms/<term>/dismiss")
@require("operator")
def dismiss(term: str) -> Response:
    try:
        window_df = int(request.form.get("window_df", "0") or 0)
    except ValueError:
        window_df = 0
    try:
        with refusals():
            operations.dismiss(acting(), term, window_df=max(window_df, 0))
        flash(_("已忽略：%(term)s", term=term))
    except ApiError as e:
        flash(e.detail, "error")
    return redirect(url_for(".discovery_page"))


@bp.post("/discovery/terms/<term>/undismiss")
@require("operator")
def undismiss(term: str) -> Response:
    try:
        with refusals():
            operations.undismiss(acting(), term)
        flash(_("已恢复：%(term)s", term=term))
    except ApiError as e:
        flash(e.detail, "error")
    return redirect(url_for(".discovery_page"))
