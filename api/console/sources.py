"""Console: sources with their health, add/edit with the "test this source" preview, run
now and run history. The work is :mod:`api.resources.sources`'s, as in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, redirect, render_template, request
from werkzeug.wrappers import Response

from api.accounts import has_role
from api.auth import current_user, require
from api.console.i18n import gettext as _
from api.errors import ApiError, validated
from api.resources import sources as api
from crawler.sources import SELECTOR_FIELDS

bp = Blueprint("console_sources", __name__)
# Source types and selector fields as operators read them (the values stay the API's).
TYPE_LABELS = {
    "list": "列表页",
    "feed": "RSS/Atom 订阅",
    "sitemap": "站点地图",
    "forum": "论坛",
    "page": "单个页面",
}
SELECTOR_LABELS = {
    "links": "文章链接",
    "next": "下一页",
    "title": "标题",
    "body": "正文",
    "time": "发布时间",
}
ENGLISH: dict[str, str] = {
    "列表页": "List page",
    "%(since)s 至 %(until)s 开始的运行，共 %(n)s 次": "Runs started %(since)s to %(until)s: %(n)s",
    "最近的运行": "Recent runs",
    "RSS/Atom 订阅": "RSS/Atom feed",
    "站点地图": "Sitemap",
    "论坛": "Forum",
    "单个页面": "Single page",
    "文章链接": "Article links",
    "下一页": "Next page",
    "正文": "Body",
    "跳过的链接": "Skipped links",
    "不是 http(s) 的链接（javascript:、mailto: 等），已跳过": (
        "Links that are not http(s) (javascript:, mailto: ...), skipped"
    ),
    "信息源": "Sources",
    "添加信息源": "Add a source",
    "编辑信息源": "Edit source",
    "名称": "Name",
    "类型": "Type",
    "间隔": "Interval",
    "最近运行": "Last run",
    "最近成功": "Last success",
    "连续失败": "Failures in a row",
    "无新信息的运行": "Runs without new items",
    "通常每几次运行有新信息": "usually new items every n runs",
    "解析失败": "Parse failures",
    "乱码比例": "Replacement characters",
    "被拦截": "Blocked",
    "状态": "Status",
    "正常": "OK",
    "立即运行": "Run now",
    "已开始运行，稍后刷新查看结果。": "The run has started; reload to see its result.",
    "运行记录": "Run history",
    "开始": "Started",
    "结束": "Finished",
    "结果": "Outcome",
    "页面": "Pages",
    "未变化": "Not modified",
    "信息": "Items",
    "新信息": "New items",
    "错误": "Errors",
    "运行中": "running",
    "编辑": "Edit",
    "删除": "Delete",
    "确定删除该信息源？采集的信息会保留。": "Delete this source? Its items stay.",
    "起始地址（每行一个）": "Start URLs (one per line)",
    "间隔（秒，至少 60）": "Interval (seconds, at least 60)",
    "标签（逗号分隔）": "Tags (comma-separated)",
    "地域": "Region",
    "编码（留空自动识别）": "Encoding (empty: detect)",
    "选择器（CSS 或 XPath，可留空自动抽取）": "Selectors (CSS or XPath; empty: automatic)",
    "遵守 robots.txt": "Obey robots.txt",
    "渲染页面": "Render pages",
    "允许内网地址": "Private addresses allowed",
    "渲染页面（先在浏览器中运行脚本再抽取，较慢；用于正文由 JavaScript 生成的网站）": (
        "Render pages (run their scripts in a browser before extraction; slower; for "
        "sites that build articles in JavaScript)"
    ),
    "启用": "Enabled",
    "每次最多列表页": "List pages per run",
    "允许内网地址（如演示站 127.0.0.1），将记入审计": (
        "Allow private addresses (e.g. the demo site on 127.0.0.1); recorded in the audit"
    ),
    "保存": "Save",
    "测试此信息源": "Test this source",
    "正在抓取…": "Fetching…",
    "起始页": "Start page",
    "找到链接": "Links found",
    "标题": "Title",
    "发布时间": "Published",
    "正文摘要": "Body excerpt",
    "作者": "Author",
    "仅预览，不会保存任何内容。": "A preview only; nothing is stored.",
    "是": "yes",
    "否": "no",
}
TYPES = ("list", "feed", "sitemap", "page")


def _form_data(form: Any, source_id: str | None = None) -> dict[str, Any]:
    """The form's fields in the API's shape."""
    selectors = {
        name: form.get(f"selector_{name}", "").strip()
        for name in SELECTOR_FIELDS
        if form.get(f"selector_{name}", "").strip()
    }
    interval, max_pages = form.get("interval", ""), form.get("max_pages", "")
    return {
        "id": source_id or form.get("id", "").strip(),
        "name": form.get("name", "").strip(),
        "type": form.get("type", ""),
        "start_urls": [u.strip() for u in form.get("start_urls", "").splitlines() if u.strip()],
        "interval": int(interval) if interval.strip().isdigit() else interval,
        "tags": [t.strip() for t in form.get("tags", "").replace("，", ",").split(",")],
        "region": form.get("region", "").strip(),
        "encoding": form.get("encoding", "").strip() or None,
        "selectors": selectors,
        "robots": "obey" if form.get("robots") else "ignore",
        "enabled": bool(form.get("enabled")),
        "max_pages": int(max_pages) if max_pages.strip().isdigit() else max_pages,
        "render": bool(form.get("render")),
        "allow_private": bool(form.get("allow_private")),
        "version": form.get("version") or None,
    }


def _may(role: str) -> bool:
    user = current_user()
    return user is not None and has_role(user, role)


def _choices() -> dict[str, Any]:
    return {
        "types": TYPES,
        "selector_fields": SELECTOR_FIELDS,
        "selector_label": selector_label,
    }


def selector_label(field: str) -> str:
    return _(SELECTOR_LABELS.get(field, field))


def type_label(kind: str) -> str:
    return _(TYPE_LABELS.get(kind, kind))


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"type_label": type_label}


def _period() -> tuple[datetime, datetime] | None:
    """``since`` and ``until`` from the query (a report's link to the runs it counted);
    None unless both are times with a zone."""
    try:
        since = datetime.fromisoformat(request.args.get("since", ""))
        until = datetime.fromisoformat(request.args.get("until", ""))
    except ValueError:
        return None
    if since.tzinfo is None or until.tzinfo is None or since >= until:
        return None
    return since, until


def _form_values(source: dict[str, Any] | None) -> dict[str, Any]:
    """What the form shows: a stored source, or what was sent."""
    if source is None:
        return {"type": "list", "interval": 600, "robots": "obey", "enabled": True, "max_pages": 10}
    return source


@bp.get("/sources")
@require("viewer")
def index() -> str:
    return render_template("sources/index.html", sources=api.listing(), can_edit=_may("admin"))


@bp.get("/sources/<source_id>")
@require("viewer")
def show(source_id: str) -> str:
    period = _period()
    found = api.detail(source_id, *period) if period else api.detail(source_id)
    return render_template(
        "sources/show.html",
        s=found,
        period=period,
        started=bool(request.args.get("started")),
        can_run=_may("operator"),
        can_edit=_may("admin"),
    )


@bp.route("/sources/new", methods=["GET", "POST"])
@require("admin")
def new() -> str | Response | tuple[str, int]:
    return _edit(None)


@bp.route("/sources/<source_id>/edit", methods=["GET", "POST"])
@require("admin")
def edit(source_id: str) -> str | Response | tuple[str, int]:
    return _edit(source_id)


def _edit(source_id: str | None) -> str | Response | tuple[str, int]:
    stored = api.detail(source_id)["source"] if source_id else None
    if request.method == "GET":
        return render_template(
            "sources/edit.html",
            values=_form_values(stored),
            source_id=source_id,
            error=None,
            **_choices(),
        )
    data = _form_data(request.form, source_id)
    try:
        parsed = validated(api.SourceIn, data)
        saved = api.update(source_id, parsed) if source_id else api.create(parsed)
    except ApiError as e:
        page = render_template(
            "sources/edit.html", values=data, source_id=source_id, error=e, **_choices()
        )
        return page, e.status
    return redirect(f"/sources/{saved.id}")


@bp.post("/sources/preview")
@require("admin")
def preview() -> str | tuple[str, int]:
    """The preview panel (htmx swaps it into the form)."""
    data = _form_data(request.form, request.form.get("id") or "preview")
    try:
        found = api.test_source(validated(api.PreviewIn, data))
    except ApiError as e:
        return render_template("sources/_preview.html", found=None, error=e), 200
    return render_template("sources/_preview.html", found=found, error=None)


@bp.post("/sources/<source_id>/run")
@require("operator")
def run(source_id: str) -> Response:
    api.run_now(source_id)
    return redirect(f"/sources/{source_id}?started=1")


@bp.post("/sources/<source_id>/delete")
@require("admin")
def delete(source_id: str) -> Response:
    api.delete(source_id)
    return redirect("/sources")
