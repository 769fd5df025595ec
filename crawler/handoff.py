"""New hits -> alerting, the last pipeline step, and the re-drive of hand-offs that failed.

Items are stored before they are handed over, so a failing hand-off loses nothing: the
store step logs it and records it in the run (reason :data:`FAILED`). The next run of
the source hands the items with hits again, from the store, first seen since the oldest
run of the unbroken streak of runs whose hand-off failed or whose process died (outcome
``lost``, or ``abandoned`` by a service shutting down). Alerting keeps one alert per
(rule, event), so a re-driven item never makes a second alert; an item handed twice (one
whose batch had got through before the process died) only counts twice in its alert's
tally.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from store import Item, ItemQuery, Store
from store.model import CrawlRun, HealthEvent

log = logging.getLogger(__name__)

FAILED = "alerting failed"
CRASHED = "crashed"  # the reason recorded for a run whose process died with an exception
Handoff = Callable[[list[Item]], Any]
_PAGE = 500


def report_health(handler: Callable[[list[HealthEvent]], Any], events: list[HealthEvent]) -> None:
    """Hand the run's health events to ``handler``. They are stored already; a failing
    handler is logged and the crawl's outcome stands."""
    try:
        handler(events)
    except Exception:
        log.exception("health events of %s not handed to alerting", events[0].source_id)


def failed(run: CrawlRun) -> bool:
    """Whether some new hits of ``run`` may not have reached alerting."""
    if run.outcome in ("lost", "abandoned"):  # the process died or was stopped mid-run
        return True
    return any(e["reason"].startswith(FAILED) for e in run.errors)


def unhanded_since(runs: list[CrawlRun]) -> datetime | None:
    """Start of the oldest run of the streak (``runs`` newest first) whose hand-off failed;
    None if the newest did not fail."""
    since = None
    for run in runs:
        if not failed(run):
            break
        since = run.started
    return since


def stored_hits(
    store: Store, source_id: str, since: datetime, until: datetime
) -> Iterator[list[Item]]:
    """The source's stored items with hits first seen in [since, until), page by page."""
    page = 1
    while True:
        query = ItemQuery(
            sources=[source_id],
            since=since,
            until=until,
            sort="first_seen",
            descending=False,
            page=page,
            size=_PAGE,
            highlight=False,
        )
        found = [f.item for f in store.items.search(query).hits]
        hits = [item for item in found if item.rules]
        if hits:
            yield hits
        if len(found) < _PAGE:
            return
        page += 1


def redrive(
    store: Store, run: CrawlRun, earlier: list[CrawlRun], hand: Handoff
) -> list[dict[str, str]]:
    """Hand the hits of ``earlier`` runs (newest first) whose hand-off failed to ``hand``
    again; the errors to record in ``run`` (none if all went through)."""
    since = unhanded_since(earlier)
    if since is None:
        return []
    handed = 0
    try:
        for batch in stored_hits(store, run.source_id, since, run.started):
            hand(batch)
            handed += len(batch)
    except Exception as e:
        log.exception("re-driving alerting for %s failed", run.source_id)
        # Keeps the streak going: the next run tries again from the same start.
        return [{"url": "-", "reason": f"{FAILED} (re-drive since {since.isoformat()}): {e}"}]
    log.info("re-drove %d hits of %s since %s to alerting", handed, run.source_id, since)
    return []
