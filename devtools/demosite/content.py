"""Deterministic site content: the seeded archive and the endless drip schedule."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING

from . import corpus
from .model import BASE_TIME, Article, Draft
from .stories import (
    REPORT_TIME,
    REPORT_TITLE,
    SCHEDULED_INCIDENTS,
    SCHEDULED_REPOST,
    STORIES,
    Repost,
)

if TYPE_CHECKING:
    from .site import DemoSite

ARCHIVE_START = datetime(2020, 12, 1, 8, 0, tzinfo=BASE_TIME.tzinfo)
FILLER_COUNTS = {"news": 30, "shehui": 16, "zwgk": 26}


class Filler:
    """Draws everyday filler drafts from the corpus templates, never repeating a title."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._seen: set[str] = set()

    def _name(self) -> str:
        return self._rng.choice(corpus.SURNAMES) + self._rng.choice(corpus.GIVEN)

    def _slots(self, when: datetime) -> dict[str, object]:
        rng = self._rng
        return {
            "town": rng.choice(corpus.TOWNS),
            "name": self._name(),
            "name2": self._name(),
            "n": rng.randint(1000, 9999),
            "k": rng.randint(2, 9),
            "m": when.month,
            "d": when.day,
            "year": when.year,
            "topic": rng.choice(corpus.GOV_TOPICS),
            "project": rng.choice(corpus.PROJECTS),
            "dept": rng.choice(corpus.DEPARTMENTS[1:])[0],
        }

    def draft(self, section: str, when: datetime, index: int) -> Draft:
        """A filler draft for ``section``; ``index`` rotates the encodings deterministically."""
        for _ in range(100):
            slots = self._slots(when)
            if section == "zwgk":
                issuer, title_t, paras = self._rng.choice(corpus.GOV_FILLER)
                source, author = corpus.DEPARTMENTS[issuer][0], None
            else:
                _, title_t, paras = self._rng.choice([t for t in corpus.FILLER if t[0] == section])
                source = self._rng.choice(corpus.NEWS_SOURCES)
                author = f"记者 {self._name()}"
            title = title_t.format(**slots)
            if title not in self._seen:
                break
        self._seen.add(title)
        encoding, declared = _filler_encoding(section, index)
        return Draft(
            title=title,
            body="\n".join(p.format(**slots) for p in paras),
            section=section,
            author=author,
            source=source,
            encoding=encoding,
            declared_charset=declared,
        )


def _filler_encoding(section: str, index: int) -> tuple[str, str | None]:
    # Government portals mostly still serve GBK labelled gb2312; news sites are mixed.
    if section == "zwgk":
        return ("gbk", "gb2312") if index % 3 == 0 else ("utf-8", "utf-8")
    return {1: ("gbk", "gbk"), 4: ("gbk", None)}.get(index % 6, ("utf-8", "utf-8"))


def repost_draft(repost: Repost, original: Draft | Article) -> Draft:
    """The draft of ``repost`` applied to ``original``."""
    return Draft(
        title=repost.title.format(title=original.title),
        body=repost.body_from(original.body),
        section=repost.section,
        author=repost.author,
        source=repost.source,
        encoding=repost.encoding,
        declared_charset=repost.declared_charset,
        kind=original.kind,
        topics=original.topics,
    )


def report_draft() -> Draft:
    """The annual rule-of-law report page, text shipped as package data."""
    text = resources.files(__package__).joinpath("data/report_2020.txt").read_text("utf-8")
    return Draft(
        title=REPORT_TITLE,
        body=text.strip(),
        section="zwgk",
        author=None,
        source="区政府办公室",
        kind="report",
    )


def populate(site: DemoSite, seed: int) -> Schedule:
    """Fill ``site`` with the seeded archive; return the drip schedule continuing it."""
    rng = random.Random(seed)
    filler = Filler(rng)
    days = (BASE_TIME - ARCHIVE_START).days
    # (time, draft, original draft for reposts); added in time order so ids grow with time.
    entries: list[tuple[datetime, Draft, Draft | None]] = [(REPORT_TIME, report_draft(), None)]
    for story in STORIES:
        entries.append((story.published, story.draft, None))
        entries.extend(
            (story.published + r.after, repost_draft(r, story.draft), story.draft)
            for r in story.reposts
        )
    for section, count in FILLER_COUNTS.items():
        # Office hours: newsrooms and government offices publish between 08:00 and 22:00.
        times = sorted(
            ARCHIVE_START + timedelta(days=rng.randrange(days), minutes=rng.randrange(14 * 60))
            for _ in range(count)
        )
        if section == "news":
            times[-1] = BASE_TIME
        entries.extend((t, filler.draft(section, t, i), None) for i, t in enumerate(times))

    added: dict[Draft, Article] = {}
    for when, draft, original in sorted(entries, key=lambda e: e[0]):
        source = added[original] if original is not None else None
        added[draft] = site.add(draft, when, repost_of=source)
    return Schedule(filler, rng)


class Schedule:
    """Endless drafts for timed arrivals: an incident every third step, reposted right after."""

    def __init__(self, filler: Filler, rng: random.Random) -> None:
        self._filler = filler
        self._rng = rng
        self._now = BASE_TIME
        self._steps = self._generate()

    def _generate(self) -> Iterator[Draft | Repost]:
        incidents = iter(SCHEDULED_INCIDENTS)
        index = 0
        while True:
            incident = next(incidents, None) if index % 3 == 0 else None
            if incident is not None:
                yield incident
                yield SCHEDULED_REPOST
            else:
                yield self._filler.draft(self._rng.choice(("news", "shehui")), self._now, index)
            index += 1

    def next(self, now: datetime) -> Draft | Repost:
        """The next arrival; a ``Repost`` means "repost the previous arrival"."""
        self._now = now
        return next(self._steps)
