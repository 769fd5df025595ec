"""The records the store keeps and the queries it answers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Literal

from w3lib.url import canonicalize_url

TimeField = Literal["publish_time", "first_seen"]
SortKey = Literal["relevance", "publish_time", "first_seen", "negative"]
MAX_WINDOW = 10_000  # deepest page reachable by offset, the same on both backends


def canonical_url(url: str) -> str:
    """The URL that identifies a page: sorted query, no fragment, normalised escapes."""
    return canonicalize_url(url, keep_fragments=False)


def item_id(url: str) -> str:
    """Stable id of the item at ``url``; re-crawling the page yields the same id."""
    return hashlib.sha1(canonical_url(url).encode("utf-8")).hexdigest()


@dataclass
class Item:
    """One collected page. ``first_seen`` is set once, when the page is first stored."""

    url: str
    title: str
    body: str
    first_seen: datetime
    source_id: str = ""
    publish_time: datetime | None = None
    # How precisely publish_time is known: "year", "month", "day", "minute", "second", or ""
    # when unknown. A year- or month-only date is stored as the start of its period (so it
    # sorts and filters by that instant) and must not be shown or used as that day.
    published_precision: str = ""
    # Where publish_time came from: byline, meta, jsonld, time, text, url, script, htmldate
    # (crawler.extraction.published), selector or feed (crawler.pipelines); "" when unknown.
    published_source: str = ""
    # 成文日期 of an official document, kept beside its 发布日期 (``publish_time``).
    written_time: datetime | None = None
    author: str = ""
    site_source: str = ""
    tags: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)
    event_id: str | None = None
    # The monitor's normalised text (what rules are matched against), stored so the
    # same rule can run as a query over stored items (backtests).
    norm_title: str = ""
    norm_body: str = ""
    fingerprint: list[str] = field(default_factory=list)  # near-duplicate lookup keys
    # The page had a title but no extractable body: stored and matched on its title.
    body_missing: bool = False
    # Old news at first sight (published before the backfill window, or collected by its
    # source's first crawl): stored and matched, but not news (see crawler.backfill). Set
    # once, when the page is first stored, like ``first_seen``.
    backfill: bool = False
    # Where and how bad (filled by analysis.item): the codes of every recognised place and
    # the places above them, the primary region and those above it, each mention with its
    # evidence; the negative score 0-1 (two decimals), its class and evidence.
    regions: list[str] = field(default_factory=list)
    region_primary: list[str] = field(default_factory=list)
    places: list[dict[str, Any]] = field(default_factory=list)
    negative: float = 0.0
    sentiment: str = ""
    sentiment_evidence: list[dict[str, Any]] = field(default_factory=list)
    version: str | None = None  # opaque token for optimistic concurrency, set by the store

    @cached_property
    def id(self) -> str:
        # Canonicalising a URL costs more than storing the row: compute it once.
        return item_id(self.url)


def with_id(item: Item, stored_id: str) -> Item:
    """``item`` with the id its store keeps for it, so reading many items (a page of
    search results) does not canonicalise each URL again."""
    item.__dict__["id"] = stored_id
    return item


@dataclass
class Lease:
    """A named lease: ``holder`` (a process id of the caller's choosing) holds ``name``
    until ``until`` unless it renews it; after that anyone may take it."""

    name: str
    holder: str
    until: datetime
    acquired: datetime  # when this holder took it (renewals keep it)


@dataclass
class ItemText:
    """What discovery reads of an item: its normalised texts and what already matched it
    (see :meth:`store.base.ItemRepo.scan`)."""

    id: str
    first_seen: datetime
    source_id: str
    title: str
    norm_title: str
    norm_body: str
    rules: list[str]
    event_id: str | None


@dataclass
class Dismissal:
    """A suggested keyword an operator turned down. Discovery does not suggest ``term``
    again unless its document frequency in a window reaches twice ``window_df`` (a new
    burst, not the same one seen again)."""

    term: str
    actor: str
    time: datetime
    window_df: int  # documents that held the term in the window it was dismissed from
    score: float = 0.0


@dataclass
class DiscoveryReport:
    """The outcome of one discovery run (see :mod:`monitor.discovery`), as data."""

    time: datetime  # when the run's window ended
    data: dict[str, Any]


MUTABLE_FIELDS = frozenset({"tags", "rules", "hits", "event_id"})


@dataclass
class ItemQuery:
    """A search over items. ``q`` uses the expression language of :mod:`rules.syntax`."""

    q: str = ""
    since: datetime | None = None
    until: datetime | None = None
    time_field: TimeField = "first_seen"
    sources: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    event_id: str | None = None
    backfill: bool | None = None  # True: backfill items only; False: news only; None: all
    sort: SortKey = "relevance"
    descending: bool = True
    page: int = 1
    size: int = 20
    highlight: bool = True
    # Match ``q`` against the normalised copies (norm_title/norm_body) instead of the
    # originals: how rules run over stored items. Words must be given normalised.
    normalized: bool = False
    # None: count every match. A number (the console's searches): when more items
    # match, a search without filters (SQLite) describes the ``count_limit`` newest
    # of them and says so
    # (SearchResult.exact); its total, facets and page come from those. A word found in
    # most items costs then what a rarer one does. Newest is by first_seen on
    # Elasticsearch and by the order items were first stored on SQLite (the same order,
    # but for the seconds a crawl takes to store what it saw).
    count_limit: int | None = None


@dataclass
class Found:
    item: Item
    score: float | None
    highlights: dict[str, list[str]]  # field -> HTML-escaped fragments with <mark>...</mark>


@dataclass
class SearchResult:
    total: int
    hits: list[Found]
    # False: more than ``total`` items matched (ItemQuery.count_limit); the total is a
    # lower bound and the page and the facets are of the ``total`` newest matches.
    exact: bool = True


@dataclass
class Facets:
    per_day: dict[str, int]  # "YYYY-MM-DD" in the store's time zone -> count
    per_source: dict[str, int]
    per_rule: dict[str, int] = field(default_factory=dict)
    # Region code (each item counted under every code it is about, and those above
    # them) -> count, most first; the console names them from the gazetteer.
    per_region: dict[str, int] = field(default_factory=dict)


EventOrder = Literal["recent", "size"]


@dataclass
class EventSummary:
    """One event (a story and its reposts, see :mod:`crawler.events`) as seen through a
    query: only the items the query matches count."""

    id: str
    items: int
    first_seen: datetime
    last_seen: datetime
    sources: list[str]  # most items first
    rules: list[str]  # most items first
    title: str  # of its earliest matching item
    item_id: str  # that item


@dataclass
class LibraryVersion:
    """One saved state of the keyword library. Versions count up from 1; each names
    its parent, so two editors saving on top of the same version cannot both win."""

    version: int
    parent: int | None
    author: str
    created: datetime
    message: str
    data: dict[str, Any]  # the library in its export form
    summary: dict[str, Any] = field(default_factory=dict)  # what changed, for lists


@dataclass
class AuditEntry:
    """One append-only record of who changed what (before/after as data)."""

    actor: str
    action: str
    target: str
    time: datetime
    before: Any = None
    after: Any = None
    id: str = ""


SourceType = Literal["feed", "list", "sitemap", "page"]
RobotsPolicy = Literal["obey", "ignore"]


@dataclass
class Source:
    """One place the crawler watches. ``selectors`` (optional) name CSS or XPath expressions
    for ``links``, ``next``, ``title``, ``body`` and ``time``; without them extraction is
    automatic. While ``emergency_until`` lies ahead, ``emergency_interval`` replaces
    ``interval``. ``render``: its pages are rendered in a browser (JavaScript run) before
    extraction. ``allow_private``: an admin allowed its start URLs' hosts private,
    loopback or link-local addresses (checked at creation and at every fetch)."""

    id: str
    name: str
    type: SourceType
    start_urls: list[str]
    interval: int  # seconds between runs
    tags: list[str] = field(default_factory=list)
    region: str = ""
    encoding: str | None = None  # overrides what the pages declare
    selectors: dict[str, str] = field(default_factory=dict)
    robots: RobotsPolicy = "obey"
    enabled: bool = True
    max_pages: int = 10  # list pages followed per run, the first included
    render: bool = False
    allow_private: bool = False
    emergency_interval: int | None = None
    emergency_until: datetime | None = None
    version: str | None = None

    def effective_interval(self, now: datetime) -> int:
        """Seconds between runs at ``now``, shortened while an emergency lasts."""
        if self.emergency_interval and self.emergency_until and now < self.emergency_until:
            return min(self.interval, self.emergency_interval)
        return self.interval


RunOutcome = Literal["running", "ok", "partial", "failed", "blocked", "lost", "abandoned"]


@dataclass
class CrawlRun:
    """One run of one source. While ``outcome`` is ``running`` the run holds the source's
    lease until ``lease_until``; a run whose lease ran out is ``lost`` (its process died); one
    stopped by a service shutting down is ``abandoned``."""

    source_id: str
    holder: str  # host:pid of the crawling process
    started: datetime
    lease_until: datetime
    id: str = ""
    finished: datetime | None = None
    outcome: RunOutcome = "running"
    pages: int = 0  # responses received, 304s included
    not_modified: int = 0
    items: int = 0
    new_items: int = 0
    parse_failures: int = 0
    replacement_share: float = 0.0  # U+FFFD share over the run's decoded pages
    errors: list[dict[str, str]] = field(default_factory=list)  # {"url", "reason"}
    problems: list[str] = field(default_factory=list)  # health problems after this run
    list_pages: int = 0  # list pages, feeds and sitemaps read (not 304)
    links: int = 0  # fetchable article links found on them, known ones included
    skipped_links: int = 0  # links that are not http(s): javascript:, mailto:, tel:, data:


@dataclass
class Fetch:
    """What the crawler knows about one fetched URL: validators for conditional GET,
    and whether it became an item (an article URL is never fetched twice)."""

    url: str
    source_id: str
    fetched: datetime
    status: int
    etag: str | None = None
    last_modified: str | None = None
    item_id: str | None = None
    reason: str = ""  # why no item came of it

    @cached_property
    def id(self) -> str:
        return item_id(self.url)


# Each source health problem's name for operators (alert titles, the console, emails).
HEALTH_KINDS = {
    "failing": "连续采集失败",
    "blocked": "被反爬拦截",
    "silent": "长时间无新信息",
    "parse": "页面解析失败",
    "encoding": "乱码",
    "recovered": "已恢复",
}


@dataclass
class HealthEvent:
    """A source went silent or broken (``kind``: a problem) or came back (``recovered``)."""

    source_id: str
    time: datetime
    kind: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    id: str = ""


AlertStatus = Literal["new", "acknowledged", "handling", "responded", "closed"]
OPEN_STATUSES: tuple[AlertStatus, ...] = ("new", "acknowledged", "handling", "responded")


@dataclass
class Alert:
    """One alert (a ticket): at most one per (rule, event), so its ``id`` is derived
    from both. ``publish_time`` -> ``first_seen`` -> ``matched`` -> ``emailed`` are the
    latency stages of its first item; ``items`` counts the event's items seen so far."""

    id: str
    rule: str
    event_id: str
    kind: str  # immediate, threshold, spike, health
    severity: str
    title: str
    item_id: str
    url: str
    source_id: str
    created: datetime
    hits: list[dict[str, Any]] = field(default_factory=list)
    publish_time: datetime | None = None
    first_seen: datetime | None = None
    matched: datetime | None = None
    emailed: datetime | None = None
    status: AlertStatus = "new"
    assignee: str = ""
    acknowledged: datetime | None = None
    handling: datetime | None = None
    responded: datetime | None = None
    closed: datetime | None = None
    close_reason: str = ""
    guidance: str = ""  # link or note to the authoritative information published
    items: int = 1
    notified_items: int = 1  # items the last notification covered
    updates: int = 0  # update notifications sent
    last_notified: datetime | None = None
    escalated: list[str] = field(default_factory=list)  # deadlines already escalated
    emergency: bool = False
    recipients: list[str] = field(default_factory=list)
    version: str | None = None
    # Where routing sent it beyond its email recipients (``monitor.alerts.routing.Target``
    # keys): its updates follow it there.
    targets: list[str] = field(default_factory=list)
    # Raised by backfill items (a policy with include_backfill): no handling deadlines and
    # no place in the latency figures.
    backfill: bool = False
    # How negative its most negative item is (0-1) and the first item's primary region:
    # the inbox sorts and shows by them.
    negative: float = 0.0
    region: str = ""


@dataclass
class TimelineEntry:
    """One action on an alert, append-only: who did what, when (refused attempts too)."""

    alert_id: str
    time: datetime
    actor: str
    action: str
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    id: str = ""


# ``merged``: carried by another delivery of the same alert to the same destination
# (``merged_into``), which a rate limit held back with it.
OutboxStatus = Literal["pending", "sending", "sent", "failed", "merged"]
OUTBOX_STATUSES: tuple[OutboxStatus, ...] = ("pending", "sending", "sent", "failed", "merged")


@dataclass
class OutboxMessage:
    """One delivery (an email, a chat message, an SMS, a webhook call) persisted before it
    is sent. ``key`` (alert, destination, kind) makes enqueueing idempotent; ``due`` is
    the next attempt, or while ``sending`` the end of the sender's claim (a sender that
    died leaves it to be taken over then).

    ``channel`` names the channel that delivers it (``email``, or a configured channel's
    id) and ``notice`` holds the channel-neutral message the channel renders when sending
    (see :mod:`monitor.alerts.notice`). Emails queued before channels existed have no
    ``notice``: their ``subject``, ``text`` and ``html`` were rendered when queued and are
    sent as they are. ``subject`` is always a one-line summary, for lists."""

    key: str
    recipient: str
    subject: str
    text: str
    html: str
    created: datetime
    due: datetime
    kind: str = "alert"
    alert_id: str = ""
    status: OutboxStatus = "pending"
    attempts: int = 0
    sent: datetime | None = None
    error: str = ""
    version: str | None = None
    channel: str = "email"
    notice: dict[str, Any] = field(default_factory=dict)
    link: str = ""  # the short acknowledge code (chat and SMS), see monitor.alerts.links
    ack_token: str = ""  # the signed acknowledge token the short code stands for
    merged_into: str = ""

    @cached_property
    def id(self) -> str:
        return message_id(self.key)


def message_id(key: str) -> str:
    """The stored id of the outbox message with idempotency key ``key``."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


@dataclass
class AlertPolicy:
    """How a rule alerts; ``settings`` are validated by ``monitor.alerts.policy``."""

    rule: str
    settings: dict[str, Any]
    updated: datetime
    author: str = ""
    version: str | None = None


@dataclass
class EmergencySwitch:
    """Emergency mode for one rule, or for all (``scope`` ``*``): every new event alerts
    at once, quiet hours ignored, tagged sources crawled more often."""

    scope: str
    on: bool
    since: datetime
    actor: str
    reason: str = ""
    until: datetime | None = None
    version: str | None = None


@dataclass
class User:
    """A console or API user. ``password_hash`` is an argon2 hash, never the password."""

    name: str
    role: str  # viewer, operator or admin
    password_hash: str
    created: datetime
    updated: datetime
    display_name: str = ""
    email: str = ""
    disabled: bool = False
    # The second factor (admins, optional): the TOTP secret (base32; needed in clear to
    # compute codes), the last time step a code was accepted for (no code works twice)
    # and the SHA-256 of each unused recovery code.
    totp_secret: str = ""
    totp_step: int = 0
    recovery_codes: list[str] = field(default_factory=list)
    version: str | None = None


@dataclass
class ApiToken:
    """A script's credential for ``user``: only the SHA-256 of its secret is kept. A revoked
    token stays, so the audit trail and listings can still name it."""

    id: str
    user: str
    label: str
    token_hash: str
    created: datetime
    last_used: datetime | None = None
    revoked: datetime | None = None
    # None: a token issued before tokens expired; it ends ``token_days`` after ``created``.
    expires: datetime | None = None
    version: str | None = None


@dataclass
class UserSession:
    """A console sign-in. The browser's cookie holds a random secret; the store keeps only
    its SHA-256 as ``id``, so a copy of the store signs nobody in. Ended sessions stay
    (``revoked`` set) until pruned, so a replayed cookie is told apart from garbage."""

    id: str
    user: str
    created: datetime
    last_seen: datetime
    revoked: datetime | None = None
    address: str = ""
    version: str | None = None


@dataclass
class ChannelConfig:
    """One configured notification channel (a chat group's robot, an SMS account, a
    webhook endpoint), validated by ``monitor.alerts.channels``. ``secrets`` (webhook
    keys, signing secrets, access key secrets) are write-only outside the store."""

    id: str
    kind: str
    name: str
    settings: dict[str, Any]
    secrets: dict[str, str]
    updated: datetime
    author: str = ""
    enabled: bool = True
    version: str | None = None


@dataclass
class RoutingTable:
    """Where alerts go beyond their email recipients: routes, quiet hours' exceptions,
    the emergency list and escalation chains, validated by ``monitor.alerts.routing``."""

    settings: dict[str, Any]
    updated: datetime
    author: str = ""
    name: str = "default"  # there is one table; the name keys it in the store
    version: str | None = None
