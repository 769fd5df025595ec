"""The demo world: a live 潼南 news portal, GBK government portal, forum and RSS feed that
keep publishing for hours.

Around a steady stream of ordinary local news (no hits), incidents start every few
minutes across the district's towns (fires, an epidemic cluster, collapses, petitions,
food scares) and develop: reposts on the other channels (one growing event), a forum
thread with replies, follow-ups with text of their own. Drills and publicity items the
sample library's exclusions catch and incidents in other districts come in between. Text
comes from :mod:`devtools.demosite.worldtext` and a seeded RNG.

Times are the world's clock's "now" (the demo's :class:`store.clock.ScaledClock` when
accelerated). Everything published is kept in ``world.jsonl`` of the state folder, so a
restarted world serves it again and continues with new ids: URLs never repeat.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from . import corpus
from .content import Filler
from .model import SHANGHAI, Article, Draft, Post, Thread
from .site import DemoSite
from .worldtext import (
    CHATTER,
    CITIZENS,
    ELSEWHERE,
    ELSEWHERE_PLACES,
    EXCLUDED,
    INCIDENTS,
    MODERATOR,
    TOPIC_WORDS,
    TOWNS,
    Incident,
    Repost,
    Text,
)

CHANNELS = ("news", "shehui", "zwgk", "kuaixun", "bbs")
NEWS_SOURCE = "潼南区融媒体中心"
STATE = "world.jsonl"  # one JSON line per article or thread version


@dataclass(order=True)
class _Beat:
    at: datetime
    seq: int
    action: Callable[[datetime], None] = field(compare=False)


@dataclass
class Published:
    """What the world has published, for tests and the demo's terminal."""

    incidents: list[str] = field(default_factory=list)  # first-report titles
    excluded: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    ordinary: int = 0


class World:
    """Publishes on ``site`` (a live :class:`DemoSite`) as ``clock`` advances.

    ``step`` is the mean business time between ordinary items (rotating over the five
    channels), ``incident_every`` between incidents; the demo derives both from its crawl
    interval so every source finds something new about every other run and none goes
    "silent". Call :meth:`advance` (or :meth:`run` in a thread).
    """

    def __init__(
        self,
        site: DemoSite,
        clock: Callable[[], datetime],
        state_dir: Path | None = None,
        seed: int = 0,
        step: float = 60.0,
        incident_every: float = 360.0,
    ) -> None:
        self.site, self.clock, self.state_dir = site, clock, state_dir
        self.step, self.incident_every = step, incident_every
        self.published = Published()
        self._beats: list[_Beat] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._saved_articles: set[int] = set()
        self._saved_threads: dict[int, int] = {}  # thread id -> posts saved
        restored = self._load()
        # A restart draws new text: the seed is mixed with what exists already.
        self.rng = random.Random(f"{seed}:{restored}")
        self.filler = Filler(self.rng)
        self._channel = itertools.cycle(CHANNELS)
        self._incident_kinds = itertools.cycle(self.rng.sample(INCIDENTS, len(INCIDENTS)))
        self._sideline = itertools.cycle(
            [*((t, True) for t in EXCLUDED), *((t, False) for t in ELSEWHERE)]
        )
        now = self.now()
        if not restored:
            self._archive(now)
        self._at(now + timedelta(seconds=self.step / 2), self._ordinary)
        # The first incident soon, so a newcomer sees an alert within minutes.
        self._at(now + timedelta(seconds=min(90.0, self.incident_every / 3)), self._incident)
        self._at(now + timedelta(seconds=self.incident_every / 2), self._sideline_item)
        self._save()

    # -- time --------------------------------------------------------------------------

    def now(self) -> datetime:
        now = self.clock()
        return now.replace(tzinfo=SHANGHAI) if now.tzinfo is None else now.astimezone(SHANGHAI)

    def _at(self, when: datetime, action: Callable[[datetime], None]) -> None:
        heapq.heappush(self._beats, _Beat(when, next(self._seq), action))

    def _jittered(self, seconds: float) -> timedelta:
        return timedelta(seconds=seconds * self.rng.uniform(0.7, 1.3))

    def advance(self) -> int:
        """Publish everything due by the clock's now; how many beats ran."""
        ran = 0
        with self._lock:
            now = self.now()
            while self._beats and self._beats[0].at <= now:
                beat = heapq.heappop(self._beats)
                beat.action(beat.at)
                ran += 1
            if ran:
                self._save()
        return ran

    def run(self, stop: threading.Event, poll: float = 0.5) -> threading.Thread:
        """Advance every ``poll`` real seconds in a daemon thread until ``stop`` is set."""

        def loop() -> None:
            while not stop.wait(poll):
                self.advance()

        thread = threading.Thread(target=loop, name="demo-world", daemon=True)
        thread.start()
        return thread

    # -- streams -----------------------------------------------------------------------

    def _slots(self, when: datetime, incident: Incident | None = None) -> dict[str, Any]:
        rng = self.rng
        places = incident.places if incident else ELSEWHERE_PLACES
        return {
            "town": rng.choice(TOWNS),
            "place": rng.choice(places),
            "name": rng.choice(corpus.SURNAMES) + rng.choice(corpus.GIVEN),
            "k": rng.randint(2, 9),
            "n": rng.randint(20, 900),
            "hm": f"{when.hour}时{when.minute}分",
            "md": f"{when.month}月{when.day}日",
            "district": rng.choice(corpus.DISTRICTS),
        }

    def _ordinary(self, when: datetime) -> None:
        channel = next(self._channel)
        if channel == "bbs":
            title, posts = self.rng.choice(CHATTER)
            slots = self._slots(when)
            self._thread(title.format(**slots), [p.format(**slots) for p in posts], when, ())
        else:
            self._publish(_in(self._filler(channel, when), channel), when)
        self.published.ordinary += 1
        self._at(when + self._jittered(self.step), self._ordinary)

    def _filler(self, channel: str, when: datetime) -> Draft:
        """Ordinary news for ``channel``, drawn again while it names a monitored topic (a
        任免通知 of the 区信访办 would otherwise raise a 信访 alert)."""
        section = "news" if channel == "kuaixun" else channel
        for _ in range(20):
            draft = self.filler.draft(section, when, self.rng.randrange(6))
            if not any(w in draft.title + draft.body for w in TOPIC_WORDS):
                break
        return draft

    def _sideline_item(self, when: datetime) -> None:
        text, excluded = next(self._sideline)
        slots = self._slots(when)
        channel = self.rng.choice(("news", "shehui", "kuaixun"))
        article = self._publish(_draft(text, slots, channel), when)
        (self.published.excluded if excluded else self.published.elsewhere).append(article.title)
        self._at(when + self._jittered(self.incident_every / 2), self._sideline_item)

    def _incident(self, when: datetime) -> None:
        incident = next(self._incident_kinds)
        slots = self._slots(when, incident)
        first = self._publish(_draft(incident.report, slots, "news", kind="relevant"), when)
        self.published.incidents.append(first.title)
        for repost in incident.reposts:
            self._at(
                when + timedelta(minutes=repost.after), partial(self._repost, first, repost, slots)
            )
        for followup in incident.followups:
            self._at(
                when + timedelta(minutes=followup.after),
                partial(self._followup, followup.text, followup.channel, slots),
            )
        title, posts = incident.thread
        self._at(
            when + timedelta(minutes=2),
            partial(
                self._thread,
                title.format(**slots),
                [p.format(**slots) for p in posts],
                reply_minutes=incident.reply_minutes,
            ),
        )
        self._at(when + self._jittered(self.incident_every), self._incident)

    def _followup(self, text: Text, channel: str, slots: dict[str, Any], when: datetime) -> None:
        self._publish(_draft(text, slots | self._times(when), channel, kind="relevant"), when)

    @staticmethod
    def _times(when: datetime) -> dict[str, str]:
        return {"hm": f"{when.hour}时{when.minute}分", "md": f"{when.month}月{when.day}日"}

    def _repost(
        self, first: Article, repost: Repost, slots: dict[str, Any], when: datetime
    ) -> None:
        body = "\n".join(
            p for p in (repost.lead.format(**slots), first.body, repost.tail.format(**slots)) if p
        )
        gov = repost.channel == "zwgk"
        draft = Draft(
            title=repost.title.format(title=first.title),
            body=body,
            section=repost.channel,
            author=None if gov else f"编辑 {slots['name']}",
            source=repost.source,
            encoding="gbk" if gov else "utf-8",
            declared_charset="gbk" if gov else "utf-8",
            kind="relevant",
        )
        self.site.add(draft, when, repost_of=first)

    def _thread(
        self, title: str, posts: list[str], when: datetime, reply_minutes: tuple[int, ...] = ()
    ) -> None:
        """A new forum thread: its opening post now, each later post after its minutes (the
        last, from the moderator, when replies are scheduled)."""
        ident = self.site.reserve_id()
        authors = self.rng.sample(CITIZENS, min(len(posts), len(CITIZENS)))
        opening = Post(1, authors[0], _minute(when), posts[0])
        thread = Thread(ident, title, (opening,), kind="relevant" if reply_minutes else "unrelated")
        if not reply_minutes:
            # Ordinary threads come with their answers already there.
            thread = Thread(
                ident,
                title,
                tuple(
                    Post(i + 1, authors[i % len(authors)], _minute(when), text)
                    for i, text in enumerate(posts)
                ),
            )
        self.site.put_thread(thread)
        for floor, (minutes, text) in enumerate(zip(reply_minutes, posts[1:], strict=False), 2):
            last = floor == len(posts)
            author = MODERATOR if last else authors[(floor - 1) % len(authors)]
            self._at(
                when + timedelta(minutes=minutes),
                partial(self._reply, ident, floor, author, text),
            )

    def _reply(self, ident: int, floor: int, author: str, text: str, when: datetime) -> None:
        thread = self.site.thread(ident)
        if thread is None:
            return
        post = Post(floor, author, _minute(when), text)
        self.site.put_thread(
            Thread(thread.id, thread.title, (*thread.posts, post), thread.kind, thread.topics)
        )

    def _publish(self, draft: Draft, when: datetime) -> Article:
        return self.site.add(draft, when)

    def _archive(self, now: datetime) -> None:
        """A first world has some history: ordinary news of the last hours and an incident
        of four days ago with its repost. A monitor seeing them for the first time should
        treat them as backfill, not news."""
        for hours in (30, 9, 6, 4, 3, 2, 1.5, 1):
            when = now - timedelta(hours=hours)
            self._ordinary_archive(when)
        old = now - timedelta(days=4)
        incident = INCIDENTS[0]
        slots = self._slots(old, incident)
        first = self._publish(_draft(incident.report, slots, "news", kind="relevant"), old)
        self._repost(first, incident.reposts[0], slots, old + timedelta(minutes=30))

    def _ordinary_archive(self, when: datetime) -> None:
        for channel in ("news", "shehui", "zwgk", "kuaixun"):
            draft = self._filler(channel, when)
            self._publish(_in(draft, channel), when - timedelta(minutes=self.rng.randrange(50)))
        title, posts = self.rng.choice(CHATTER)
        slots = self._slots(when)
        self._thread(title.format(**slots), [p.format(**slots) for p in posts], when, ())

    # -- state -------------------------------------------------------------------------

    def _load(self) -> int:
        """Restore the published articles and threads; how many there were."""
        if self.state_dir is None:
            return 0
        articles, threads = load_state(self.state_dir)
        for article in articles:
            self.site.restore(article)
        for thread in threads:
            self.site.put_thread(thread)
        self._saved_articles = {a.id for a in articles}
        self._saved_threads = {t.id: len(t.posts) for t in threads}
        return len(articles) + len(threads)

    def _save(self) -> None:
        """Append what is new since the last save (a line per article or thread version):
        hours of news stay cheap to keep, and a stop mid-write loses one line at most."""
        if self.state_dir is None:
            return
        lines = [
            json.dumps({"article": _plain(asdict(a))}, ensure_ascii=False)
            for a in self.site.articles
            if a.id not in self._saved_articles
        ]
        lines += [
            json.dumps({"thread": _plain(asdict(t))}, ensure_ascii=False)
            for t in self.site.threads
            if self._saved_threads.get(t.id) != len(t.posts)
        ]
        if not lines:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.state_dir / STATE).open("a", encoding="utf-8") as out:
            out.write("".join(f"{line}\n" for line in lines))
        self._saved_articles.update(a.id for a in self.site.articles)
        self._saved_threads = {t.id: len(t.posts) for t in self.site.threads}


def load_state(folder: Path) -> tuple[list[Article], list[Thread]]:
    """The articles and (latest versions of the) threads a world saved in ``folder``."""
    path = folder / STATE
    if not path.exists():
        return [], []
    articles: dict[int, Article] = {}
    threads: dict[int, Thread] = {}
    for line in path.read_text("utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # the last line of a world stopped mid-write
        if "article" in record:
            article = _article(record["article"])
            articles[article.id] = article
        elif "thread" in record:
            thread = _thread(record["thread"])
            threads[thread.id] = thread
    return list(articles.values()), list(threads.values())


def _minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


def _in(draft: Draft, channel: str) -> Draft:
    """``draft`` on ``channel``; the government portal serves GBK."""
    gov = channel == "zwgk"
    return Draft(
        title=draft.title,
        body=draft.body,
        section=channel,
        author=draft.author,
        source=draft.source,
        encoding="gbk" if gov else "utf-8",
        declared_charset="gbk" if gov else "utf-8",
        kind=draft.kind,
    )


def _draft(text: Text, slots: dict[str, Any], channel: str, kind: str = "decoy") -> Draft:
    gov = channel == "zwgk"
    return _in(
        Draft(
            title=text.title.format(**slots),
            body="\n".join(p.format(**slots) for p in text.paragraphs),
            section=channel,
            author=None if gov else f"记者 {slots['name']}",
            source="区应急管理局" if gov else NEWS_SOURCE,
            kind=kind,
        ),
        channel,
    )


def _plain(data: Any) -> Any:
    """JSON-ready: datetimes and dates as ISO text, tuples as lists."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    if isinstance(data, datetime | date):
        return data.isoformat()
    return data


def _article(raw: dict[str, Any]) -> Article:
    raw = dict(raw)
    raw["published"] = datetime.fromisoformat(raw["published"])
    if raw.get("written"):
        raw["written"] = date.fromisoformat(raw["written"])
    raw["topics"] = tuple(raw.get("topics") or ())
    return Article(**raw)


def _thread(raw: dict[str, Any]) -> Thread:
    posts = tuple(
        Post(p["floor"], p["author"], datetime.fromisoformat(p["time"]), p["text"])
        for p in raw["posts"]
    )
    return Thread(
        raw["id"], raw["title"], posts, raw["kind"], tuple(raw["topics"]), raw["encoding"]
    )
