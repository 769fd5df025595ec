"""``yuqing status``: the state of every part, read from the store (and the API's health
URL when it answers), so it works from any machine that reaches the store."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from crawler import health
from crawler.scheduler import CrawlScheduler
from store import Store, StoreError
from store.model import AlertStatus
from store.secrets import redact_url
from yuqing.config import Config

ALERT_STATUSES: tuple[AlertStatus, ...] = ("new", "acknowledged", "handling", "responded", "closed")
COUNT_CAP = 10_000  # alerts counted per status; more shows as this figure and "+"


def api_url(config: Config) -> str:
    host = config.api.host
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://{host}:{config.api.port}/api/health"


def collect(config: Config, store: Store, now: datetime) -> dict[str, Any]:
    """Everything ``yuqing status`` shows, as data."""
    try:
        store_health: dict[str, Any] = {"ok": True, **store.health()}
    except StoreError as e:
        store_health = {"ok": False, "error": str(e)}
    return {
        "time": now.isoformat(),
        "store": store_health,
        "api": _api(api_url(config)),
        "sources": _sources(store, now),
        "alerts": {s: len(store.alerts.list(status=[s], limit=COUNT_CAP)) for s in ALERT_STATUSES},
        "outbox": {"pending": 0, "sending": 0, "sent": 0, "failed": 0} | store.outbox.counts(),
        "emergency": [
            {
                "scope": s.scope,
                "since": s.since.isoformat(),
                "until": s.until.isoformat() if s.until else None,
                "actor": s.actor,
                "reason": s.reason,
            }
            for s in store.emergencies.list()
            if s.on and (s.until is None or now < s.until)
        ],
    }


def collect_without_store(config: Config, error: str, now: datetime) -> dict[str, Any]:
    """What ``yuqing status`` can still tell when the store cannot be opened: which part is
    down, and whether the API answers."""
    return {
        "time": now.isoformat(),
        "store": {"ok": False, "url": redact_url(config.store.url), "error": error},
        "api": _api(api_url(config)),
    }


def _api(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return {"url": url, "up": True, "health": json.load(answer)}
    except (OSError, ValueError) as e:
        reason = e.reason if isinstance(e, urllib.error.URLError) else e
        return {"url": url, "up": False, "error": str(reason)}


def _sources(store: Store, now: datetime) -> list[dict[str, Any]]:
    # The scheduler's own rule (last run plus interval), so this is what a running or
    # restarted scheduler does next.
    rows = []
    sources = store.sources.list()
    recent = store.runs.recent_many([s.id for s in sources], 50)
    for source in sources:
        found = health.assess(source.id, recent[source.id])
        last = next(iter(recent[source.id]), None)  # running or abandoned too
        interval = source.effective_interval(now)
        rows.append(
            {
                "id": source.id,
                "enabled": source.enabled,
                "interval": interval,
                "last_run": last.started.isoformat() if last else None,
                "outcome": last.outcome if last else None,
                "last_success": found.last_success.isoformat() if found.last_success else None,
                "next_run": (
                    CrawlScheduler.next_due(
                        last.started if last else None, interval, now
                    ).isoformat()
                    if source.enabled
                    else None
                ),
                "problems": found.problems,
            }
        )
    return rows
