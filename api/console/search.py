"""Console: search (``/search``), one item (``/items/<id>``) and events (``/events``).

The pages call the same functions as ``/api/items`` and ``/api/events``; a bad query is
shown beside the query box (with where it went wrong) rather than as an error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, render_template, request, url_for
from pydantic import BaseModel, ValidationError

from api.auth import require
from api.console.i18n import language
from api.console.regions import negative_percent, region_name
from api.context import parts
from api.errors import ApiError, describe
from api.resources.events import EventList, event_detail, list_events
from api.resources.items import (
    ExportQuery,
    ItemFilters,
    ItemSearch,
    get_item,
    search,
    start_export,
    web_url,
)
from store import QueryError, SearchResult
from store.localtime import local_time
from store.model import MAX_WINDOW, EventSummary, Item

bp = Blueprint("console_search", __name__)
# Why a mention went to its place (analysis.places), as operators read it.
EVIDENCE_LABELS = {
    "parent": "上级",
    "child": "下级",
    "sibling": "同级",
    "home": "信息源属地",
    "unique": "唯一地名",
    "level": "上级行政区优先",
    "former": "曾用名",
    "removed": "已撤销的区划",
}
ENGLISH: dict[str, str] = {
    "新旧": "New or old",
    "新信息": "News",
    "旧闻补录": "Backfill (old news)",
    "发布已久，首次发现时即为旧闻：不计时限": (
        "Published long before it was first seen: old news, no handling deadlines"
    ),
    "属地与倾向": "Region and sentiment",
    "否定": "negated",
    "套话": "boilerplate",
    "地名": "Name",
    "置信度": "Confidence",
    "依据": "Evidence",
    "有歧义": "Ambiguous",
    "上级": "parent",
    "下级": "child",
    "同级": "neighbour",
    "信息源属地": "source's region",
    "唯一地名": "only place of the name",
    "上级行政区优先": "wider division first",
    "曾用名": "former name",
    "已撤销的区划": "division no longer listed",
    "负面度": "Negativity",
    "按属地": "By region",
    "属地": "Region",
    "负面": "Negative",
    "正面": "Positive",
    "中性": "Neutral",
    "检索": "Search",
    "事件": "Events",
    "查询": "Query",
    "搜索": "Search",
    "查询语法": "Query syntax",
    "两个词都出现": "both words",
    "任一词出现": "either word",
    "排除": "exclude",
    "括号分组": "grouping",
    "相距不超过 20 个词元（一个汉字、一个英文单词或数字串、一串标点各算一个）": (
        "at most 20 tokens apart (a Chinese character, a word of letters or digits, or a run"
        " of punctuation is one token each)"
    ),
    "只在标题中（body: 只在正文中）": "in the title only (body: the body only)",
    "引号内按原文查找": "quoted text is literal",
    "关键词库中的词组": "a keyword group of the library",
    "运算符须大写。": "Operators are upper case.",
    "起": "From",
    "止": "Until",
    "时间依据": "Time of",
    "首次发现": "First seen",
    "发布时间": "Published",
    "信息源": "Sources",
    "监测方案": "Rules",
    "标签": "Tags",
    "多个用逗号分隔": "comma-separated",
    "排序": "Sort",
    "相关度": "Relevance",
    "降序": "Newest first",
    "升序": "Oldest first",
    "清除条件": "Clear",
    "共 %(n)s 条": "%(n)s items",
    "仅可翻阅前 %(n)s 条，请缩小范围": "Only the first %(n)s can be paged; narrow the search",
    "超过 %(n)s 条": "More than %(n)s items",
    "排序和统计只含最新的 %(n)s 条，请缩小范围": (
        "Ranked and counted among the newest %(n)s only; narrow the search"
    ),
    "没有找到信息": "Nothing found",
    "按日期": "By day",
    "按信息源": "By source",
    "按监测方案": "By rule",
    "上一页": "Previous",
    "下一页": "Next",
    "第 %(page)s / %(pages)s 页": "Page %(page)s of %(pages)s",
    "导出": "Export",
    "导出 CSV": "Export CSV",
    "导出 Excel": "Export Excel",
    "下载": "Download",
    "查询有误": "The query is wrong",
    "第 %(n)s 个字符处": "at character %(n)s",
    "作者": "Author",
    "来源": "Source",
    "原文链接": "Original",
    "成文日期": "Written",
    "命中": "Hits",
    "词": "Word",
    "词组": "Group",
    "位置": "Where",
    "标题": "Title",
    "正文": "Body",
    "所属事件": "Event",
    "同一事件的其他信息": "Other items of this event",
    "条信息": "items",
    "最早": "First",
    "最近": "Last",
    "标题（最早一条）": "Title (earliest item)",
    "最近发现优先": "Recently seen first",
    "信息最多优先": "Most items first",
    "筛选": "Filter",
    "没有事件": "No events",
    "该事件的信息": "Items of this event",
    "返回检索": "Back to search",
    "非网页链接，不可点击": "not a web link, not clickable",
}


def when(value: datetime | None) -> str:
    """A time with its zone, as operators compare times from several sources."""
    if value is None:
        return "—"
    return local_time(value, parts().zone, language())


def with_args(**changes: Any) -> str:
    """This page's URL with some query arguments changed (None or "" removes one)."""
    args = {k: v for k, v in request.args.items() if k not in changes} | changes
    view_args = request.view_args or {}
    kept = {k: v for k, v in args.items() if v not in (None, "")}
    return url_for(request.endpoint or "", **view_args, **kept)


def local_input(value: datetime | None) -> str:
    """``value`` for a ``datetime-local`` input, in the server's time zone."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(parts().zone)
    return f"{value:%Y-%m-%dT%H:%M}"


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "when": when,
        "with_args": with_args,
        "web_url": web_url,
        "local_input": local_input,
        "region_name": region_name,
        "negative_percent": negative_percent,
    }


def _parsed(model: type[BaseModel]) -> tuple[Any, str]:
    """``model`` from this request's query arguments (unknown ones such as ``lang``
    ignored) and "", or, if one is wrong, the others and a message naming it."""
    args = {k: v for k, v in request.args.items() if k in model.model_fields and v != ""}
    try:
        return model.model_validate(args), ""
    except ValidationError as e:
        message = describe(e)
        bad = {str(error["loc"][0]) for error in e.errors() if error["loc"]}
        kept = {k: v for k, v in args.items() if k not in bad}
    try:  # keep what was right (the query typed) beside the message
        return model.model_validate(kept), message
    except ValidationError:
        return model.model_validate({}), message


@bp.get("/search")
@require("viewer")
def search_page() -> tuple[str, int]:
    args, error = _parsed(ItemSearch)
    args.facets = True
    result = facets = None
    position = None
    if not error:
        try:
            result, facets = search(args)
        except QueryError as e:
            error, position = (f"{e.field}: {e.message}", e.position)
    pages = 0
    if result is not None:
        pages = max(1, -(-min(result.total, MAX_WINDOW) // args.size))
    page = render_template(
        "search/search.html",
        args=args,
        result=result,
        facets=facets,
        error=error,
        position=position,
        pages=pages,
        window=MAX_WINDOW,
        next_day=lambda day: (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat(),
        export_args={k: v for k, v in request.args.items() if k in ItemFilters.model_fields and v},
    )
    return page, 400 if error else 200


@bp.get("/search/export")
@require("viewer")
def export() -> str:
    """Start an export of the search in the query arguments; answers the progress
    fragment the console polls (console.js), or the error (200 either way: htmx swaps
    in only successful answers)."""
    args, error = _parsed(ExportQuery)
    job = None
    if not error:
        try:
            job = start_export(args)
        except QueryError as e:
            error = f"{e.field}: {e.message}"
    return render_template("search/_export.html", job=job, error=error)


@dataclass
class Piece:
    text: str
    marked: bool


def pieces(text: str, hits: list[dict[str, Any]], field: str) -> list[Piece]:
    """``text`` cut at the ``field`` hits' offsets, so the template marks them while
    escaping every piece (no markup is built from crawled text)."""
    spans = sorted(
        (int(h["start"]), int(h["end"]))
        for h in hits
        if h.get("field") == field and isinstance(h.get("start"), int)
    )
    out, pos = [], 0
    for start, end in spans:
        start = max(start, pos)
        if start >= end or end > len(text):
            continue
        out += [Piece(text[pos:start], False), Piece(text[start:end], True)]
        pos = end
    out.append(Piece(text[pos:], False))
    return [p for p in out if p.text]


@bp.get("/items/<item_id>")
@require("viewer")
def item_page(item_id: str) -> str:
    item: Item = get_item(item_id)
    event = others = None
    if item.event_id:
        found = event_detail_or_none(item.event_id)
        if found is not None:
            event, others = found
    return render_template(
        "items/item.html",
        item=item,
        title=pieces(item.title, item.hits, "title"),
        body=pieces(item.body, item.hits, "body"),
        event=event,
        others=[f for f in others.hits if f.item.id != item.id] if others else [],
        evidence_labels=EVIDENCE_LABELS,
    )


def event_detail_or_none(event_id: str) -> tuple[EventSummary, SearchResult] | None:
    try:
        return event_detail(event_id, 1, 50)
    except ApiError as e:  # the event's items are gone: show the item alone
        if e.status == 404:
            return None
        raise


@bp.get("/events")
@require("viewer")
def events_page() -> tuple[str, int]:
    args, error = _parsed(EventList)
    events = []
    if not error:
        try:
            events = list_events(args)
        except QueryError as e:
            error = f"{e.field}: {e.message}"
    page = render_template("search/events.html", args=args, events=events, error=error)
    return page, 400 if error else 200


@bp.get("/events/<event_id>")
@require("viewer")
def event_page(event_id: str) -> str:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    event, result = event_detail(event_id, page, 50)
    pages = max(1, -(-min(result.total, MAX_WINDOW) // 50))
    return render_template("search/event.html", event=event, result=result, page=page, pages=pages)
