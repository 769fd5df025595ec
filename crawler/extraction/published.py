"""Choose a page's publish time among what the page says, and say how sure it is.

A wrong publish date turns an old story into a critical alert, so the rules are: the date
printed in the byline next to the title (发布时间/来源 lines) beats ``<meta>``, JSON-LD and
the URL when they disagree; a date without a year takes its year from the page's other
dates, else it is unknown; a year-only or month-only date keeps that precision; a
relative date ("昨天", "3小时前") is used only when the page has no absolute one; and
nothing falls back to the time of the crawl.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from crawler.dates import (
    _FULL,
    _PUBLISHED_LABEL,
    PRECISIONS,
    SHANGHAI,
    DateInfo,
    Precision,
    normalize_text,
    parse_date_info,
    url_date,
)

# Labels that introduce the publish date in a byline: 发布时间, 时间, 日期, 发表于, 更新时间.
_BYLINE_LABEL = re.compile(
    _PUBLISHED_LABEL.pattern + r"|(?<!成文)(?<!印发)(?<!发文)(?:时间|日期)\s*[:：]|更新(?:时间|于)"
)
# How far after a label its date may start (table cells put whitespace and colons between).
_LABEL_WINDOW = 40
# Script data that names the publish time: "publishDate": "...", pubtime = '...'.
_SCRIPT_DATE = re.compile(
    r"""["']?(?:publish|pub|post|release|create)[_-]?(?:date|time|at|ed)\w{0,10}["']?\s*[:=]\s*"""
    r"""["']?(\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?Z?)?|1\d{9})""",
    re.I,
)
_MIN_EPOCH, _MAX_SCRIPT_DATES = 946_684_800, 5  # 2000-01-01; the first few are the page's own
_RANK = {name: i for i, name in enumerate(PRECISIONS)}


@dataclass(frozen=True)
class Published:
    """The chosen publish time; ``source`` says where it came from (byline, meta, jsonld,
    time, text, url, script, htmldate; the pipeline adds selector and feed)."""

    value: datetime
    precision: Precision
    source: str
    # Only a relative date ("昨天") said so, relative to when the page was rendered, which
    # for a cached or republished page is not when it was fetched.
    unconfirmed: bool = False


@dataclass
class PageDates:
    """What a page offers as its publish time, gathered by the extractor."""

    byline: Sequence[str] = ()  # lines around the title, the title itself left out
    after_title: Sequence[str] = ()  # the first lines after the title (an unlabelled date)
    meta: Sequence[str] = ()  # <meta> publish-time values, best key first
    jsonld: Sequence[str] = ()
    time_elements: Sequence[str] = ()
    page_text: str = ""
    url: str = ""
    scripts: Sequence[str] = field(default_factory=list)


def _all_labelled(
    texts: Iterable[str], now: datetime, year_from: datetime | None
) -> list[DateInfo]:
    text = "\n".join(texts)
    out = []
    for m in _BYLINE_LABEL.finditer(text):
        window = text[m.end() : m.end() + _LABEL_WINDOW]
        found = parse_date_info(window, now=now, year_from=year_from, coarse=True)
        if found is not None:
            out.append(found)
    return out


def _labelled(texts: Iterable[str], now: datetime, year_from: datetime | None) -> DateInfo | None:
    found = _all_labelled(texts, now, year_from)
    return found[0] if found else None


def _day(value: datetime) -> tuple[int, int, int]:
    local = value.astimezone(SHANGHAI)
    return local.year, local.month, local.day


def _refined(chosen: Published, others: Iterable[tuple[DateInfo | None, str]]) -> Published:
    """The same day read more precisely elsewhere (a byline's 2021-02-05 and the meta's
    2021-02-05 10:30; a URL's day and "3小时前"): keep the finer reading."""
    if chosen.precision not in ("day", "minute"):
        return chosen
    best = chosen
    for info, source in others:
        if info is None or _day(info.value) != _day(chosen.value):
            continue
        if _RANK[info.precision] > _RANK[best.precision]:
            best = Published(info.value, info.precision, source)
    return best


def _first_info(values: Iterable[str], now: datetime) -> DateInfo | None:
    for value in values:
        found = parse_date_info(value, now=now)
        if found is not None and found.kind == "absolute":
            return found
    return None


def _script_date(scripts: Sequence[str], now: datetime) -> DateInfo | None:
    for script in scripts:
        for m in list(_SCRIPT_DATE.finditer(script))[:_MAX_SCRIPT_DATES]:
            raw = m.group(1)
            if raw.isdigit():
                seconds = int(raw)
                if _MIN_EPOCH <= seconds <= now.timestamp():
                    value = datetime.fromtimestamp(seconds, SHANGHAI)
                    return DateInfo(value, "second", "absolute")
                continue
            found = parse_date_info(raw, now=now)
            if found is not None and found.value <= now:
                return found
    return None


def _page_full_dates(text: str, now: datetime) -> list[datetime]:
    out = []
    for m in _FULL.finditer(normalize_text(text)):
        try:
            value = datetime(int(m["y"]), int(m["m"]), int(m["d"]), tzinfo=SHANGHAI)
        except ValueError:
            continue
        if value <= now:
            out.append(value)
    return out


def choose_published(dates: PageDates, *, now: datetime) -> Published | None:
    """The page's publish time and where it came from, or None when the page does not say."""
    meta = _first_info(dates.meta, now)
    jsonld = _first_info(dates.jsonld, now)
    timed = _first_info(dates.time_elements, now)
    url = url_date(dates.url, now=now) if dates.url else None
    script = _script_date(dates.scripts, now)
    # A year-less byline date takes its year from the page's own absolute dates.
    anchors = [d.value for d in (meta, jsonld, timed, script) if d is not None]
    if url is not None:
        anchors.append(url)
    if not anchors:
        anchors = sorted(_page_full_dates(dates.page_text, now), reverse=True)[:1]
    year_from = anchors[0] if anchors else None

    bylines = [
        *_all_labelled(dates.byline, now, year_from),
        parse_date_info("\n".join(dates.after_title), now=now, year_from=year_from),
    ]
    relative = next((b for b in bylines if b is not None and b.kind == "relative"), None)
    others = [(b, "byline") for b in bylines]
    others += [(meta, "meta"), (jsonld, "jsonld"), (timed, "time"), (script, "script")]
    chosen = _first_choice(bylines, meta, jsonld, timed, url, script, dates, now, year_from)
    if chosen is None:
        if relative is None:
            return None
        return Published(relative.value, relative.precision, "byline", unconfirmed=True)
    return _refined(chosen, others)


def _first_choice(
    bylines: Sequence[DateInfo | None],
    meta: DateInfo | None,
    jsonld: DateInfo | None,
    timed: DateInfo | None,
    url: datetime | None,
    script: DateInfo | None,
    dates: PageDates,
    now: datetime,
    year_from: datetime | None,
) -> Published | None:
    """The first absolute date in order of trust: byline, meta, JSON-LD, <time>, a
    labelled date elsewhere in the text, the URL, script data."""
    for found in bylines:
        if found is not None and found.kind != "relative":
            return Published(found.value, found.precision, "byline")
    for info, source in ((meta, "meta"), (jsonld, "jsonld"), (timed, "time")):
        if info is not None:
            return Published(info.value, info.precision, source)
    labelled = _labelled([dates.page_text], now, year_from)
    if labelled is not None and labelled.kind != "relative":
        return Published(labelled.value, labelled.precision, "text")
    if url is not None:
        return Published(url, "day", "url")
    if script is not None:
        return Published(script.value, script.precision, "script")
    return None
