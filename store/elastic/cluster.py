"""The Elasticsearch backend, for one node or a cluster.

Uses core features only (standard analyzer, match_phrase, intervals, bool, bulk,
core aggregations, highlighting, aliases): no scripts, no analysis plugins, no
reindex or update-by-query, so it runs on the minimal test distribution too.
The standard analyzer emits one token per Han character, which gives phrase
queries the same substring semantics as the SQLite backend.
"""

from __future__ import annotations

import time
from typing import Any
from zoneinfo import ZoneInfo

from elastic_transport import TransportError
from elasticsearch import ApiError, BadRequestError, Elasticsearch

from store.base import Store
from store.elastic import (
    alerts,
    audit,
    fetches,
    health,
    items,
    library,
    outbox,
    policies,
    runs,
    sources,
    users,
)
from store.elastic.common import SCHEMA_VERSION
from store.errors import SchemaMismatch, StoreUnavailable


class ElasticStore(Store):
    """The store on the Elasticsearch cluster at ``url``.

    ``prefix`` namespaces the indices (tests use their own); ``refresh`` makes
    each write visible to search before it returns (tests; slower for ingest).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "yuqing-",
        tz: str = "Asia/Shanghai",
        refresh: bool = False,
        wait_seconds: float = 30.0,
        shards: int = 1,
        replicas: int = 0,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.tz = ZoneInfo(tz)
        self.refresh: bool | str = "wait_for" if refresh else False
        self.es = Elasticsearch(
            url.split(","), request_timeout=30, max_retries=3, retry_on_timeout=True
        )
        self._wait(wait_seconds)
        self.settings = {"number_of_shards": shards, "number_of_replicas": replicas}
        self.items = items.ElasticItems(self)
        self.library = library.ElasticLibrary(self)
        self.audit = audit.ElasticAudit(self)
        self.sources = sources.ElasticSources(self)
        self.runs = runs.ElasticRuns(self)
        self.fetches = fetches.ElasticFetches(self)
        self.health_events = health.ElasticHealth(self)
        self.alerts = alerts.ElasticAlerts(self)
        self.alert_timeline = alerts.ElasticTimeline(self)
        self.outbox = outbox.ElasticOutbox(self)
        self.alert_policies = policies.ElasticPolicies(self)
        self.emergencies = policies.ElasticEmergencies(self)
        self.users = users.ElasticUsers(self)
        self.tokens = users.ElasticTokens(self)

    def _wait(self, seconds: float) -> None:
        """Wait for the cluster with backoff; a clear error naming the URL if it never comes."""
        deadline, delay, last = time.monotonic() + seconds, 0.25, ""
        while True:
            try:
                health = self.es.cluster.health(wait_for_status="yellow", timeout="5s")
                if not health.get("timed_out"):
                    return
                last = f"cluster status {health.get('status')}"
            except (TransportError, ApiError) as e:
                last = str(e)
            if time.monotonic() >= deadline:
                raise StoreUnavailable(
                    f"Elasticsearch at {self.display_url} is not reachable: {last}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 4.0)

    def ensure_index(self, name: str, mapping: dict[str, Any]) -> str:
        """Create ``<prefix><name>`` (an alias over ``-v1``) or check that the existing
        mapping agrees with ``mapping``. Never reindexes or drops anything."""
        alias = self.prefix + name
        if not self.es.indices.exists(index=alias):
            try:
                self.es.indices.create(
                    index=f"{alias}-v{SCHEMA_VERSION}",
                    mappings=mapping,
                    settings=self.settings,
                    aliases={alias: {}},
                )
                return alias
            except BadRequestError as e:
                # Another process (a second crawler, say) created it first: check it below.
                if e.error != "resource_already_exists_exception":
                    raise
        self._wait_started(alias)
        current = self.es.indices.get_mapping(index=alias)
        for index, body in current.items():
            props = body["mappings"].get("properties", {})
            for field, spec in mapping["properties"].items():
                have = props.get(field)
                if have is None:
                    continue
                if have.get("type", "object") != spec["type"]:
                    raise SchemaMismatch(
                        f"index {index}: field {field!r} is {have.get('type', 'object')}, "
                        f"yuqing needs {spec['type']}; refusing to change it. Move the data "
                        "to a new index by hand or point yuqing at another prefix."
                    )
            missing = {f: s for f, s in mapping["properties"].items() if f not in props}
            if missing:
                self.es.indices.put_mapping(index=index, properties=missing)
        return alias

    def _wait_started(self, alias: str, seconds: float = 30.0) -> None:
        """Wait until ``alias`` serves documents. An index another process created a moment
        ago may still be starting its primary shard, and until then every read or write of
        it fails with 503 no_shard_available; cluster health may already call it yellow."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.es.options(ignore_status=404).get(index=alias, id="-")
                return
            except ApiError as e:
                if e.meta.status != 503 or time.monotonic() >= deadline:
                    raise
            time.sleep(0.05)

    def close(self) -> None:
        self.es.close()

    def health(self) -> dict[str, Any]:
        health = self.es.cluster.health()
        return {
            "backend": "elasticsearch",
            "url": self.display_url,
            "status": health["status"],
            "nodes": health["number_of_nodes"],
            "items": self.items.count(),
        }
