"""Backfill is not news: the one place that decides whether a page, at first sight, is old
news. A page published before the backfill window (``[alerts] backfill_hours``, default
72 hours) or collected by its source's first crawl (a new source's archive) is stored and
matched like any other, but marked ``backfill``: alerting leaves it alone unless a rule's
policy asks for it (``include_backfill``), it gets no handling deadlines and it stays out
of the latency figures.
"""

from __future__ import annotations

from datetime import datetime, timedelta

DEFAULT_HOURS = 72


def latest_possible(publish_time: datetime, precision: str) -> datetime:
    """The latest instant a date of ``precision`` may stand for: a year- or month-only
    date is stored as the start of its period, so a page dated "2026-11" may be from
    November 30th and is judged by that."""
    if precision == "year":
        return publish_time.replace(year=publish_time.year + 1)
    if precision == "month":
        year, month = divmod(publish_time.month, 12)
        return publish_time.replace(year=publish_time.year + year, month=month + 1)
    if precision == "day":
        return publish_time + timedelta(days=1)
    return publish_time


def is_backfill(
    publish_time: datetime | None,
    precision: str,
    now: datetime,
    window: timedelta,
    first_crawl: bool,
) -> bool:
    """Whether a page first seen at ``now`` is backfill: it came with its source's first
    crawl, or it was surely published before ``now - window``. A page without a publish
    time is news (an alert too many beats a story missed)."""
    if first_crawl:
        return True
    if publish_time is None:
        return False
    return latest_possible(publish_time, precision) < now - window
