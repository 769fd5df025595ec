"""Rule health over the last 30 days: per rule, items per day, precision from
false-positive closes (:func:`monitor.alerts.stats.precision`), the words behind its
false positives with exclusion words to consider, whether its volume jumped today; and the
library's words that never occurred at all (so never hit) in the period."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import ahocorasick_rs

from keywords.model import Library
from monitor.alerts.stats import MAX_ALERTS, precision
from monitor.discovery.corpus import normal_word
from monitor.discovery.terms import day_of
from store import Store

DAYS = 30
JUMP_Z = 3.0  # today's items this many Poisson standard deviations over the usual day
JUMP_MIN = 5  # and at least this many items today


@dataclass
class RuleHealth:
    rule: str
    per_day: dict[str, int]  # "YYYY-MM-DD" (the store's zone) -> items matched
    total: int
    today: int  # items in the last 24 hours
    usual: float  # mean items per day before that
    jumped: bool
    closed: int
    false_positives: int
    precision: float | None
    false_positive_words: list[tuple[str, int]] = field(default_factory=list)
    exclusion_suggestions: list[str] = field(default_factory=list)


@dataclass
class Health:
    days: int
    rules: list[RuleHealth]
    silent_words: dict[str, list[str]]  # group -> words not seen in any item of the period


def jumped(today: int, usual: float) -> bool:
    """Today's count is far above the usual day (a Poisson z-score, the usual day taken as
    at least one item so a rule new to volume is not flagged for its first few)."""
    mean = max(usual, 1.0)
    return today >= JUMP_MIN and (today - mean) / math.sqrt(mean) >= JUMP_Z


def rule_health(
    store: Store,
    library: Library,
    *,
    now: datetime,
    days: int = DAYS,
    since: datetime | None = None,
) -> Health:
    """Health over the ``days`` before ``now``, or from ``since`` when given (a report's
    period that ends early, such as this week so far; ``days`` is then its length in days,
    rounded up, for the usual day)."""
    since = since or now - timedelta(days=days)
    day_start = now - timedelta(hours=24)
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    today: Counter[str] = Counter()
    words = sorted({w for g in library.groups for t in g.texts() if (w := normal_word(t))})
    automaton = ahocorasick_rs.AhoCorasick(words) if words else None
    seen: set[str] = set()
    for item in store.items.scan(since, now):
        for name in item.rules:
            per_day[name][day_of(item.first_seen)] += 1
            if item.first_seen >= day_start:
                today[name] += 1
        if automaton is not None and len(seen) < len(words):
            text = f"{item.norm_title}\n{item.norm_body}"
            found = automaton.find_matches_as_indexes(text, overlapping=True)
            seen.update(words[index] for index, _start, _end in found)
    alerts = [a for a in store.alerts.list(since=since, limit=MAX_ALERTS) if a.kind != "health"]
    rules = []
    for rule in library.rules:
        counts = per_day.get(rule.name, Counter())
        total = sum(counts.values())
        usual = (total - today[rule.name]) / max(days - 1, 1)
        mine = [a for a in alerts if a.rule == rule.name]
        figures = precision(store, mine)
        false = [a for a in mine if a.status == "closed" and a.close_reason == "false_positive"]
        behind = Counter(str(h.get("word", "")) for a in false for h in a.hits if h.get("word"))
        rules.append(
            RuleHealth(
                rule=rule.name,
                per_day=dict(sorted(counts.items())),
                total=total,
                today=today[rule.name],
                usual=round(usual, 2),
                jumped=jumped(today[rule.name], usual),
                closed=figures["closed"],
                false_positives=figures["false_positives"],
                precision=figures["precision"],
                false_positive_words=behind.most_common(5),
                exclusion_suggestions=figures["exclusion_suggestions"],
            )
        )
    silent = {
        g.name: [t for t in g.texts() if normal_word(t) and normal_word(t) not in seen]
        for g in library.groups
        if g.category != "exclusion"
    }
    return Health(days, rules, {g: ws for g, ws in silent.items() if ws})
