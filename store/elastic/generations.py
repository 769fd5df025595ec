"""Time-based indices for items: generations behind one alias, rolled over and expired.

Items live in generations ``<alias>-v1-000001``, ``-000002``, ... that share the alias
``<alias>``; the newest is its write index. Search, facets, backtests and reports read the
alias and so span every generation. Rollover (the core ``_rollover`` API, by age or
primary shard size) starts a new generation; retention deletes a whole generation once its
newest item was first seen longer ago than the retention. Index lifecycle management is
not in the minimal distribution, so yuqing applies this policy itself (:meth:`maintain`,
run by whichever process writes items, at most every few minutes).

An installation from before (one index behind the alias) keeps working as it is;
:meth:`migrate` moves its items into monthly archive generations, resumably: an item is
copied, then deleted from the old index only if nobody changed it meanwhile, so a run
that stops anywhere simply continues with what is left.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from elasticsearch import BadRequestError, NotFoundError

from store.elastic.common import SCHEMA_VERSION

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore


@dataclass(frozen=True)
class Lifecycle:
    """When a generation rolls over and how long items are kept."""

    rollover_age: str = "7d"  # Elasticsearch time units
    rollover_size: str = "50gb"  # largest primary shard of the write generation
    retention_days: int = 90  # 0 keeps everything
    check_every: float = 300.0  # seconds between two checks by one process


@dataclass
class MigrationReport:
    moved: int = 0
    left: int = 0
    legacy: list[str] = field(default_factory=list)
    archives: list[str] = field(default_factory=list)
    done: bool = False


@dataclass(frozen=True)
class Members:
    """The indices behind the alias, and which one takes new documents."""

    write: str
    others: list[str]

    @property
    def all(self) -> list[str]:
        return [*self.others, self.write]


class Generations:
    """The generations of one alias (``<prefix><name>``)."""

    def __init__(
        self, store: ElasticStore, name: str, mapping: dict[str, Any], lifecycle: Lifecycle
    ) -> None:
        self.store = store
        self.es = store.es
        self.alias = store.prefix + name
        self.mapping = mapping
        self.lifecycle = lifecycle
        base = re.escape(f"{self.alias}-v{SCHEMA_VERSION}")
        self._generation = re.compile(rf"^{base}-\d{{6}}$")
        self._archive = re.compile(rf"^{base}-archive-\d{{4}}-\d{{2}}$")
        self._checked = 0.0
        self._lock = threading.Lock()

    def first_name(self) -> str:
        return f"{self.alias}-v{SCHEMA_VERSION}-000001"

    def ensure(self) -> str:
        """Create the first generation unless the alias exists; check the mapping of
        every index behind it. Returns the alias."""
        if not self.es.indices.exists_alias(name=self.alias):
            try:
                self.es.indices.create(
                    index=self.first_name(),
                    mappings=self.mapping,
                    settings=self.store.index_settings(),
                    aliases={self.alias: {"is_write_index": True}},
                )
                return self.alias
            except BadRequestError as e:
                # Another process created it first: check it like any existing one.
                if e.error != "resource_already_exists_exception":
                    raise
        self.store.wait_started(self.members().write)
        self.store.check_mapping(self.alias, self.mapping)
        return self.alias

    def members(self) -> Members:
        """Read from the cluster state each time: another process may have rolled over."""
        found = self.es.indices.get_alias(name=self.alias)
        names = sorted(found)
        flagged = [n for n in names if found[n]["aliases"][self.alias].get("is_write_index")]
        write = flagged[0] if flagged else names[-1]  # one index alone is the write index
        return Members(write, [n for n in names if n != write])

    def legacy(self, members: Members | None = None) -> list[str]:
        """Indices behind the alias from before generations (one index per alias)."""
        members = members or self.members()
        return [n for n in members.all if not (self._generation.match(n) or self._archive.match(n))]

    # -- lifecycle ----------------------------------------------------------------------

    def maybe_maintain(self, now: datetime | None = None) -> None:
        """:meth:`maintain` if this process has not checked for a while."""
        if time.monotonic() - self._checked < self.lifecycle.check_every:
            return
        with self._lock:
            if time.monotonic() - self._checked < self.lifecycle.check_every:
                return
            self._checked = time.monotonic()
        self.maintain(now)

    def maintain(self, now: datetime | None = None, *, force: bool = False) -> dict[str, Any]:
        """Roll over if the write generation is old or big enough (or ``force``), then
        delete generations past the retention. Returns what was done."""
        now = now or datetime.now(UTC)
        rolled = self.rollover(force=force)
        return {"rolled_over": rolled, "deleted": self.expire(now)}

    def rollover(self, *, force: bool = False) -> str | None:
        """Start a new generation; returns its name, or None if none was due."""
        members = self.members()
        if not self._generation.match(members.write):
            # A legacy single index is not rolled over: `yuqing store migrate` first.
            return None
        conditions = {
            "max_age": self.lifecycle.rollover_age,
            "max_primary_shard_size": self.lifecycle.rollover_size,
        }
        try:
            result = self.es.indices.rollover(
                alias=self.alias,
                conditions=None if force else conditions,
                mappings=self.mapping,
                settings=self._settings_like(members.write),
            )
        except BadRequestError as e:
            # Another process rolled over at the same moment: theirs counts.
            if e.error != "resource_already_exists_exception":
                raise
            return None
        if not result.get("rolled_over"):
            return None
        # Make every item of the old generation visible to the id look-ups of upserts
        # (writes within the last refresh interval would otherwise be missed).
        self.es.indices.refresh(index=result["old_index"])
        return str(result["new_index"])

    def _settings_like(self, index: str) -> dict[str, Any]:
        """The new generation gets the shard count the store asks for and the replicas
        of the generation before it, so ``yuqing store replicas N`` lasts."""
        settings = dict(self.store.index_settings())
        current = self.es.indices.get_settings(index=index, flat_settings=True)[index]
        have = current["settings"]
        auto = have.get("index.auto_expand_replicas", "false")
        settings.pop("auto_expand_replicas", None)
        settings.pop("number_of_replicas", None)
        if auto != "false":
            settings["auto_expand_replicas"] = auto
        else:
            settings["number_of_replicas"] = int(have.get("index.number_of_replicas", 0))
        return settings

    def newest(self) -> dict[str, datetime | None]:
        """The newest ``first_seen`` of each index behind the alias (None if empty)."""
        members = self.members()
        result = self.es.search(
            index=self.alias,
            size=0,
            aggs={
                "per_index": {
                    "terms": {"field": "_index", "size": 10_000},
                    "aggs": {"newest": {"max": {"field": "first_seen"}}},
                }
            },
        )
        out: dict[str, datetime | None] = dict.fromkeys(members.all)
        for bucket in result["aggregations"]["per_index"]["buckets"]:
            millis = bucket["newest"]["value"]
            if millis is not None:
                out[bucket["key"]] = datetime.fromtimestamp(millis / 1000, UTC)
        return out

    def expire(self, now: datetime) -> list[str]:
        """Delete generations whose newest item is older than the retention; never the
        write generation, never a legacy index."""
        if self.lifecycle.retention_days <= 0:
            return []
        cutoff = now - timedelta(days=self.lifecycle.retention_days)
        members = self.members()
        doomed = [
            index
            for index, newest in self.newest().items()
            if index != members.write
            and (self._generation.match(index) or self._archive.match(index))
            and newest is not None
            and newest < cutoff
        ]
        for index in doomed:
            with suppress(NotFoundError):  # another process expired it first
                self.es.indices.delete(index=index)
        return doomed

    # -- items across generations ---------------------------------------------------------

    def locate(self, ids: Iterable[str], members: Members) -> dict[str, list[str]]:
        """The older generations holding each of ``ids`` (during a migration an item may
        briefly be in two). The write generation is left out: creating there answers
        409 for items it holds."""
        wanted = list(dict.fromkeys(ids))
        if not members.others or not wanted:
            return {}
        found = self.es.search(
            index=members.others,
            query={"ids": {"values": wanted}},
            size=len(wanted) * 2,
            source=False,
        )["hits"]["hits"]
        homes: dict[str, list[str]] = {}
        for hit in found:
            homes.setdefault(hit["_id"], []).append(hit["_index"])
        return homes

    # -- migration from one index --------------------------------------------------------

    def archive_name(self, first_seen: str) -> str:
        month = datetime.fromisoformat(first_seen).astimezone(UTC).strftime("%Y-%m")
        return f"{self.alias}-v{SCHEMA_VERSION}-archive-{month}"

    def migrate(
        self,
        batch: int = 1000,
        progress: Callable[[MigrationReport], None] | None = None,
        max_batches: int | None = None,
    ) -> MigrationReport:
        """Move the items of a legacy index into monthly archive generations (by
        ``first_seen``) and give the alias a write generation. Safe to stop at any point
        and to run again; live writers may go on meanwhile."""
        members = self.members()
        report = MigrationReport(legacy=self.legacy(members))
        if not report.legacy:
            report.done = True
            return report
        if not self._generation.match(members.write):
            self._add_write_generation(members)
        archives: set[str] = set(self.es.indices.get_alias(name=self.alias))
        rounds = 0
        while True:
            hits = self.es.search(
                index=report.legacy,
                size=batch,
                sort=["_doc"],
                seq_no_primary_term=True,
                track_total_hits=True,
            )
            report.left = int(hits["hits"]["total"]["value"])
            if not hits["hits"]["hits"] or (max_batches is not None and rounds >= max_batches):
                break
            rounds += 1
            report.moved += self._move(hits["hits"]["hits"], archives)
            report.left = max(0, report.left - len(hits["hits"]["hits"]))
            if progress is not None:
                progress(report)
        report.archives = sorted(a for a in archives if self._archive.match(a))
        if report.left == 0:
            self._drop_legacy(report.legacy)
            report.done = True
        return report

    def _add_write_generation(self, members: Members) -> None:
        name = self.first_name()
        if self.es.indices.exists(index=name):
            # An earlier run made it but stopped before the alias change.
            self.es.indices.update_aliases(
                actions=[{"add": {"index": name, "alias": self.alias, "is_write_index": True}}]
            )
            return
        self.es.indices.create(
            index=name,
            mappings=self.mapping,
            settings=self._settings_like(members.write),
            aliases={self.alias: {"is_write_index": True}},
        )

    def _move(self, hits: list[dict[str, Any]], archives: set[str]) -> int:
        ops: list[dict[str, Any]] = []
        for hit in hits:
            target = self.archive_name(hit["_source"]["first_seen"])
            if target not in archives:
                self._create_archive(target)
                archives.add(target)
            # ``index`` (not ``create``): a copy left by a run that stopped is overwritten.
            ops += [{"index": {"_index": target, "_id": hit["_id"]}}, hit["_source"]]
        self._bulk(ops, refresh=True)
        deletes = [
            {
                "delete": {
                    "_index": hit["_index"],
                    "_id": hit["_id"],
                    "if_seq_no": hit["_seq_no"],
                    "if_primary_term": hit["_primary_term"],
                }
            }
            for hit in hits
        ]
        result = self._bulk(deletes, refresh=True)
        # A conflict means a writer changed the item after it was read: it stays in the
        # old index and is copied again, as it is now, in a later round.
        return sum(1 for e in result["items"] if e["delete"]["status"] in (200, 404))

    def _create_archive(self, name: str) -> None:
        try:
            self.es.indices.create(
                index=name,
                mappings=self.mapping,
                settings=self._settings_like(self.members().write),
                aliases={self.alias: {"is_write_index": False}},
            )
        except BadRequestError as e:
            if e.error != "resource_already_exists_exception":
                raise
            self.es.indices.update_aliases(
                actions=[{"add": {"index": name, "alias": self.alias, "is_write_index": False}}]
            )

    def _bulk(self, ops: list[dict[str, Any]], refresh: bool = False) -> Any:
        result = self.es.bulk(operations=ops, refresh=refresh)
        for entry in result["items"]:
            ((action, status),) = entry.items()
            if status["status"] >= 300 and status["status"] not in (404, 409):
                raise RuntimeError(f"{action} {status['_id']}: {status.get('error')}")
        return result

    def _drop_legacy(self, legacy: list[str]) -> None:
        self.es.indices.refresh(index=self.alias)
        if int(self.es.count(index=legacy)["count"]):
            return  # a writer added to it meanwhile: the next run moves the rest
        self.es.indices.update_aliases(
            actions=[{"remove": {"index": name, "alias": self.alias}} for name in legacy]
        )
        self.es.indices.delete(index=",".join(legacy))
