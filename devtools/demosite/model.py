"""Ground-truth records of what the demo site serves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The newest seeded item; everything seeded lies before it, so a clock set later publishes "new".
BASE_TIME = datetime(2021, 2, 5, 10, 30, tzinfo=SHANGHAI)

SECTIONS: dict[str, str] = {
    "news": "潼南要闻",
    "shehui": "社会民生",
    "zwgk": "政务公开",
    # Short wire items, published only through the RSS feed's ``?section=kuaixun`` in the
    # demo world, so the feed source finds news of its own.
    "kuaixun": "潼南快讯",
}

# Encodings an article may be stored in; the page bytes are ``text.encode(encoding)``.
ENCODINGS = ("utf-8", "gbk", "gb18030")


@dataclass(frozen=True)
class Article:
    """One article page, exactly as a perfect extractor should see it.

    ``kind`` is ``relevant`` (place + monitored topic), ``decoy`` (looks relevant, should not
    alert), ``unrelated``, ``xss`` or ``report``. ``declared_charset`` is what the page's
    ``<meta>`` says (None: no meta); ``header_charset`` what Content-Type says.
    """

    id: int
    path: str
    section: str
    title: str
    body: str
    published: datetime
    author: str | None
    source: str
    encoding: str
    declared_charset: str | None
    header_charset: str | None
    story_id: str
    kind: str = "unrelated"
    topics: tuple[str, ...] = ()
    repost_of: int | None = None
    index_no: str | None = None
    written: date | None = None

    @property
    def paragraphs(self) -> list[str]:
        """Body paragraphs as rendered, one ``<p>`` each."""
        return [p for p in self.body.split("\n") if p.strip()]


@dataclass(frozen=True)
class Post:
    """One floor of a forum thread."""

    floor: int
    author: str
    time: datetime
    text: str


@dataclass(frozen=True)
class Thread:
    """A forum thread page (``/bbs/thread-N.html``), served GBK like most Discuz boards."""

    id: int
    title: str
    posts: tuple[Post, ...]
    kind: str = "unrelated"
    topics: tuple[str, ...] = ()
    encoding: str = "gbk"

    @property
    def path(self) -> str:
        return f"/bbs/thread-{self.id}.html"

    @property
    def updated(self) -> datetime:
        """Time of the last post, the thread's Last-Modified and sitemap lastmod."""
        return self.posts[-1].time


@dataclass(frozen=True)
class Draft:
    """An article not yet published: what seeding, the drip schedule or a test hands over."""

    title: str
    body: str
    section: str = "news"
    author: str | None = "记者 周敏"
    source: str = "潼南区融媒体中心"
    encoding: str = "utf-8"
    declared_charset: str | None = "utf-8"
    kind: str = "unrelated"
    topics: tuple[str, ...] = ()


def minute(dt: datetime) -> datetime:
    """Truncate to the minute, the precision pages display ("发布时间：2021-02-05 10:30")."""
    return dt - timedelta(seconds=dt.second, microseconds=dt.microsecond)
