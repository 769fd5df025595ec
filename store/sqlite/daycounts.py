"""Discovery's baseline counted incrementally on SQLite.

An hourly discovery run asks how many items of the 14 days before its window held each
of its candidate terms. Read afresh each time, that is every item of the 14 days (the
costly part of a run). But a day that has passed does not change: an item's
``first_seen`` is when it was stored. So the count of a phrase on a whole day is kept
once made (``phrase_days``), with the day's in-scope item and event counts
(``phrase_day_sets``). A later run reads the kept counts, counts only the phrases no
earlier run asked about (over the days they are missing from), and reads afresh only the
part-days at the two ends of its span.

A day is counted again from scratch when its number of stored items is not the number
it had when counted (items stored late, or removed by retention). An item whose text
changes later in place is not recounted: the tolerance, stated in docs/discovery.md.
Counts are kept per *scope* (scope words, sources and lead of the counting), since each
changes which items count.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from store.frequencies import Counting, Frequencies
from store.sqlite.common import ms

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore
    from store.sqlite.items import SQLiteItems

SCHEMA = """
CREATE TABLE IF NOT EXISTS phrase_days (
    scope TEXT NOT NULL,
    day TEXT NOT NULL,
    phrase TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (scope, day, phrase)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS phrase_day_sets (
    scope TEXT NOT NULL,
    day TEXT NOT NULL,
    items INTEGER NOT NULL,
    docs INTEGER NOT NULL,
    PRIMARY KEY (scope, day)
) WITHOUT ROWID;
"""

# Event counts share the table with phrases under a prefix no normalised phrase has.
_EVENT = "\x00"
_BATCH = 500  # parameters per IN (...) list, well under SQLite's limit
KEEP_DAYS = 45  # kept counts older than this before a run's span are dropped


def scope_key(scope: Sequence[str], sources: Iterable[str], lead: int) -> str:
    text = json.dumps([sorted(set(scope)), sorted(set(sources)), lead], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _BATCH):
        yield values[start : start + _BATCH]


class DayCounts:
    def __init__(self, items: SQLiteItems, store: SQLiteStore) -> None:
        self.items = items
        self.store = store

    def whole_days(self, since: datetime, until: datetime) -> list[date]:
        """The store-zone days lying wholly within ``[since, until)``."""
        tz = self.store.tz
        first = since.astimezone(tz).date()
        if datetime.combine(first, time(), tz) < since:
            first += timedelta(days=1)
        days = []
        day = first
        while datetime.combine(day + timedelta(days=1), time(), tz) <= until:
            days.append(day)
            day += timedelta(days=1)
        return days

    def _span(self, day: date) -> tuple[datetime, datetime]:
        tz = self.store.tz
        return datetime.combine(day, time(), tz), datetime.combine(
            day + timedelta(days=1), time(), tz
        )

    def frequencies(
        self,
        phrases: Sequence[str],
        since: datetime,
        until: datetime,
        *,
        scope: Sequence[str],
        sources: Iterable[str],
        events: Iterable[str],
        lead: int,
    ) -> Frequencies:
        sources, events = list(sources), list(events)
        phrases = list(dict.fromkeys(phrases))
        days = self.whole_days(since, until)
        if not days:
            return self._read(phrases, [(since, until)], scope, sources, events, lead)
        key = scope_key(scope, sources, lead)
        docs = self._settle_days(key, days, phrases, scope, sources, lead)
        df: dict[str, int] = {}
        daily: dict[str, dict[str, int]] = {}
        found_events: dict[str, int] = {}

        def add(day: str, phrase: str, n: int) -> None:
            if not n:
                return
            if phrase.startswith(_EVENT):
                event = phrase[len(_EVENT) :]
                found_events[event] = found_events.get(event, 0) + n
            else:
                df[phrase] = df.get(phrase, 0) + n
                daily.setdefault(phrase, {})[day] = n

        names = [d.isoformat() for d in days]
        have: dict[str, set[str]] = {name: set() for name in names}
        for part in _chunks(phrases + [_EVENT + e for e in events]):
            for day, phrase, n in self.store.connection().execute(
                f"SELECT day, phrase, n FROM phrase_days WHERE scope = ? "
                f"AND day BETWEEN ? AND ? AND phrase IN ({','.join('?' * len(part))})",
                (key, names[0], names[-1], *part),
            ):
                have[day].add(phrase)
                add(day, phrase, n)
        # Phrases no earlier run asked about: counted on the days they are missing from
        # (one read of each such day for all of them), kept, and added.
        missing = {name: [p for p in phrases if p not in have[name]] for name in names}
        wanted = sorted({p for ps in missing.values() for p in ps})
        for day in days:
            name = day.isoformat()
            if not missing[name]:
                continue
            counted = self._read(wanted, [self._span(day)], scope, sources, (), lead)
            with self.store.transaction() as tx:
                tx.executemany(
                    "INSERT OR REPLACE INTO phrase_days VALUES (?,?,?,?)",
                    [(key, name, p, counted.df.get(p, 0)) for p in wanted],
                )
            for phrase in missing[name]:
                add(name, phrase, counted.df.get(phrase, 0))
        # The part-days at the ends, read afresh.
        start, _ = self._span(days[0])
        _, end = self._span(days[-1])
        ends = [(a, b) for a, b in ((since, start), (end, until)) if a < b]
        edges = self._read(phrases, ends, scope, sources, events, lead)
        for phrase, n in edges.df.items():
            df[phrase] = df.get(phrase, 0) + n
            for day, m in edges.daily[phrase].items():
                daily.setdefault(phrase, {})[day] = daily.get(phrase, {}).get(day, 0) + m
        for event, n in edges.events.items():
            found_events[event] = found_events.get(event, 0) + n
        daily = {p: dict(sorted(d.items())) for p, d in daily.items()}
        return Frequencies(docs + edges.docs, df, daily, found_events)

    def _read(
        self,
        phrases: Sequence[str],
        spans: Iterable[tuple[datetime, datetime]],
        scope: Sequence[str],
        sources: Sequence[str],
        events: Iterable[str],
        lead: int,
        *,
        all_events: bool = False,
    ) -> Frequencies:
        counting = Counting(
            phrases, scope=scope, sources=sources, events=events, lead=lead, all_events=all_events
        )
        for a, b in spans:
            for item in self.items.scan(a, b):
                counting.add(item)
        return counting.result()

    def _settle_days(
        self,
        key: str,
        days: list[date],
        phrases: Sequence[str],
        scope: Sequence[str],
        sources: Sequence[str],
        lead: int,
    ) -> int:
        """Count afresh the days never counted or whose items changed in number (all
        their events, and ``phrases``); the in-scope items of all ``days``."""
        db = self.store.connection()
        kept = {
            day: (items, docs)
            for day, items, docs in db.execute(
                "SELECT day, items, docs FROM phrase_day_sets WHERE scope = ? "
                "AND day BETWEEN ? AND ?",
                (key, days[0].isoformat(), days[-1].isoformat()),
            )
        }
        total = 0
        for day in days:
            a, b = self._span(day)
            stored = db.execute(
                "SELECT count(*) FROM items WHERE first_seen >= ? AND first_seen < ?",
                (ms(a), ms(b)),
            ).fetchone()[0]
            name = day.isoformat()
            if name in kept and kept[name][0] == stored:
                total += kept[name][1]
                continue
            counted = self._read(phrases, [(a, b)], scope, sources, (), lead, all_events=True)
            with self.store.transaction() as tx:
                tx.execute("DELETE FROM phrase_days WHERE scope = ? AND day = ?", (key, name))
                tx.execute(
                    "INSERT OR REPLACE INTO phrase_day_sets VALUES (?,?,?,?)",
                    (key, name, stored, counted.docs),
                )
                tx.executemany(
                    "INSERT INTO phrase_days VALUES (?,?,?,?)",
                    [(key, name, p, counted.df.get(p, 0)) for p in phrases]
                    + [(key, name, _EVENT + e, n) for e, n in counted.events.items()],
                )
            total += counted.docs
        with self.store.transaction() as tx:
            oldest = (days[0] - timedelta(days=KEEP_DAYS)).isoformat()
            tx.execute("DELETE FROM phrase_days WHERE day < ?", (oldest,))
            tx.execute("DELETE FROM phrase_day_sets WHERE day < ?", (oldest,))
        return total
