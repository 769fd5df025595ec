"""The Elasticsearch backend, for one node or a cluster.

Uses core features only (standard analyzer, match_phrase, intervals, bool, bulk,
core aggregations, highlighting, aliases): no scripts, no analysis plugins, no
reindex or update-by-query, so it runs on the minimal test distribution too.
The standard analyzer emits one token per Han character, which gives phrase
queries the same substring semantics as the SQLite backend.
"""

from __future__ import annotations

import time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from elastic_transport import TransportError
from elasticsearch import ApiError, BadRequestError, Elasticsearch

from store.base import Store
from store.elastic import (
    alerts,
    audit,
    channels,
    discovery,
    fetches,
    health,
    items,
    leases,
    library,
    outbox,
    policies,
    replication,
    runs,
    sources,
    users,
)
from store.elastic.common import SCHEMA_VERSION
from store.elastic.generations import Lifecycle
from store.errors import SchemaMismatch, StoreUnavailable


class ElasticStore(Store):
    """The store on the Elasticsearch cluster at ``url``.

    ``prefix`` namespaces the indices (tests use their own); ``refresh`` makes
    each write visible to search before it returns (tests; slower for ingest).
    ``replicas`` applies to new indices: ``"auto"`` gives each one replica as soon as
    the cluster has a second node (and none on a single node, where a replica could
    never be placed); items roll over and expire by ``lifecycle``.
    """

    items: items.ElasticItems

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "yuqing-",
        tz: str = "Asia/Shanghai",
        refresh: bool = False,
        wait_seconds: float = 30.0,
        shards: int = 1,
        replicas: int | Literal["auto"] = "auto",
        lifecycle: Lifecycle | dict[str, Any] | None = None,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.tz = ZoneInfo(tz)
        self.refresh: bool | str = "wait_for" if refresh else False
        self.es = Elasticsearch(
            url.split(","), request_timeout=30, max_retries=3, retry_on_timeout=True
        )
        self._wait(wait_seconds)
        self.shards, self.replicas = shards, replicas
        if isinstance(lifecycle, dict):  # from the configuration, as plain data
            lifecycle = Lifecycle(**lifecycle)
        self.lifecycle = lifecycle or Lifecycle()
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
        self.sessions = users.ElasticSessions(self)
        self.channels = channels.ElasticChannels(self)
        self.routing = channels.ElasticRouting(self)
        self.leases = leases.ElasticLeases(self)
        self.discovery = discovery.ElasticDiscovery(self)

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

    def index_settings(self) -> dict[str, Any]:
        """Settings for a new index."""
        if self.replicas == "auto":
            return {"number_of_shards": self.shards, "auto_expand_replicas": "0-1"}
        return {
            "number_of_shards": self.shards,
            "number_of_replicas": self.replicas,
            "auto_expand_replicas": False,
        }

    def ensure_index(self, name: str, mapping: dict[str, Any]) -> str:
        """Create ``<prefix><name>`` (an alias over ``-v1``) or check that the existing
        mapping agrees with ``mapping``. Never reindexes or drops anything."""
        alias = self.prefix + name
        if not self.es.indices.exists(index=alias):
            try:
                self.es.indices.create(
                    index=f"{alias}-v{SCHEMA_VERSION}",
                    mappings=mapping,
                    settings=self.index_settings(),
                    aliases={alias: {}},
                )
                return alias
            except BadRequestError as e:
                # Another process (a second crawler, say) created it first: check it below.
                if e.error != "resource_already_exists_exception":
                    raise
        self.wait_started(alias)
        self.check_mapping(alias, mapping)
        return alias

    def check_mapping(self, alias: str, mapping: dict[str, Any]) -> None:
        """Refuse an index behind ``alias`` whose fields have other types than
        ``mapping`` says; add the fields it lacks (an index of an older yuqing)."""
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

    def wait_started(self, alias: str, seconds: float = 30.0) -> None:
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
        out: dict[str, Any] = {
            "backend": "elasticsearch",
            "url": self.display_url,
            "status": health["status"],
            "nodes": health["number_of_nodes"],
            "items": self.items.count(),
        }
        warnings = replication.warnings(self, dict(health))
        if self.items.generations.legacy():
            warnings.append(
                "items are in one index from an earlier yuqing: run `yuqing store migrate` "
                "for time-based indices and retention"
            )
        if warnings:
            out["warnings"] = warnings
        return out
