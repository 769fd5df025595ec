"""Unmatched clusters: events (near-duplicate clusters, ``Item.event_id``, see
:mod:`crawler.events`) of the watched items that grew fast in the window while none of
their items matched a rule."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MIN_ITEMS = 3  # window items an event needs to count as grown
GROWTH = 3.0  # window items per item the event had before the window


@dataclass
class Member:
    id: str
    title: str
    source_id: str
    matched: bool
    event_id: str | None


@dataclass
class Cluster:
    event_id: str
    items: int  # in the window
    before: int  # in the baseline
    sources: list[str]  # most items first
    titles: list[str]  # representative: the distinct titles, most reposted first
    item_ids: list[str] = field(default_factory=list)
    term: str | None = None  # the emerging term it holds, if any (set by the run)


def unmatched(
    window: list[Member], before: Counter[str], *, min_items: int = MIN_ITEMS, limit: int = 20
) -> list[Cluster]:
    """Events with at least ``min_items`` window items, none matched by a rule, and at
    least :data:`GROWTH` times as many window items as ``before`` (event id -> items in the
    baseline), largest first."""
    members: dict[str, list[Member]] = {}
    for m in window:
        if m.event_id:
            members.setdefault(m.event_id, []).append(m)
    out = []
    for event, items in members.items():
        if len(items) < min_items or any(m.matched for m in items):
            continue
        earlier = before.get(event, 0)
        if earlier and len(items) < GROWTH * earlier:
            continue
        titles = Counter(m.title for m in items)
        out.append(
            Cluster(
                event_id=event,
                items=len(items),
                before=earlier,
                sources=[s for s, _ in Counter(m.source_id for m in items).most_common()],
                titles=[t for t, _ in titles.most_common(3)],
                item_ids=[m.id for m in items[:5]],
            )
        )
    out.sort(key=lambda c: (-c.items, c.event_id))
    return out[:limit]
