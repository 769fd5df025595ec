"""``/api/items``: search with the query language of :mod:`rules.syntax`, one item, export.

The console's search pages call the functions here (:func:`search`, :func:`item_query`,
:func:`export_rows`, ...), so a page and its endpoint never disagree.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from apiflask import APIBlueprint
from flask import Response, current_app, jsonify
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pydantic import BaseModel, ConfigDict, Field

from api.auth import actor, require
from api.context import parts
from api.errors import ApiError
from api.jobs import Download, Job, jobs_of
from rules.syntax import (
    ParseError,
    expand_groups,
    group_names,
    parse_input,
    to_text,
)
from store import Item, ItemQuery, QueryError, SearchResult
from store.export import cell
from store.model import MAX_WINDOW, Facets, Found

bp = APIBlueprint("items", __name__, tag="items")

EXPORT_PAGE = 500
EXPORT_COLUMNS = (
    "id", "title", "url", "source_id", "site_source", "author", "publish_time", "first_seen",
    "rules", "tags", "event_id", "body",
)  # fmt: skip
XLSX_CELL_LIMIT = 32_000  # Excel refuses cells over 32,767 characters


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


class ItemFilters(BaseModel):
    """Which items, in which order; every filter given must hold."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field("", max_length=2000, description="expression: AND OR NOT NEAR/n title: @group")
    since: datetime | None = Field(None, description="at or after (no zone: the server's)")
    until: datetime | None = Field(None, description="before (no zone: the server's)")
    time_field: Literal["first_seen", "publish_time"] = Field(
        "first_seen", description="what since, until and the per-day facet use"
    )
    source: str = Field("", max_length=2000, description="source ids, comma-separated")
    tag: str = Field("", max_length=2000, description="tags, comma-separated (any)")
    rule: str = Field("", max_length=2000, description="rule names, comma-separated (any)")
    event: str = Field("", max_length=100, description="an event id")
    backfill: bool | None = Field(
        None,
        description="true: only backfill (old news at first sight, or a new source's first "
        "crawl); false: only news; omitted: both",
    )
    sort: Literal["relevance", "first_seen", "publish_time", "negative"] = Field(
        "relevance", description="negative: most negative first (with order=desc)"
    )
    order: Literal["desc", "asc"] = "desc"


class ItemSearch(ItemFilters):
    page: int = Field(1, ge=1, description=f"page x size may not exceed {MAX_WINDOW}")
    size: int = Field(20, ge=1, le=100)
    facets: bool = Field(False, description="also count per day, source, rule and region")


class ExportQuery(ItemFilters):
    format: Literal["csv", "xlsx"] = "csv"


def _local(value: datetime | None) -> datetime | None:
    """A time without a zone is meant in the server's time zone (the console's inputs)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=parts().zone)


def expand_query(q: str) -> str:
    """``q`` with each ``@group`` replaced by the words of the live library's group.

    Raises :class:`QueryError` at the position of an unknown or empty group."""
    if not q.strip():
        return q
    try:
        node = parse_input(q)
    except ParseError as e:
        raise QueryError(e.message, "q", e.position) from e
    names = group_names(node)
    if not names:
        return q
    groups = {g.name: g for g in parts().library.current()[1].groups if g.enabled}

    def words_of(name: str) -> list[str]:
        group = groups.get(name)
        words = list(dict.fromkeys(group.texts())) if group else []
        if not words:
            found = re.search(rf"@{re.escape(name)}(?![\w-])", q)
            problem = "has no words" if group else "is not an enabled keyword group"
            raise QueryError(f"@{name} {problem}", "q", found.start() if found else None)
        return words

    return to_text(expand_groups(node, words_of))


def item_query(args: ItemFilters, page: int = 1, size: int = 20) -> ItemQuery:
    """The store query for ``args`` (groups expanded, times given a zone)."""
    return ItemQuery(
        q=expand_query(args.q),
        since=_local(args.since),
        until=_local(args.until),
        time_field=args.time_field,
        sources=_csv(args.source),
        tags=_csv(args.tag),
        rules=_csv(args.rule),
        event_id=args.event or None,
        backfill=args.backfill,
        sort=args.sort,
        descending=args.order == "desc",
        page=page,
        size=size,
    )


# Past this many matches (the deepest page anyway) a search page describes the newest of
# them (see ItemQuery.count_limit), so a word found in most items answers as fast as a
# rarer one.
SEARCH_COUNT_LIMIT = MAX_WINDOW


def search_query(args: ItemSearch) -> ItemQuery:
    """The store query of a search page (see :data:`SEARCH_COUNT_LIMIT`)."""
    return replace(item_query(args, args.page, args.size), count_limit=SEARCH_COUNT_LIMIT)


def search(args: ItemSearch) -> tuple[SearchResult, Facets | None]:
    """One page of items matching ``args``, and the facets if asked for."""
    query = search_query(args)
    if args.facets:
        return parts().store.items.search_with_facets(query)
    return parts().store.items.search(query), None


def web_url(url: str) -> str | None:
    """``url`` if it may be a link (http or https), else None."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:  # e.g. an unclosed "[" in the host
        return None
    return url if scheme in ("http", "https") else None


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def item_summary(item: Item) -> dict[str, Any]:
    """An item without its body and texts, as search results and events list it."""
    return {
        "id": item.id,
        "url": item.url,
        "title": item.title,
        "source_id": item.source_id,
        "site_source": item.site_source,
        "author": item.author,
        "publish_time": _time(item.publish_time),
        "first_seen": _time(item.first_seen),
        "tags": item.tags,
        "rules": item.rules,
        "event_id": item.event_id,
        "backfill": item.backfill,
        "region_primary": item.region_primary[0] if item.region_primary else "",
        "regions": item.regions,
        "negative": item.negative,
        "sentiment": item.sentiment,
    }


def found_json(found: Found) -> dict[str, Any]:
    return item_summary(found.item) | {
        "score": found.score,
        # HTML: the text escaped, only <mark> added (store.text.highlight, ES encoder=html)
        "highlights": found.highlights,
    }


def item_json(item: Item) -> dict[str, Any]:
    return item_summary(item) | {
        "body": item.body,
        "written_time": _time(item.written_time),
        "hits": item.hits,
        "places": item.places,
        "sentiment_evidence": item.sentiment_evidence,
    }


def facets_json(facets: Facets) -> dict[str, Any]:
    return {
        "day": facets.per_day,
        "source": facets.per_source,
        "rule": facets.per_rule,
        "region": facets.per_region,
    }


def get_item(item_id: str) -> Item:
    """The item, or a 404 problem."""
    item = parts().store.items.get(item_id)
    if item is None:
        raise ApiError(404, f"no item {item_id}", field="id")
    return item


@bp.get("/items")
@bp.input(ItemSearch, location="query")
@bp.doc(
    summary="Search items",
    description="The query language is the one of keyword rules (see the README). A bad "
    "expression is a 400 naming `field` and the 0-based `position` in it. When more than "
    f"{SEARCH_COUNT_LIMIT:,} items match, `total` is {SEARCH_COUNT_LIMIT:,}, `total_exact` is "
    "false, and "
    "the page and the facets are of the newest of them (by first seen).",
)
@require("viewer")
def list_items(query_data: ItemSearch) -> Response:
    result, facets = search(query_data)
    body: dict[str, Any] = {
        "total": result.total,
        # false: more than `total` items match; the page and the facets are of the
        # `total` newest (first seen) of them
        "total_exact": result.exact,
        "page": query_data.page,
        "size": query_data.size,
        "items": [found_json(f) for f in result.hits],
    }
    if facets is not None:
        body["facets"] = facets_json(facets)
    return jsonify(body)


def export_rows(query: ItemQuery, job: Job | None = None) -> Iterator[list[str]]:
    """Rows of every item ``query`` matches (the first :data:`MAX_WINDOW`), header first."""
    yield list(EXPORT_COLUMNS)
    query = replace(query, page=1, size=EXPORT_PAGE, highlight=False)
    store, done = parts().store, 0
    while True:
        result = store.items.search(query)
        total = min(result.total, MAX_WINDOW)
        for found in result.hits:
            item = found.item
            yield [cell(item.id if c == "id" else getattr(item, c)) for c in EXPORT_COLUMNS]
        done += len(result.hits)
        if job is not None:
            job.progress(done, total)
        if not result.hits or done >= total:
            return
        query.page += 1


def to_csv(rows: Iterator[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    # The BOM makes Excel read the file as UTF-8 (Chinese would come out garbled).
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: Iterator[list[str]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("items")
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v)[:XLSX_CELL_LIMIT] for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def start_export(args: ExportQuery) -> Job:
    """Start exporting what ``args`` matches as a background job (bad input fails here)."""
    query = item_query(args)
    parts().store.items.search(replace(query, page=1, size=1, highlight=False))
    stamp = parts().now().strftime("%Y%m%d-%H%M")
    fmt = args.format

    def work(job: Job) -> Download:
        rows = export_rows(query, job)
        if fmt == "xlsx":
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            return Download(f"items-{stamp}.xlsx", mimetype, to_xlsx(rows))
        return Download(f"items-{stamp}.csv", "text/csv; charset=utf-8", to_csv(rows))

    return jobs_of(current_app).start("export", actor(), work)


@bp.get("/items/export")
@bp.input(ExportQuery, location="query")
@bp.doc(
    summary="Export the items a search matches (CSV or XLSX) as a background job",
    description=f"At most {MAX_WINDOW} items. Poll the job at `Location`; its result is the "
    "file. CSV is UTF-8 with a BOM; cells that a spreadsheet would run as a formula start "
    "with an apostrophe.",
    responses={202: "the job started"},
)
@require("viewer")
def export(query_data: ExportQuery) -> Response:
    job = start_export(query_data)
    response = jsonify(job.public())
    response.status_code = 202
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return response


@bp.get("/items/<item_id>")
@bp.doc(summary="One item with its body and hits", responses=[404])
@require("viewer")
def show(item_id: str) -> Response:
    return jsonify(item_json(get_item(item_id)))
