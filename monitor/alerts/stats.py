"""Figures for reports, from the stored alerts: counts per rule and severity, times to
acknowledge and respond, the on-time rate (按时处置率), latency stages, and per rule the
precision estimated from false-positive closes with exclusion words to consider."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any

from monitor.alerts.settings import Deadlines
from monitor.alerts.tickets import STEPS, due_at, step_done
from store import Store
from store.model import Alert

MAX_ALERTS = 10_000
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50 and p95 (nearest rank) of ``values``; None when there are none."""
    if not values:
        return {"p50": None, "p95": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))], 3)

    return {"p50": rank(0.5), "p95": rank(0.95)}


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


def _spread(alerts: list[Alert], start: str, end: str) -> dict[str, float | None]:
    values = [_seconds(getattr(a, start), getattr(a, end)) for a in alerts]
    return percentiles([v for v in values if v is not None])


def on_time(alert: Alert, deadlines: dict[str, Deadlines]) -> bool:
    """Every step done by its deadline."""
    return all(
        (done := step_done(alert, s)) is not None and done <= due_at(alert, s, deadlines)
        for s in STEPS
    )


def report(
    store: Store,
    deadlines: dict[str, Deadlines],
    since: datetime,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The figures over alerts created since ``since`` (and before ``until``; times in
    seconds)."""
    alerts = [
        a
        for a in store.alerts.list(since=since, limit=MAX_ALERTS)
        if a.kind != "health" and (until is None or a.created < until)
    ]
    # Backfill alerts (old news, crawler.backfill) have no deadlines, and their publish ->
    # first seen spans years: they stay out of the on-time rate and the latency figures.
    news = [a for a in alerts if not a.backfill]
    handled = [a for a in news if a.status == "closed" and a.close_reason == "handled"]
    return {
        "alerts": len(alerts),
        "per_rule": dict(Counter(a.rule for a in alerts)),
        "per_severity": dict(Counter(a.severity for a in alerts)),
        "time_to_acknowledge": _spread(alerts, "created", "acknowledged"),
        "time_to_respond": _spread(alerts, "created", "responded"),
        "on_time_rate": (
            round(sum(on_time(a, deadlines) for a in handled) / len(handled), 3)
            if handled
            else None
        ),
        "backfill_alerts": len(alerts) - len(news),
        "latency": {
            "publish_to_first_seen": _spread(news, "publish_time", "first_seen"),
            "first_seen_to_matched": _spread(news, "first_seen", "matched"),
            "matched_to_emailed": _spread(news, "matched", "emailed"),
            "first_seen_to_emailed": _spread(news, "first_seen", "emailed"),
        },
        "rules": {
            rule: precision(store, [a for a in alerts if a.rule == rule])
            for rule in {a.rule for a in alerts}
        },
    }


def precision(store: Store, alerts: list[Alert]) -> dict[str, Any]:
    """One rule's precision over its closed alerts (false-positive closes count against
    it), and words found only in its false positives, in two or more of them."""
    closed = [a for a in alerts if a.status == "closed" and a.close_reason != "duplicate"]
    false = [a for a in closed if a.close_reason == "false_positive"]
    true = [a for a in closed if a.close_reason != "false_positive"]
    seen_true = set().union(*(_words(store, a) for a in true)) if true else set()
    counts = Counter(w for a in false for w in _words(store, a) - seen_true)
    return {
        "closed": len(closed),
        "false_positives": len(false),
        "precision": round(1 - len(false) / len(closed), 3) if closed else None,
        "exclusion_suggestions": [w for w, n in counts.most_common(10) if n >= 2],
    }


def _words(store: Store, alert: Alert) -> set[str]:
    """Two-character words of the alert's item, less the words that matched."""
    item = store.items.get(alert.item_id) if alert.item_id else None
    text = alert.title + ("\n" + item.body if item else "")
    matched = {str(h.get("word", "")) for h in alert.hits}
    pairs = {run[i : i + 2] for run in _HAN_RUN.findall(text) for i in range(len(run) - 1)}
    return {p for p in pairs if not any(p in m or m in p for m in matched if m)}
