"""Console: the daily and weekly 舆情 reports, printable (a print stylesheet) and as an HTML
file to download. The data is :func:`api.resources.reports.build`'s, the same as the API's."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from api.auth import require
from api.console.i18n import gettext as _
from api.context import parts
from api.reports import Period, current_week
from api.resources.reports import build, daily_period, weekly_period

bp = Blueprint("console_reports", __name__)
ENGLISH: dict[str, str] = {
    "%(year)s 年第 %(week)s 周": "%(year)s week %(week)s",
    "舆情日报": "Daily report",
    "舆情周报": "Weekly report",
    "日报": "Daily",
    "周报": "Weekly",
    "最近日报": "Recent daily reports",
    "最近周报": "Recent weekly reports",
    "打印": "Print",
    "下载 HTML": "Download HTML",
    "统计区间": "Period",
    "生成时间": "Generated",
    "总体情况": "Overview",
    "本期共采集信息": "Items collected in this period:",
    "条": "",
    "其中命中监测方案的信息如下。": "Items matching each rule are listed below.",
    "地域": "Region",
    "日期": "Date",
    "信息量": "Items",
    "按监测方案": "By rule",
    "按地域": "By region",
    "属地情况": "By place",
    "未设置关注地区（按区划代码的监测方案或信息源属地）。": (
        "No watched regions (rules by region code, or sources' home regions)."
    ),
    "属地": "Place",
    "负面": "Negative",
    "负面占比": "Negative share",
    "合计": "Total",
    "按标签": "By tag",
    "按信息源": "By source",
    "按日": "By day",
    "主要事件": "Main events",
    "本期无预警事件。": "No alerted events in this period.",
    "相关信息": "items",
    "预警处置": "Alert handling",
    "本期预警": "Alerts in this period:",
    "次": "",
    "级别": "Severity",
    "预警数": "Alerts",
    "指标": "Figure",
    "中位数 (p50)": "Median (p50)",
    "p95": "p95",
    "确认用时": "Time to acknowledge",
    "回应用时": "Time to respond",
    "按时处置率": "On-time rate",
    "已办结预警中按时处置的比例": "share of handled alerts done within every deadline",
    "时效": "Latency",
    "发布到采集": "Published to first seen",
    "采集到命中": "First seen to matched",
    "命中到发信": "Matched to emailed",
    "采集到发信": "First seen to emailed",
    "信息源状态": "Source health",
    "有问题的信息源": "Sources with problems:",
    "个": "",
    "最近成功": "Last success",
    "连续失败": "Failures in a row",
    "本期运行次数": "Runs in this period",
    "其中旧闻补录": "of which backfill (old news)",
    "采集运行": "crawl runs",
    "今天（截至目前）": "Today so far",
    "截至": "as of",
    "前一天": "Previous day",
    "后一天": "Next day",
    "今天": "Today",
    "昨天": "Yesterday",
    "正常": "OK",
    "无数据": "no data",
    "秒": "s",
    "分钟": "min",
    "小时": "h",
    "本期命中": "Items in this period",
    "按日命中": "Items per day",
    "本期从未出现的词": "Words not seen in this period",
}
SEVERITY_NAMES = {"critical": "严重", "warning": "警告", "info": "提示"}


_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def period_label(label: str) -> str:
    """``2026-W48`` as ``2026 年第 48 周`` / ``2026 week 48``; a day as it is."""
    found = _WEEK.match(label)
    if not found:
        return label
    return _("%(year)s 年第 %(week)s 周", year=found.group(1), week=int(found.group(2)))


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"period_label": period_label}


def duration(seconds: float | None) -> str:
    """Seconds as a short reading: 45 秒, 12 分钟, 3.5 小时."""
    if seconds is None:
        return _("无数据")
    if seconds < 120:
        return f"{seconds:.0f} {_('秒')}"
    if seconds < 7200:
        return f"{seconds / 60:.0f} {_('分钟')}"
    return f"{seconds / 3600:.1f} {_('小时')}"


def severity_name(severity: str) -> str:
    return _(SEVERITY_NAMES.get(severity, severity))


def _styles() -> str:
    return Path(current_app.static_folder or "", "console.css").read_text("utf-8")


def _days_around(period: Period) -> dict[str, str]:
    """The daily report's neighbours and today's and yesterday's dates, for one-click
    navigation between them."""
    if period.kind != "daily":
        return {}
    shown, today = period.since.date(), parts().now().date()
    return {
        "previous": (shown - timedelta(days=1)).isoformat(),
        "next": (shown + timedelta(days=1)).isoformat() if shown < today else "",
        "today": today.isoformat(),
        "yesterday": (today - timedelta(days=1)).isoformat(),
    }


def _render(period: Period, title: str) -> str | Response:
    data = build(period)
    now = parts().now()
    values: dict[str, Any] = {
        "report": data,
        "days": _days_around(period),
        "so_far": period.since <= now < period.until,
        "title": title,
        "duration": duration,
        "severity_name": severity_name,
        "generated": parts().now(),
    }
    if request.args.get("download"):
        # A file read away from the console: absolute links and the styles inline.
        html = render_template(
            "reports/download.html",
            base=parts().alerts.public_url.rstrip("/"),
            styles=_styles(),
            **values,
        )
        name = f"yuqing-{period.kind}-{period.label}.html"
        return Response(
            html,
            mimetype="text/html",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return render_template("reports/report.html", base="", **values)


@bp.get("/reports")
@require("viewer")
def index() -> str:
    now = parts().now()
    # Today first: on an installation's first day yesterday is empty.
    days = [(now - timedelta(days=n)).date().isoformat() for n in range(0, 8)]
    weeks = [current_week(now - timedelta(weeks=n)) for n in range(0, 5)]
    return render_template("reports/index.html", days=days, weeks=weeks)


@bp.get("/reports/daily")
@require("viewer")
def daily() -> str | Response:
    return _render(daily_period(request.args.get("date", "")), _("舆情日报"))


@bp.get("/reports/weekly")
@require("viewer")
def weekly() -> str | Response:
    return _render(weekly_period(request.args.get("week", "")), _("舆情周报"))
