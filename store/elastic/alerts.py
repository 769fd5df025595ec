"""Alerts and their timelines in Elasticsearch. Alerts are created with ``op_type=create``
(so one id, one alert) and changed only with ``if_seq_no``/``if_primary_term``."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from elasticsearch import ConflictError as EsConflict
from elasticsearch import Elasticsearch, NotFoundError

from store.base import AlertRepo, TimelineRepo
from store.codec import from_doc, to_doc
from store.elastic.common import SCHEMA_VERSION, ensure_index_racing
from store.errors import ConflictError, NotFound, QueryError
from store.model import Alert, TimelineEntry

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}
_BLOB = {"type": "object", "enabled": False}
ALERT_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        **{
            f: _KEYWORD
            for f in (
                "id rule event_id kind severity item_id source_id status assignee "
                "close_reason escalated recipients targets"
            ).split()
        },
        **{
            f: _DATE
            for f in (
                "created publish_time first_seen matched emailed acknowledged handling "
                "responded closed last_notified"
            ).split()
        },
        **{f: {"type": "integer"} for f in ("items", "notified_items", "updates")},
        "title": {"type": "text"},
        "url": {"type": "keyword", "index": False},
        "guidance": {"type": "text"},
        "hits": _BLOB,
        "emergency": {"type": "boolean"},
        "backfill": {"type": "boolean"},
        "negative": {"type": "float"},
        "region": _KEYWORD,
    },
}
TIMELINE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "seq": {"type": "long"},
        "alert_id": _KEYWORD,
        "time": _DATE,
        "actor": _KEYWORD,
        "action": _KEYWORD,
        "note": {"type": "text"},
        "details": _BLOB,
    },
}
MAX_TIMELINE = 10_000


def refresh(es: Elasticsearch, index: str) -> None:
    """Make every write so far searchable. Writes here do not wait for a refresh each
    (a burst of alerts would wait a refresh per write); the few searches refresh first."""
    es.indices.refresh(index=index)


def version_of(hit: Any) -> str:
    """The opaque version of a document read with its sequence number and term."""
    return f"{hit['_seq_no']}:{hit['_primary_term']}"


def guard(version: str | None) -> dict[str, Any]:
    """The optimistic-concurrency arguments for a write expecting ``version``."""
    try:
        seq_no, term = (int(x) for x in (version or "").split(":"))
    except ValueError as e:
        raise QueryError(f"bad version {version!r}", "version") from e
    return {"if_seq_no": seq_no, "if_primary_term": term}


class ElasticAlerts(AlertRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es

    @cached_property
    def index(self) -> str:
        return ensure_index_racing(self.store, "alerts", ALERT_MAPPING)

    def create(self, alert: Alert) -> bool:
        try:
            result = self.es.index(
                index=self.index,
                id=alert.id,
                op_type="create",
                document=to_doc(alert),
            )
        except EsConflict:
            return False
        alert.version = version_of(result)
        return True

    def get(self, alert_id: str) -> Alert | None:
        try:
            doc = self.es.get(index=self.index, id=alert_id)
        except NotFoundError:
            return None
        return from_doc(Alert, doc["_source"], self.store.tz, version_of(doc))

    def update(self, alert: Alert) -> Alert:
        try:
            result = self.es.index(
                index=self.index,
                id=alert.id,
                document=to_doc(alert),
                **guard(alert.version),
            )
        except (EsConflict, NotFoundError) as e:
            # A conditional write to a missing document fails as a conflict too.
            if not self.es.exists(index=self.index, id=alert.id):
                raise NotFound(f"no alert {alert.id}") from e
            raise ConflictError(f"alert {alert.id} changed since version {alert.version}") from e
        alert.version = version_of(result)
        return alert

    def list(
        self,
        *,
        status: Iterable[str] = (),
        rule: str | None = None,
        since: datetime | None = None,
        backfill: bool | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        filters: list[dict[str, Any]] = []
        statuses = list(status)
        if statuses:
            filters.append({"terms": {"status": statuses}})
        if rule is not None:
            filters.append({"term": {"rule": rule}})
        if since is not None:
            filters.append({"range": {"created": {"gte": since.isoformat()}}})
        if backfill:
            filters.append({"term": {"backfill": True}})
        elif backfill is not None:
            # Alerts written before the field existed lack it: they were news.
            filters.append({"bool": {"must_not": {"term": {"backfill": True}}}})
        refresh(self.es, self.index)
        found = self.es.search(
            index=self.index,
            size=limit,
            sort=[{"created": "desc"}, {"id": "asc"}],
            seq_no_primary_term=True,
            query={"bool": {"filter": filters}},
        )["hits"]["hits"]
        return [from_doc(Alert, h["_source"], self.store.tz, version_of(h)) for h in found]


class ElasticTimeline(TimelineRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es

    @cached_property
    def index(self) -> str:
        return ensure_index_racing(self.store, "alert-timeline", TIMELINE_MAPPING)

    def append(self, entry: TimelineEntry) -> TimelineEntry:
        doc = to_doc(entry)
        del doc["id"]
        # ``seq`` orders entries written within the same millisecond.
        result = self.es.index(
            index=self.index,
            op_type="create",
            document=doc | {"seq": time.time_ns()},
        )
        entry.id = result["_id"]
        return entry

    def list(self, alert_id: str) -> list[TimelineEntry]:
        refresh(self.es, self.index)
        found = self.es.search(
            index=self.index,
            size=MAX_TIMELINE,
            sort=[{"seq": "asc"}],
            query={"term": {"alert_id": alert_id}},
        )["hits"]["hits"]
        out = []
        for h in found:
            entry = from_doc(TimelineEntry, h["_source"], self.store.tz)
            entry.id = h["_id"]
            out.append(entry)
        return out
