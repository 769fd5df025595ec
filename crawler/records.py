"""What flows through a crawl: fetched pages from the spiders, crawled items after extraction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from store import Item


@dataclass
class Part:
    """A further page of a paged article (第2页, ``_2.html``), fetched after the first."""

    url: str
    body: bytes
    content_type: str | None


@dataclass
class Page:
    """A fetched page as a spider hands it on; the pipelines extract it.

    ``fields`` are values the source's selectors picked (title, body, time) or the feed
    said; they win over automatic extraction. ``known`` means the URL was fetched in an
    earlier run (a watched page), so its item is not new.
    """

    url: str
    source_id: str
    status: int
    body: bytes
    content_type: str | None
    etag: str | None = None
    last_modified: str | None = None
    known: bool = False
    aliases: list[str] = field(default_factory=list)  # URLs that redirected here
    fields: dict[str, str] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)  # the article's further pages, in order


@dataclass
class Crawled:
    """A page after extraction: its item, or ``failure`` saying why there is none."""

    page: Page
    fetched: datetime
    item: Item | None = None
    failure: str = ""
    encoding: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. the event step's similarity
