"""The site's state: articles, threads, the clock, and the ground truth tests read."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from .content import Schedule, populate, repost_draft
from .model import BASE_TIME, ENCODINGS, SECTIONS, SHANGHAI, Article, Draft, Thread, minute
from .requestlog import RequestLog
from .stories import THREADS

Clock = Callable[[], datetime]

PAGE_SIZES = {"news": 15, "shehui": 15, "zwgk": 10, "kuaixun": 15}


def system_clock() -> datetime:
    """Current wall-clock time in Asia/Shanghai."""
    return datetime.now(SHANGHAI)


class DemoSite:
    """All content of one demo site instance plus its request log.

    Reachable from the Flask app as ``app.extensions["demosite"]``. Paths are site-relative;
    ``url()`` makes them absolute once ``serve()`` has set ``base_url``.
    """

    def __init__(self, clock: Clock = system_clock, seed: int = 0, live: bool = False) -> None:
        """``live``: start empty (no 2021 archive, no forum threads) for the demo world
        (:mod:`devtools.demosite.world`), which publishes and restores everything itself."""
        self.clock = clock
        self.seed = seed
        self.live = live
        self.requests = RequestLog()
        self.threads: tuple[Thread, ...] = THREADS
        self.base_url: str | None = None
        # Last-Modified of pages listing articles (lists, feeds, sitemap): the exact clock
        # time of the latest publication, finer than the minute shown on article pages.
        self.last_change = BASE_TIME
        self._lock = threading.RLock()
        self._articles: dict[int, Article] = {}
        self._by_path: dict[str, Article] = {}
        self._next_id = 1001
        self._last_scheduled: Article | None = None
        self._schedule: Schedule | None = None
        if live:
            self.threads = ()
        else:
            self._schedule = populate(self, seed)

    def now(self) -> datetime:
        """The injected clock's time as an aware Asia/Shanghai datetime (naive means local)."""
        now = self.clock()
        return now.replace(tzinfo=SHANGHAI) if now.tzinfo is None else now.astimezone(SHANGHAI)

    def add(self, draft: Draft, published: datetime, repost_of: Article | None = None) -> Article:
        """Store ``draft`` as published at ``published``; raises ValueError on bad input."""
        if draft.section not in SECTIONS:
            raise ValueError(f"unknown section {draft.section!r}")
        if draft.encoding not in ENCODINGS:
            raise ValueError(f"unsupported encoding {draft.encoding!r}")
        for text in (draft.title, draft.body, draft.author or "", draft.source):
            text.encode(draft.encoding)  # UnicodeEncodeError is a ValueError
        shown = minute(published.astimezone(SHANGHAI))
        gov = draft.section == "zwgk"
        with self._lock:
            ident = self._next_id
            self._next_id += 1
            article = Article(
                id=ident,
                path=f"/{draft.section}/{shown:%Y%m}/t{shown:%Y%m%d}_{ident}.html",
                section=draft.section,
                title=draft.title,
                body=draft.body,
                published=shown,
                author=draft.author,
                source=draft.source,
                encoding=draft.encoding,
                declared_charset=draft.declared_charset,
                # Only honest UTF-8 pages get a charset header; the rest make clients sniff.
                header_charset="utf-8"
                if draft.encoding == draft.declared_charset == "utf-8"
                else None,
                story_id=repost_of.story_id if repost_of else f"story-{ident}",
                kind=draft.kind,
                topics=draft.topics,
                repost_of=repost_of.id if repost_of else None,
                index_no=f"115002230093254816/{shown.year}-{ident:05d}" if gov else None,
                written=(shown - timedelta(days=ident % 4)).date() if gov else None,
            )
            self._articles[ident] = article
            self._by_path[article.path] = article
            self.last_change = max(self.last_change, published)
        return article

    def restore(self, article: Article) -> None:
        """Serve ``article`` again as it was (a demo world restarting); ids continue after it."""
        with self._lock:
            self._articles[article.id] = article
            self._by_path[article.path] = article
            self._next_id = max(self._next_id, article.id + 1)
            self.last_change = max(self.last_change, article.published)

    def reserve_id(self) -> int:
        """A fresh id from the articles' sequence (forum threads of the demo world)."""
        with self._lock:
            ident = self._next_id
            self._next_id += 1
            return ident

    def put_thread(self, thread: Thread) -> None:
        """Add ``thread`` or replace the one with its id (a new reply)."""
        with self._lock:
            others = tuple(t for t in self.threads if t.id != thread.id)
            self.threads = (*others, thread)
            self._next_id = max(self._next_id, thread.id + 1)
            self.last_change = max(self.last_change, thread.updated)

    def publish(self, draft: Draft, repost_of: Article | None = None) -> Article:
        """Publish ``draft`` now (per the clock); it appears in lists, feeds and sitemap."""
        return self.add(draft, self.now(), repost_of)

    def publish_scheduled(self) -> Article:
        """Publish the next timed arrival (what ``--drip`` does every interval)."""
        with self._lock:
            if self._schedule is None:
                raise RuntimeError("a live site publishes through its world, not the drip")
            step = self._schedule.next(self.now())
            if isinstance(step, Draft):
                article = self.publish(step)
            else:
                # The schedule yields a repost only right after an original.
                original = self._last_scheduled
                assert original is not None
                article = self.publish(repost_draft(step, original), original)
            self._last_scheduled = article
            return article

    @property
    def articles(self) -> list[Article]:
        """Every article, oldest id first."""
        with self._lock:
            return list(self._articles.values())

    def article(self, ident: int) -> Article:
        with self._lock:
            return self._articles[ident]

    def find(self, path: str) -> Article | None:
        """The article served at ``path``, if any."""
        with self._lock:
            return self._by_path.get(path)

    def thread(self, ident: int) -> Thread | None:
        return next((t for t in self.threads if t.id == ident), None)

    def latest(
        self, section: str | None = None, limit: int | None = None, until: datetime | None = None
    ) -> list[Article]:
        """Articles newest first, optionally of one section or published no later than ``until``."""
        items = [
            a
            for a in self.articles
            if (section is None or a.section == section) and (until is None or a.published <= until)
        ]
        items.sort(key=lambda a: (a.published, a.id), reverse=True)
        return items[:limit]

    def page_count(self, section: str) -> int:
        return max(1, math.ceil(len(self.latest(section)) / PAGE_SIZES[section]))

    def page(self, section: str, number: int) -> list[Article]:
        """List page ``number`` (0 is ``index.html``, 1 is ``index_1.html``)."""
        size = PAGE_SIZES[section]
        return self.latest(section)[number * size : (number + 1) * size]

    def url(self, path_or_article: str | Article) -> str:
        """Absolute URL of a path or article on the running server."""
        if self.base_url is None:
            raise RuntimeError("site is not being served; call serve() first")
        path = path_or_article if isinstance(path_or_article, str) else path_or_article.path
        return self.base_url.rstrip("/") + path
