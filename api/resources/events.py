"""``/api/events``: stories and their reposts (items sharing ``event_id``, see
:mod:`crawler.events`). The console's event pages call :func:`list_events` and
:func:`event_detail`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from apiflask import APIBlueprint
from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from api.auth import require
from api.context import parts
from api.errors import ApiError
from api.resources.items import ItemFilters, found_json, item_query
from store import ItemQuery, SearchResult
from store.model import EventSummary

bp = APIBlueprint("events", __name__, tag="events")


class EventList(BaseModel):
    """Which events: those with items matching every filter given (counts, times and
    sources are over those items)."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field("", max_length=2000, description="expression the items must match")
    rule: str = Field("", max_length=2000, description="rule names, comma-separated (any)")
    source: str = Field("", max_length=2000, description="source ids, comma-separated")
    since: datetime | None = Field(None, description="items at or after (no zone: the server's)")
    until: datetime | None = Field(None, description="items before")
    time_field: Literal["first_seen", "publish_time"] = "first_seen"
    order: Literal["recent", "size"] = Field("recent", description="last seen first, or most items")
    limit: int = Field(50, ge=1, le=500)


class EventItems(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1)
    size: int = Field(50, ge=1, le=100)


def list_events(args: EventList) -> list[EventSummary]:
    search = ItemFilters.model_validate(args.model_dump(exclude={"order", "limit"}))
    return parts().store.items.events(item_query(search), args.limit, args.order)


def event_detail(event_id: str, page: int = 1, size: int = 50) -> tuple[EventSummary, SearchResult]:
    """The event (over all its items) and one page of its items, earliest first; 404 if
    no item belongs to it."""
    found = parts().store.items.events(ItemQuery(event_id=event_id), limit=1)
    if not found:
        raise ApiError(404, f"no event {event_id}", field="id")
    query = ItemQuery(event_id=event_id, sort="first_seen", descending=False, page=page, size=size)
    return found[0], parts().store.items.search(query)


def event_json(event: EventSummary) -> dict[str, Any]:
    return {
        "id": event.id,
        "count": event.items,
        "first_seen": event.first_seen.isoformat(),
        "last_seen": event.last_seen.isoformat(),
        "sources": event.sources,
        "rules": event.rules,
        "title": event.title,
        "item_id": event.item_id,
    }


@bp.get("/events")
@bp.input(EventList, location="query")
@bp.doc(summary="Events with their item counts, first and last seen, sources and rules")
@require("viewer")
def list_(query_data: EventList) -> Response:
    return jsonify({"events": [event_json(e) for e in list_events(query_data)]})


@bp.get("/events/<event_id>")
@bp.input(EventItems, location="query")
@bp.doc(summary="An event and its items, earliest first", responses=[404])
@require("viewer")
def show(event_id: str, query_data: EventItems) -> Response:
    event, result = event_detail(event_id, query_data.page, query_data.size)
    return jsonify(
        event_json(event)
        | {
            "total": result.total,
            "page": query_data.page,
            "size": query_data.size,
            "items": [found_json(f) for f in result.hits],
        }
    )
