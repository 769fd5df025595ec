"""Daily and weekly reports: figures over items, events, alerts and source health, each
with a link to the data behind it (read-only, over the store; built for the API and
console, which is why it sits in the API layer: it draws on alerting and crawling both;
nothing new is stored). The API and the console render the same data.

Every figure carries ``link``: the console page (search, alerts, source) that shows the
items or alerts behind it, so each sentence of a report can be checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import quote, urlencode

from analysis.gazetteer import Gazetteer
from analysis.item import default as default_analyzer
from crawler import health
from keywords.library import KeywordLibrary
from keywords.model import Library
from keywords.places import gazetteer_of
from monitor.alerts import stats as alert_stats
from monitor.alerts.routing import within
from monitor.alerts.settings import Deadlines
from monitor.discovery.health import rule_health
from store import ItemQuery, Store
from store.model import Alert, CrawlRun, Item, Source

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.get(severity, len(SEVERITY_ORDER))


MAIN_EVENTS = 10
HEALTH_RUNS = 50  # recent runs a source's health is judged on
ITEMS_PER_EVENT = 5
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_REGION_FACT = re.compile(r"region(?:\.primary)?:(\d{2}[\d-]*)")
REGIONS = 10  # watched regions in a report
TOWNSHIPS = 40  # townships of one watched region


class PeriodError(ValueError):
    """A date or week that cannot be read; ``field`` names the parameter."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass
class Period:
    kind: str  # daily, weekly or range
    label: str
    since: datetime
    until: datetime

    def public(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "label": self.label,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
        }


def day(text: str, zone: tzinfo | None) -> Period:
    """The day ``YYYY-MM-DD`` in ``zone``."""
    try:
        first = date.fromisoformat(text)
    except ValueError as e:
        raise PeriodError("date", f"{text!r} is not a date like 2026-11-25") from e
    since = datetime.combine(first, time(), zone)
    return Period("daily", first.isoformat(), since, since + timedelta(days=1))


def week(text: str, zone: tzinfo | None) -> Period:
    """The ISO week ``YYYY-Www`` (Monday to Sunday) in ``zone``."""
    found = _WEEK.match(text)
    try:
        if not found:
            raise ValueError(text)
        monday = date.fromisocalendar(int(found.group(1)), int(found.group(2)), 1)
    except ValueError as e:
        raise PeriodError("week", f"{text!r} is not an ISO week like 2026-W48") from e
    since = datetime.combine(monday, time(), zone)
    return Period("weekly", text, since, since + timedelta(days=7))


def current_week(now: datetime) -> str:
    year, number, _ = now.isocalendar()
    return f"{year}-W{number:02d}"


def search_link(period: Period, **filters: str | list[str]) -> str:
    """The console search for items first seen in ``period`` with ``filters`` (several
    values of one filter are comma-separated: any of them)."""
    params = {"since": period.since.isoformat(), "until": period.until.isoformat()}
    for name, value in filters.items():
        params[name] = value if isinstance(value, str) else ",".join(value)
    return "/search?" + urlencode(params)


def alerts_link(period: Period, **filters: str) -> str:
    """The console alert list for alerts created in ``period``."""
    params = {"since": period.since.isoformat(), "until": period.until.isoformat(), **filters}
    return "/alerts?" + urlencode(params)


def source_link(source_id: str) -> str:
    return f"/sources/{quote(source_id, safe='')}"


def runs_link(source_id: str, period: Period) -> str:
    """The source page listing its runs started in ``period``."""
    span = {"since": period.since.isoformat(), "until": period.until.isoformat()}
    return f"{source_link(source_id)}?{urlencode(span)}"


def _count(store: Store, period: Period, **filters: Any) -> int:
    query = ItemQuery(since=period.since, until=period.until, size=1, highlight=False, **filters)
    return store.items.search(query).total


def _figure(value: Any, link: str, **more: Any) -> dict[str, Any]:
    return {"value": value, "link": link, **more}


def rule_names(store: Store) -> list[str]:
    """Rules of the current library, in its order."""
    _, library = KeywordLibrary(store).current()
    return [r.name for r in library.rules]


def statistics(store: Store, period: Period, library: Library | None = None) -> dict[str, Any]:
    """Items first seen in ``period``: in total, per rule (of ``library``, else the
    current one), tag, region, source and day."""
    facets = store.items.facets(ItemQuery(since=period.since, until=period.until, size=1))
    sources = {s.id: s for s in store.sources.list()}
    names = [r.name for r in library.rules] if library else rule_names(store)
    tags = sorted({t for s in sources.values() for t in s.tags})
    regions: dict[str, list[str]] = {}
    for source in sources.values():
        if source.region:
            regions.setdefault(source.region, []).append(source.id)
    per_source = sorted(facets.per_source.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "period": period.public(),
        "total": _figure(_count(store, period), search_link(period)),
        "backfill": _figure(
            _count(store, period, backfill=True), search_link(period, backfill="true")
        ),
        "per_rule": [
            _figure(_count(store, period, rules=[n]), search_link(period, rule=n), name=n)
            for n in names
        ],
        "per_tag": [
            _figure(_count(store, period, tags=[t]), search_link(period, tag=t), name=t)
            for t in tags
        ],
        "per_region": [
            _figure(
                sum(facets.per_source.get(s, 0) for s in ids),
                search_link(period, source=sorted(ids)),
                name=region,
            )
            for region, ids in sorted(regions.items())
        ],
        "per_source": [
            _figure(
                n,
                search_link(period, source=sid),
                id=sid,
                name=sources[sid].name if sid in sources else sid,
                source_link=source_link(sid) if sid in sources else None,
            )
            for sid, n in per_source
        ],
        "per_day": [
            _figure(n, search_link(_within(day(d, period.since.tzinfo), period)), day=d)
            for d, n in sorted(facets.per_day.items())
        ],
    }


def _within(part: Period, whole: Period) -> Period:
    """``part`` cut to ``whole`` (a range may start or end within a day)."""
    since, until = max(part.since, whole.since), min(part.until, whole.until)
    return Period(part.kind, part.label, since, until)


def _item(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "link": f"/items/{item.id}",
        "title": item.title,
        "url": item.url,
        "source_id": item.source_id,
        "publish_time": item.publish_time.isoformat() if item.publish_time else None,
        "first_seen": item.first_seen.isoformat(),
    }


def main_events(store: Store, period: Period, alerts: list[Alert]) -> list[dict[str, Any]]:
    """The events alerted in ``period``, most severe and largest first, with their items."""
    by_event: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_event.setdefault(alert.event_id, []).append(alert)
    ranked = sorted(
        by_event.values(),
        key=lambda group: (
            min(_rank(a.severity) for a in group),
            -max(a.items for a in group),
            min(a.created for a in group),
        ),
    )
    out = []
    for group in ranked[:MAIN_EVENTS]:
        first = min(group, key=lambda a: a.created)
        query = ItemQuery(
            event_id=first.event_id,
            size=ITEMS_PER_EVENT,
            sort="first_seen",
            descending=False,
            highlight=False,
        )
        found = store.items.search(query)
        severity: str = min((a.severity for a in group), key=_rank)
        out.append(
            {
                "event_id": first.event_id,
                "title": first.title,
                "severity": severity,
                "rules": sorted({a.rule for a in group}),
                "alerts": [{"id": a.id, "rule": a.rule, "status": a.status} for a in group],
                "items": _figure(found.total, f"/events/{quote(first.event_id, safe='')}"),
                "first_items": [_item(f.item) for f in found.hits],
            }
        )
    return out


def _spread(figures: dict[str, float | None], link: str) -> dict[str, Any]:
    return {name: _figure(value, link) for name, value in figures.items()}


def handling(
    store: Store, period: Period, deadlines: dict[str, Deadlines]
) -> tuple[dict[str, Any], list[Alert]]:
    """Alert handling figures over alerts created in ``period``, and those alerts."""
    figures = alert_stats.report(store, deadlines, period.since, period.until)
    link = alerts_link(period)
    alerts = [
        a
        for a in store.alerts.list(since=period.since, limit=alert_stats.MAX_ALERTS)
        if a.kind != "health" and a.created < period.until
    ]
    closed = alerts_link(period, status="closed")
    return {
        "total": _figure(figures["alerts"], link),
        "per_rule": [
            _figure(n, alerts_link(period, rule=rule), name=rule)
            for rule, n in sorted(figures["per_rule"].items())
        ],
        "per_severity": [
            _figure(n, alerts_link(period, severity=severity), name=severity)
            for severity, n in sorted(figures["per_severity"].items(), key=lambda kv: _rank(kv[0]))
        ],
        "time_to_acknowledge": _spread(figures["time_to_acknowledge"], link),
        "time_to_respond": _spread(figures["time_to_respond"], link),
        "on_time_rate": _figure(figures["on_time_rate"], closed),
        "latency": {stage: _spread(values, link) for stage, values in figures["latency"].items()},
    }, alerts


def health_row(
    source: Source, runs: list[CrawlRun], in_period: int = 0, period: Period | None = None
) -> dict[str, Any]:
    """``source`` and its health after ``runs`` (newest first), and ``in_period``: how many
    runs the report's period holds (``runs`` are only the recent ones health looks at)."""
    found = health.assess(source.id, runs)
    last = found.last_run
    link = source_link(source.id)
    return {
        "id": source.id,
        "name": source.name,
        "type": source.type,
        "enabled": source.enabled,
        "interval": source.interval,
        "region": source.region,
        "tags": source.tags,
        "link": link,
        "last_run": run_row(last) if last else None,
        "last_success": found.last_success.isoformat() if found.last_success else None,
        "runs": _figure(found.runs, link),
        # The source page lists exactly the runs counted when given the period.
        "runs_in_period": _figure(in_period, runs_link(source.id, period) if period else link),
        "consecutive_failures": _figure(found.consecutive_failures, link),
        # yield against the usual: runs since the last new item, and usually how many apart
        "empty_runs": found.empty_runs,
        "usual_gap": found.usual_gap,
        "parse_failures": found.parse_failures,
        "replacement_share": found.replacement_share,
        "blocked": found.blocked,
        "problems": found.problems,
    }


def run_row(run: CrawlRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "started": run.started.isoformat(),
        "finished": run.finished.isoformat() if run.finished else None,
        "outcome": run.outcome,
        "pages": run.pages,
        "not_modified": run.not_modified,
        "items": run.items,
        "new_items": run.new_items,
        "parse_failures": run.parse_failures,
        "replacement_share": run.replacement_share,
        "errors": run.errors,
        "problems": run.problems,
        "list_pages": run.list_pages,
        "links": run.links,
        "skipped_links": run.skipped_links,
    }


def source_health(store: Store, period: Period | None = None) -> list[dict[str, Any]]:
    """Every source with its health (and how many runs it started in a report's
    ``period``), troubled sources first."""
    started = store.runs.started_per_source(period.since, period.until) if period else {}
    sources = store.sources.list()
    runs = store.runs.recent_many([s.id for s in sources], HEALTH_RUNS)
    out = [health_row(s, runs[s.id], started.get(s.id, 0), period) for s in sources]
    out.sort(key=lambda s: (not s["problems"], s["id"]))
    return out


def rules_health(store: Store, library: Library, period: Period, now: datetime) -> dict[str, Any]:
    """The weekly report's rule health: per rule of the current library, its items per day
    in the period (each linked to the search behind it), precision from the period's
    false-positive closes, the words behind them with exclusion words to consider, whether
    its last day jumped; and the words no item of the period contained. It reads the
    period's items once (the keyword page shows the same over 30 days)."""
    end = min(period.until, now)
    days = max(1, -(-int((end - period.since).total_seconds()) // 86400))
    health = rule_health(store, library, now=end, days=days, since=period.since)
    rules = []
    for r in health.rules:
        rules.append(
            {
                "name": r.rule,
                "items": _figure(r.total, search_link(period, rule=r.rule)),
                "per_day": r.per_day,
                "jumped": r.jumped,
                "closed": r.closed,
                "false_positives": r.false_positives,
                "precision": r.precision,
                "false_positive_words": [list(pair) for pair in r.false_positive_words],
                "exclusion_suggestions": r.exclusion_suggestions,
            }
        )
    return {"days": health.days, "rules": rules, "silent_words": health.silent_words}


def watched_regions(store: Store, library: Library, gazetteer: Gazetteer) -> list[str]:
    """The region codes the office watches: those its rules test (``region:500152``,
    ``region.primary:...``) and its sources' home regions, widest first; a region under
    another watched one is that one's township, not a region of its own."""
    codes = {c for r in library.rules for c in _REGION_FACT.findall(r.expression)}
    for source in store.sources.list():
        if source.region:
            home = source.region if source.region in gazetteer.places else ""
            codes.add(home or default_analyzer().home(source.region))
    codes = {c for c in codes if c in gazetteer.places}
    wide = sorted(codes, key=lambda c: (len(c), c))
    kept: list[str] = []
    for code in wide:
        if not any(within(code, k) for k in kept):
            kept.append(code)
    return kept[:REGIONS]


def _region_row(
    store: Store, period: Period, code: str, name: str, alerts: list[Alert]
) -> dict[str, Any]:
    """Items about ``code`` (or a place under it), the negative ones and their share, and
    the alerts whose story is about it, each linked to the list it counts."""
    scope = f"region:{code}"
    items = _count(store, period, q=scope)
    negative = _count(store, period, q=f"{scope} sentiment:negative")
    negative_link = search_link(period, q=f"{scope} sentiment:negative")
    raised = sum(1 for a in alerts if a.region and within(a.region, code))
    return {
        "code": code,
        "name": name,
        "items": _figure(items, search_link(period, q=scope)),
        "negative": _figure(negative, negative_link),
        "negative_share": _figure(round(negative / items, 3) if items else None, negative_link),
        "alerts": _figure(raised, alerts_link(period, region=code)),
    }


def _name(gazetteer: Gazetteer, code: str) -> str:
    place = gazetteer.get(code)
    return place.name if place is not None else code


def regions(
    store: Store, library: Library, period: Period, alerts: list[Alert]
) -> list[dict[str, Any]]:
    """Per watched region: its figures and those of its townships and streets (and the
    operators' places under it) that have items or alerts in ``period``, most items
    first."""
    gazetteer = gazetteer_of(library)
    out = []
    for code in watched_regions(store, library, gazetteer):
        row = _region_row(store, period, code, gazetteer.display(code), alerts)
        query = ItemQuery(q=f"region:{code}", since=period.since, until=period.until, size=1)
        per_region = store.items.facets(query).per_region
        fine = {c for c in per_region if (len(c) >= 9 or "-" in c) and within(c, code)}
        fine |= {a.region for a in alerts if len(a.region) >= 9 and within(a.region, code)}
        ranked = sorted(fine, key=lambda c: (-per_region.get(c, 0), c))[:TOWNSHIPS]
        row["townships"] = [
            _region_row(store, period, c, _name(gazetteer, c), alerts) for c in ranked
        ]
        out.append(row)
    return out


def report(
    store: Store,
    period: Period,
    deadlines: dict[str, Deadlines],
    now: datetime | None = None,
) -> dict[str, Any]:
    """The daily or weekly report over ``period`` (the weekly one with the rules' health
    as of ``now`` or the period's end, whichever is earlier)."""
    _, library = KeywordLibrary(store).current()  # read once for every section
    alerts, alerted = handling(store, period, deadlines)
    started = store.runs.started_per_source(period.since, period.until)
    sources = source_health(store, period)
    troubled = [s for s in sources if s["problems"]]
    return {
        # Every run started in the period (of deleted sources too), counted in the store.
        "runs": _figure(sum(started.values()), "/sources"),
        "period": period.public(),
        "counts": statistics(store, period, library),
        "events": main_events(store, period, alerted),
        "regions": regions(store, library, period, alerted),
        "alerts": alerts,
        "sources": sources,
        "troubled_sources": _figure(len(troubled), "/sources"),
    } | (
        {"rule_health": rules_health(store, library, period, now or period.until)}
        if period.kind == "weekly"
        else {}
    )
