"""Suggestions: an emerging term as a keyword, the group it fits, examples, and a preview
of what adding it would have matched (:func:`keywords.backtest.backtest`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from keywords.backtest import backtest
from keywords.model import Library, Word
from monitor.discovery.corpus import normal_word
from monitor.discovery.segment import han_runs
from store import Invalid, ItemQuery, Store
from store.model import Dismissal

# Groups a suggestion is never put in: region groups scope discovery itself, and an
# exclusion word would hide items rather than find them.
_NOT_FITTING = frozenset({"region", "exclusion"})
PREVIEW_DAYS = 7


@dataclass
class Fit:
    group: str
    share: float  # of the term's window documents that also hold a word of the group


def fit_group(library: Library, texts: list[str]) -> Fit | None:
    """The group whose words co-occur most with the term in ``texts`` (the documents
    holding it), or None if none does."""
    best: Fit | None = None
    for group in library.groups:
        if group.category in _NOT_FITTING or not group.enabled:
            continue
        words = [w for w in (normal_word(t) for t in group.texts()) if w]
        if not words or not texts:
            continue
        share = sum(any(w in t for w in words) for t in texts) / len(texts)
        if share > 0 and (best is None or share > best.share):
            best = Fit(group.name, round(share, 3))
    return best


def still_dismissed(dismissal: Dismissal | None, window_df: int) -> bool:
    """Dismissed, and not bursting again: fewer than twice the documents it had when it
    was dismissed."""
    return dismissal is not None and window_df < 2 * max(dismissal.window_df, 1)


@dataclass
class Preview:
    days: int
    matches: int  # stored items of the period holding the term
    samples: list[dict[str, Any]] = field(default_factory=list)  # id, title, first_seen
    rules: list[dict[str, Any]] = field(default_factory=list)  # rules that would fire more

    def to_data(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "matches": self.matches,
            "samples": self.samples,
            "rules": self.rules,
        }


def with_word(library: Library, group: str, term: str) -> Library:
    """A copy of ``library`` with ``term`` added to ``group``."""
    proposed = library.model_copy(deep=True)
    target = proposed.group(group)
    if target is not None and term not in target.texts():
        target.words.append(Word.model_validate({"text": term}))
    return proposed


def preview(
    store: Store,
    library: Library,
    term: str,
    group: str | None,
    *,
    now: datetime,
    days: int = PREVIEW_DAYS,
    samples: int = 5,
) -> Preview:
    """What adding ``term`` to ``group`` would have matched over the last ``days`` days:
    the items holding it, and per rule the items it would have added."""
    if han_runs(term) != [term]:
        # The query below quotes the term: only a run of Han characters may go in it.
        raise Invalid("term: a run of Chinese characters", "term")
    since = now - timedelta(days=days)
    query = ItemQuery(
        q=f'"{term}"', normalized=True, since=since, size=samples, highlight=False,
        sort="first_seen",
    )  # fmt: skip
    found = store.items.search(query)
    result = Preview(
        days=days,
        matches=found.total,
        samples=[
            {"id": h.item.id, "title": h.item.title, "first_seen": h.item.first_seen.isoformat()}
            for h in found.hits
        ],
    )
    if group is None or library.group(group) is None:
        return result
    # Only the rules that name the group can change: run those alone.
    rules = [r for r in library.rules if group in r.expression]
    live = Library(groups=library.groups, rules=rules)
    for impact in backtest(store, live, with_word(live, group, term), days=days, now=now):
        if impact.added or impact.removed:
            result.rules.append(
                {
                    "rule": impact.rule,
                    "live": impact.live,
                    "proposed": impact.proposed,
                    "added": impact.added,
                    "removed": impact.removed,
                    "examples": [
                        {"id": i.id, "title": i.title} for i in impact.added_examples[:samples]
                    ],
                    "truncated": impact.truncated,
                }
            )
    return result
