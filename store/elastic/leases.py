"""Named leases in Elasticsearch: one document per name, taken with a ``create`` op when
there is none and otherwise written only at the ``if_seq_no``/``if_primary_term`` read
just before, so of two processes racing for a name exactly one wins."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from elasticsearch import ConflictError as EsConflict
from elasticsearch import NotFoundError

from store.base import LeaseRepo, check_lease
from store.elastic.common import SCHEMA_VERSION, ensure_index_racing
from store.model import Lease

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

LEASE_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "holder": {"type": "keyword"},
        "until": {"type": "date"},
        "acquired": {"type": "date"},
    },
}


class ElasticLeases(LeaseRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es

    @cached_property
    def index(self) -> str:
        return ensure_index_racing(self.store, "service-leases", LEASE_MAPPING)

    def _read(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.es.get(index=self.index, id=name))
        except NotFoundError:
            return None

    def acquire(self, name: str, holder: str, until: datetime, now: datetime) -> Lease | None:
        check_lease(name, holder, until, now)
        doc = self._read(name)
        lease = None if doc is None else self._lease(name, doc["_source"])
        if lease is not None and lease.holder != holder and lease.until > now:
            return None
        acquired = lease.acquired if lease is not None and lease.holder == holder else now
        body = {"holder": holder, "until": until.isoformat(), "acquired": acquired.isoformat()}
        # ``refresh`` is not needed: leases are only read by id, which is real-time.
        try:
            if doc is None:
                self.es.index(index=self.index, id=name, document=body, op_type="create")
            else:
                self.es.index(
                    index=self.index,
                    id=name,
                    document=body,
                    if_seq_no=doc["_seq_no"],
                    if_primary_term=doc["_primary_term"],
                )
        except EsConflict:
            return None  # another process wrote first: it holds the lease
        return self._lease(name, body)

    def release(self, name: str, holder: str) -> bool:
        doc = self._read(name)
        if doc is None or doc["_source"]["holder"] != holder:
            return False
        try:
            self.es.delete(
                index=self.index,
                id=name,
                if_seq_no=doc["_seq_no"],
                if_primary_term=doc["_primary_term"],
            )
        except (EsConflict, NotFoundError):
            return False  # renewed or taken over meanwhile
        return True

    def get(self, name: str) -> Lease | None:
        doc = self._read(name)
        return None if doc is None else self._lease(name, doc["_source"])

    def _lease(self, name: str, source: dict[str, Any]) -> Lease:
        return Lease(
            name,
            source["holder"],
            datetime.fromisoformat(source["until"]).astimezone(self.store.tz),
            datetime.fromisoformat(source["acquired"]).astimezone(self.store.tz),
        )
