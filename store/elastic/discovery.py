"""Discovery's memory in Elasticsearch: dismissed suggestions, one document per term, and
the latest run's report as one document (its data stored, not indexed)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from elasticsearch import NotFoundError

from store.base import DiscoveryRepo, check_dismissal
from store.elastic.common import SCHEMA_VERSION, ensure_index_racing
from store.errors import QueryError
from store.model import DiscoveryReport, Dismissal

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

DISMISSAL_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "term": {"type": "keyword"},
        "actor": {"type": "keyword"},
        "time": {"type": "date"},
        "window_df": {"type": "integer"},
        "score": {"type": "float"},
    },
}
REPORT_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "time": {"type": "date"},
        "data": {"type": "object", "enabled": False},
    },
}
_LATEST = "latest"


def _doc_id(term: str) -> str:
    # A term may hold characters an id should not (slashes, spaces): key by its digest.
    return hashlib.sha1(term.encode("utf-8")).hexdigest()


class ElasticDiscovery(DiscoveryRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es

    @cached_property
    def index(self) -> str:
        return ensure_index_racing(self.store, "discovery-dismissals", DISMISSAL_MAPPING)

    @cached_property
    def reports(self) -> str:
        return ensure_index_racing(self.store, "discovery-reports", REPORT_MAPPING)

    def dismiss(self, dismissal: Dismissal) -> Dismissal:
        check_dismissal(dismissal)
        body = {
            "term": dismissal.term,
            "actor": dismissal.actor,
            "time": dismissal.time.isoformat(),
            "window_df": dismissal.window_df,
            "score": dismissal.score,
        }
        self.es.index(index=self.index, id=_doc_id(dismissal.term), document=body, refresh=True)
        return self._dismissal(body)

    def dismissal(self, term: str) -> Dismissal | None:
        try:
            doc = self.es.get(index=self.index, id=_doc_id(term))
        except NotFoundError:
            return None
        return self._dismissal(doc["_source"])

    def dismissals(self) -> list[Dismissal]:
        result = self.es.search(
            index=self.index,
            size=10_000,
            sort=[{"time": "desc"}, {"term": "asc"}],
            query={"match_all": {}},
        )
        return [self._dismissal(h["_source"]) for h in result["hits"]["hits"]]

    def undismiss(self, term: str) -> bool:
        try:
            self.es.delete(index=self.index, id=_doc_id(term), refresh=True)
        except NotFoundError:
            return False
        return True

    def save_report(self, report: DiscoveryReport) -> None:
        if report.time.tzinfo is None:
            raise QueryError("time needs a time zone", "time")
        body = {"time": report.time.isoformat(), "data": report.data}
        self.es.index(index=self.reports, id=_LATEST, document=body, refresh=True)

    def latest_report(self) -> DiscoveryReport | None:
        try:
            doc = self.es.get(index=self.reports, id=_LATEST)
        except NotFoundError:
            return None
        src = doc["_source"]
        return DiscoveryReport(
            datetime.fromisoformat(src["time"]).astimezone(self.store.tz), src["data"]
        )

    def _dismissal(self, src: dict[str, Any]) -> Dismissal:
        return Dismissal(
            term=src["term"],
            actor=src["actor"],
            time=datetime.fromisoformat(src["time"]).astimezone(self.store.tz),
            window_df=int(src["window_df"]),
            score=float(src["score"]),
        )
