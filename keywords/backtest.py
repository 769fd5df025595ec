"""Backtest: what a proposed library would add and remove over recently stored items.

Each rule runs as a query over the stored normalised text (see
:func:`keywords.matcher.rule_query`), and every candidate is confirmed by the
in-process matcher, so the figures are exactly what the matcher would have done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from analysis.item import item_facts
from keywords.matcher import Matcher, rule_query
from keywords.model import Library
from store import Item, ItemQuery, Store
from store.model import MAX_WINDOW

PAGE = 500


@dataclass
class RuleImpact:
    rule: str
    live: int  # items the live library's rule matched
    proposed: int  # items the proposed rule matches
    added: int
    removed: int
    added_examples: list[Item] = field(default_factory=list)
    removed_examples: list[Item] = field(default_factory=list)
    truncated: bool = False  # more than MAX_WINDOW candidates: counts are lower bounds


def _matching(
    store: Store, library: Library, matcher: Matcher, name: str, since: datetime
) -> tuple[dict[str, Item], bool]:
    rule = library.rule(name)
    if rule is None or not rule.enabled:
        return {}, False
    query = ItemQuery(
        q=rule_query(library, rule),
        normalized=True,
        since=since,
        size=PAGE,
        highlight=False,
        sort="first_seen",
    )
    found: dict[str, Item] = {}
    total = 0
    while query.page * PAGE <= MAX_WINDOW:
        result = store.items.search(query)
        total = result.total
        items = [hit.item for hit in result.hits]
        matched = matcher.match_many(
            [(item.title, item.body) for item in items],
            facts=[item_facts(item) for item in items],
        )
        for item, outcome in zip(items, matched, strict=True):
            if name in outcome.rules:
                found[item.id] = item
        if query.page * PAGE >= total:
            break
        query.page += 1
    return found, total > MAX_WINDOW


def backtest(
    store: Store,
    live: Library,
    proposed: Library,
    *,
    days: int = 7,
    now: datetime,
    examples: int = 5,
) -> list[RuleImpact]:
    """Per rule (of either library), how the proposed library changes what matches among
    the items first seen in the last ``days`` days."""
    since = now - timedelta(days=days)
    live_matcher, proposed_matcher = Matcher(live), Matcher(proposed)
    names = list(dict.fromkeys([r.name for r in live.rules] + [r.name for r in proposed.rules]))
    impacts = []
    for name in names:
        before, cut_before = _matching(store, live, live_matcher, name, since)
        after, cut_after = _matching(store, proposed, proposed_matcher, name, since)
        added = [after[i] for i in after if i not in before]
        removed = [before[i] for i in before if i not in after]
        impacts.append(
            RuleImpact(
                rule=name,
                live=len(before),
                proposed=len(after),
                added=len(added),
                removed=len(removed),
                added_examples=added[:examples],
                removed_examples=removed[:examples],
                truncated=cut_before or cut_after,
            )
        )
    return impacts
