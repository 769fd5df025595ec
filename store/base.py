"""The storage interface: what the rest of yuqing may ask of a store.

Two backends implement it — SQLite (embedded default) and Elasticsearch — and
one contract test-suite runs against both. Keep it narrow and shaped by use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from rules.syntax import Node, ParseError, parse
from store.errors import QueryError
from store.frequencies import LEAD, Counting, Frequencies
from store.model import (
    MAX_WINDOW,
    Alert,
    AlertPolicy,
    ApiToken,
    AuditEntry,
    ChannelConfig,
    CrawlRun,
    DiscoveryReport,
    Dismissal,
    EmergencySwitch,
    EventOrder,
    EventSummary,
    Facets,
    Fetch,
    HealthEvent,
    Item,
    ItemQuery,
    ItemText,
    Lease,
    LibraryVersion,
    OutboxMessage,
    OutboxStatus,
    RoutingTable,
    SearchResult,
    Source,
    TimelineEntry,
    User,
    UserSession,
)
from store.secrets import redact_url

MAX_PAGE_SIZE = 500


class ItemRepo(ABC):
    """Collected pages, addressed by the id derived from their canonical URL."""

    batch_size: int  # items written per backend round trip

    def upsert_many(self, items: Iterable[Item]) -> int:
        """Insert or update items in bulk; keeps an existing ``first_seen``. Returns count."""
        done = 0
        batch: list[Item] = []
        for item in items:
            batch.append(item)
            if len(batch) == self.batch_size:
                done += self._upsert(batch)
                batch = []
        if batch:
            done += self._upsert(batch)
        return done

    @abstractmethod
    def _upsert(self, batch: list[Item]) -> int:
        """Write one batch (the last copy of a URL in it wins); returns its length."""

    @abstractmethod
    def get(self, item_id: str) -> Item | None:
        """The item with ``item_id`` (with its ``version``), or None."""

    @abstractmethod
    def update(self, item_id: str, changes: dict[str, Any], if_version: str) -> Item:
        """Change mutable fields if the item is still at ``if_version``.

        Raises :class:`~store.errors.ConflictError` if someone wrote first and
        :class:`~store.errors.NotFound` if there is no such item.
        """

    @abstractmethod
    def search(self, query: ItemQuery) -> SearchResult:
        """Items matching ``query``, one page, with highlights."""

    @abstractmethod
    def facets(self, query: ItemQuery) -> Facets:
        """Counts per day, per source and per rule over everything ``query`` matches."""

    def search_with_facets(self, query: ItemQuery) -> tuple[SearchResult, Facets]:
        """:meth:`search` and :meth:`facets` of one query (the console's search page),
        in one round trip where the backend can."""
        return self.search(query), self.facets(query)

    @abstractmethod
    def events(
        self, query: ItemQuery, limit: int = 50, order: EventOrder = "recent"
    ) -> list[EventSummary]:
        """The events of the items ``query`` matches (items without one are left out):
        the most recently seen first, or with ``order="size"`` the most items first.
        ``query``'s page, size and sort do not apply."""

    @abstractmethod
    def count(self) -> int:
        """Number of stored items."""

    @abstractmethod
    def find_similar(self, keys: list[str], since: datetime, limit: int = 20) -> list[Item]:
        """Items first seen at or after ``since`` sharing any of the fingerprint
        ``keys``, those sharing the most first (candidates for one event)."""

    def find_similar_many(
        self, queries: Sequence[tuple[list[str], datetime]], limit: int = 20
    ) -> list[list[Item]]:
        """:meth:`find_similar` of each ``(keys, since)``, in order, in one round trip
        where the backend can (a crawl asks for each item it extracts)."""
        return [self.find_similar(keys, since, limit) for keys, since in queries]

    @abstractmethod
    def scan(self, since: datetime, until: datetime) -> Iterator[ItemText]:
        """Every item first seen at or after ``since`` and before ``until``, oldest
        first, with only the fields discovery reads; streamed, however many there are."""

    def phrase_frequencies(
        self,
        phrases: Sequence[str],
        since: datetime,
        until: datetime,
        *,
        scope: Sequence[str] = (),
        sources: Iterable[str] = (),
        events: Iterable[str] = (),
        lead: int = LEAD,
    ) -> Frequencies:
        """How many items first seen in ``[since, until)`` hold each of ``phrases``
        (normalised text), in all and per day, among those in scope (see
        :mod:`store.frequencies`); and how many items each of ``events`` has there.
        This reads every item of the span; a backend that can count in place does."""
        counting = Counting(phrases, scope=scope, sources=sources, events=events, lead=lead)
        for item in self.scan(since, until):
            counting.add(item)
        return counting.result()


def check_span(since: datetime, until: datetime) -> None:
    for name, value in (("since", since), ("until", until)):
        if value.tzinfo is None:
            raise QueryError(f"{name} needs a time zone", name)
    if since >= until:
        raise QueryError("since must be earlier than until", "since")


class DiscoveryRepo(ABC):
    """Discovery's memory: the keyword suggestions operators dismissed (one per term, the
    latest wins) and the report of the latest discovery run."""

    @abstractmethod
    def dismiss(self, dismissal: Dismissal) -> Dismissal:
        """Record ``dismissal``, replacing an earlier one of its term."""

    @abstractmethod
    def dismissal(self, term: str) -> Dismissal | None: ...

    @abstractmethod
    def dismissals(self) -> list[Dismissal]:
        """All dismissals, newest first."""

    @abstractmethod
    def undismiss(self, term: str) -> bool:
        """Forget the dismissal (the term may be suggested again); False if there was none."""

    @abstractmethod
    def save_report(self, report: DiscoveryReport) -> None:
        """Keep ``report`` as the latest (an earlier one is replaced)."""

    @abstractmethod
    def latest_report(self) -> DiscoveryReport | None: ...


def check_dismissal(dismissal: Dismissal) -> None:
    if not dismissal.term.strip():
        raise QueryError("term: say which term is dismissed", "term")
    if dismissal.time.tzinfo is None:
        raise QueryError("time needs a time zone", "time")


class LibraryRepo(ABC):
    """Saved versions of the keyword library; never changed once written."""

    @abstractmethod
    def head(self) -> LibraryVersion | None:
        """The newest version, or None before the first save."""

    @abstractmethod
    def get(self, version: int) -> LibraryVersion | None: ...

    @abstractmethod
    def history(self, limit: int = 50) -> list[LibraryVersion]:
        """Newest first, without ``data`` (it can be large)."""

    @abstractmethod
    def commit(self, version: LibraryVersion) -> LibraryVersion:
        """Store ``version``, which must be ``parent + 1`` of the current head.

        Raises :class:`~store.errors.ConflictError` if someone saved first.
        """


class AuditRepo(ABC):
    """The append-only audit log: there is no way to change or remove an entry."""

    @abstractmethod
    def append(self, entry: AuditEntry) -> AuditEntry:
        """Record ``entry``; returns it with its id."""

    @abstractmethod
    def list(
        self, *, target: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Newest first."""


def audited_allow_private(start_urls: Iterable[str], afters: Iterable[Any]) -> bool:
    """Migration of a source saved by an earlier yuqing, which kept an admin's permission
    for private addresses only in the audit: whether one of the source's audit records
    (``afters``, the entries' ``after`` documents) allowed it for a host the source still
    starts from."""
    own = _url_hosts(start_urls)
    return any(
        isinstance(after, dict)
        and after.get("allow_private") is True
        and own & _url_hosts(after.get("start_urls") or [])
        for after in afters
    )


def _url_hosts(urls: Iterable[Any]) -> set[str]:
    return {(urlsplit(u).hostname or "").lower() for u in urls if isinstance(u, str)} - {""}


class SourceRepo(ABC):
    """The crawl source registry."""

    @abstractmethod
    def put(self, source: Source) -> Source:
        """Create or replace ``source``; returns it with its new ``version``.

        With ``source.version`` set the stored source must still be at that version,
        else :class:`~store.errors.ConflictError`.
        """

    @abstractmethod
    def get(self, source_id: str) -> Source | None: ...

    @abstractmethod
    def list(self) -> list[Source]:
        """All sources, by id."""

    @abstractmethod
    def delete(self, source_id: str) -> bool:
        """Remove the source; False if there was none. Its runs and items stay."""


class RunRepo(ABC):
    """Crawl runs. Starting a run takes the source's lease, so however many crawler
    processes share the sources, at most one runs each source at a time."""

    @abstractmethod
    def start(self, run: CrawlRun, *, not_since: datetime | None = None) -> CrawlRun | None:
        """Record ``run`` (with its id) if no other live run holds the source, else None.

        A run whose ``lease_until`` has passed no longer holds it and is marked ``lost``.
        With ``not_since``, also None if a run of the source started after it: the
        check is made holding the lease, so a run another process started and finished
        since the caller last looked counts (a scheduled run is then not due).
        """

    @abstractmethod
    def extend(self, run: CrawlRun, until: datetime) -> None:
        """Keep holding the lease until ``until``; :class:`~store.errors.ConflictError` if
        the lease was lost to another run."""

    @abstractmethod
    def finish(self, run: CrawlRun) -> CrawlRun:
        """Record the run's outcome and counts and release the lease."""

    @abstractmethod
    def recent(self, source_id: str, limit: int = 20) -> list[CrawlRun]:
        """The source's runs, newest first."""

    @abstractmethod
    def between(
        self, source_id: str, since: datetime, until: datetime, limit: int = 10_000
    ) -> list[CrawlRun]:
        """The source's runs started in [since, until), newest first."""

    @abstractmethod
    def last_started(self, source_ids: Iterable[str] | None = None) -> dict[str, datetime]:
        """When the newest run of each source started (as :meth:`recent` has it), in one
        request or a few pages of one, however many sources: of ``source_ids``, or of
        every source with runs (sources without runs are left out). What a scheduler
        starting up needs for every source at once."""

    @abstractmethod
    def recent_many(
        self, source_ids: Iterable[str] | None = None, limit: int = 20
    ) -> dict[str, list[CrawlRun]]:
        """Each source's newest ``limit`` runs, newest first, exactly as :meth:`recent`
        gives them, in one request or a few pages of one, however many sources: of
        ``source_ids`` (each named source is a key, ``[]`` without runs), or of every
        source with runs. What every view of source health needs at once."""

    @abstractmethod
    def started_per_source(self, since: datetime, until: datetime) -> dict[str, int]:
        """How many runs of each source started in [since, until) (sources with none are
        left out): what a report counts, however many runs a day holds."""


class FetchRepo(ABC):
    """Per-URL fetch records: conditional-GET validators and what became of each page."""

    @abstractmethod
    def get_many(self, urls: Iterable[str]) -> dict[str, Fetch]:
        """The records of those ``urls`` fetched before, by URL as given."""

    @abstractmethod
    def put_many(self, fetches: Iterable[Fetch]) -> int:
        """Insert or replace records. Returns count."""


class HealthRepo(ABC):
    """Source health events (silent, broken, blocked, recovered), append-only."""

    @abstractmethod
    def append(self, event: HealthEvent) -> HealthEvent:
        """Record ``event``; returns it with its id."""

    @abstractmethod
    def list(
        self, *, source_id: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[HealthEvent]:
        """Newest first."""


class LeaseRepo(ABC):
    """Named leases, for work exactly one process may do at a time (the outbox sender and
    the alerting tick): any number of processes ask, at most one holds each name, and
    when the holder stops renewing, another takes over after ``until``."""

    @abstractmethod
    def acquire(self, name: str, holder: str, until: datetime, now: datetime) -> Lease | None:
        """Take ``name`` for ``holder`` until ``until`` if it is free, expired at ``now``,
        or already ``holder``'s (a renewal); None while another holder has it."""

    @abstractmethod
    def release(self, name: str, holder: str) -> bool:
        """Give ``name`` up if ``holder`` holds it; False (and nothing changes) if not."""

    @abstractmethod
    def get(self, name: str) -> Lease | None:
        """The lease as last taken, expired or not; None if never taken or released."""


def check_lease(name: str, holder: str, until: datetime, now: datetime) -> None:
    if not name or not holder:
        raise QueryError("a lease needs a name and a holder", "name" if not name else "holder")
    for field, value in (("until", until), ("now", now)):
        if value.tzinfo is None:
            raise QueryError(f"{field} needs a time zone", field)
    if until <= now:
        raise QueryError("until must be later than now", "until")


class Store(ABC):
    """A backend: one object per process, safe to share between threads. ``url`` is what
    opens it (it may hold a password); show ``display_url``, with the password hidden."""

    url: str
    items: ItemRepo
    library: LibraryRepo
    audit: AuditRepo
    sources: SourceRepo
    runs: RunRepo
    fetches: FetchRepo
    health_events: HealthRepo
    alerts: AlertRepo
    alert_timeline: TimelineRepo
    outbox: OutboxRepo
    alert_policies: PolicyRepo
    emergencies: EmergencyRepo
    users: UserRepo
    tokens: TokenRepo
    sessions: SessionRepo
    channels: ChannelRepo
    routing: RoutingRepo
    leases: LeaseRepo
    discovery: DiscoveryRepo

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def health(self) -> dict[str, Any]:
        """A small status report for ``yuqing status`` and the health endpoint."""


def check_query(query: ItemQuery) -> Node | None:
    """Validate a query before a backend runs it; returns the parsed expression."""
    if query.page < 1:
        raise QueryError("page must be 1 or more", "page")
    if not 1 <= query.size <= MAX_PAGE_SIZE:
        raise QueryError(f"size must be between 1 and {MAX_PAGE_SIZE}", "size")
    if query.page * query.size > MAX_WINDOW:
        raise QueryError(
            f"page x size may not exceed {MAX_WINDOW}: narrow the search instead", "page"
        )
    if query.count_limit is not None and not 1 <= query.count_limit <= MAX_WINDOW:
        raise QueryError(f"count_limit must be between 1 and {MAX_WINDOW}", "count_limit")
    for name in ("since", "until"):
        value = getattr(query, name)
        if value is not None and value.tzinfo is None:
            raise QueryError(f"{name} needs a time zone", name)
    if query.since and query.until and query.since >= query.until:
        raise QueryError("since must be earlier than until", "since")
    if not query.q.strip():
        if query.sort == "relevance":
            query.sort = "first_seen"
        return None
    try:
        return parse(query.q)
    except ParseError as e:
        raise QueryError(e.message, "q", e.position) from e


def check_events(query: ItemQuery, limit: int) -> Node | None:
    """Validate an event listing like :func:`check_query`, its page and size aside."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise QueryError(f"limit must be between 1 and {MAX_PAGE_SIZE}", "limit")
    return check_query(replace(query, page=1, size=1))


def check_successor(version: LibraryVersion) -> None:
    """A new version must follow its parent directly."""
    expected = (version.parent or 0) + 1
    if version.version != expected:
        raise QueryError(
            f"version {version.version} cannot follow {version.parent}; expected {expected}",
            "version",
        )
    if version.created.tzinfo is None:
        raise QueryError("created needs a time zone", "created")


class AlertRepo(ABC):
    """Alerts (tickets). Every change is checked against the version it was read at."""

    @abstractmethod
    def create(self, alert: Alert) -> bool:
        """Store a new alert (setting its ``version``); False if one with its id exists."""

    @abstractmethod
    def get(self, alert_id: str) -> Alert | None: ...

    @abstractmethod
    def update(self, alert: Alert) -> Alert:
        """Write ``alert`` if the stored one is still at ``alert.version``; returns it with
        its new version. :class:`~store.errors.ConflictError` if someone wrote first,
        :class:`~store.errors.NotFound` if there is no such alert."""

    @abstractmethod
    def list(
        self,
        *,
        status: Iterable[str] = (),
        rule: str | None = None,
        since: datetime | None = None,
        backfill: bool | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Newest first; ``since`` bounds ``created``; ``backfill`` True or False keeps
        only alerts raised by backfill items, or only the others."""


class TimelineRepo(ABC):
    """Each alert's append-only timeline."""

    @abstractmethod
    def append(self, entry: TimelineEntry) -> TimelineEntry:
        """Record ``entry``; returns it with its id."""

    @abstractmethod
    def list(self, alert_id: str) -> list[TimelineEntry]:
        """Oldest first."""


class OutboxRepo(ABC):
    """Deliveries (emails, chat messages, SMS, webhook calls) waiting to be sent, being
    sent, sent, merged into another or given up."""

    @abstractmethod
    def add(self, message: OutboxMessage) -> bool:
        """Persist ``message``; False (and nothing changes) if its key is already there."""

    @abstractmethod
    def get(self, key: str) -> OutboxMessage | None: ...

    @abstractmethod
    def update(self, message: OutboxMessage) -> OutboxMessage:
        """Write ``message`` if still at ``message.version``, else
        :class:`~store.errors.ConflictError` (another sender claimed it)."""

    @abstractmethod
    def due(self, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        """Pending or abandoned (claim expired) messages whose ``due`` is not after
        ``now``, earliest first."""

    @abstractmethod
    def list(
        self,
        *,
        status: OutboxStatus | None = None,
        alert_id: str | None = None,
        channel: str | None = None,
        limit: int = 100,
    ) -> list[OutboxMessage]:
        """Newest first; every filter given must hold."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Messages per status."""

    @abstractmethod
    def find(self, message_id: str) -> OutboxMessage | None:
        """The message stored under ``message_id`` (:func:`~store.model.message_id` of
        its key), for links that must not show the key."""

    @abstractmethod
    def by_link(self, code: str) -> OutboxMessage | None:
        """The message whose short acknowledge code is ``code``."""


class ChannelRepo(ABC):
    """Configured notification channels, one per id."""

    @abstractmethod
    def put(self, channel: ChannelConfig) -> ChannelConfig:
        """Create (``channel.version`` None; :class:`~store.errors.ConflictError` if the id
        is taken) or replace the stored channel if still at ``channel.version``."""

    @abstractmethod
    def get(self, channel_id: str) -> ChannelConfig | None: ...

    @abstractmethod
    def list(self) -> list[ChannelConfig]:
        """All channels, by id."""

    @abstractmethod
    def delete(self, channel_id: str) -> bool:
        """Remove the channel; False if there was none. Its deliveries stay."""


class RoutingRepo(ABC):
    """The one routing table, versioned like a policy."""

    @abstractmethod
    def get(self) -> RoutingTable | None: ...

    @abstractmethod
    def put(self, table: RoutingTable) -> RoutingTable:
        """Create (``table.version`` None; :class:`~store.errors.ConflictError` if one
        exists) or replace the stored table if still at ``table.version``."""


class PolicyRepo(ABC):
    """Alert policies, one per rule name."""

    @abstractmethod
    def put(self, policy: AlertPolicy) -> AlertPolicy:
        """Create or replace; with ``policy.version`` set the stored one must still be at
        it, else :class:`~store.errors.ConflictError`."""

    @abstractmethod
    def get(self, rule: str) -> AlertPolicy | None: ...

    @abstractmethod
    def list(self) -> list[AlertPolicy]:
        """All policies, by rule name."""

    @abstractmethod
    def delete(self, rule: str) -> bool: ...


class EmergencyRepo(ABC):
    """Emergency switches, one per scope (a rule name, or ``*`` for all rules)."""

    @abstractmethod
    def put(self, switch: EmergencySwitch) -> EmergencySwitch:
        """Create or replace (checked against ``switch.version`` when set)."""

    @abstractmethod
    def get(self, scope: str) -> EmergencySwitch | None: ...

    @abstractmethod
    def list(self) -> list[EmergencySwitch]:
        """All switches, on or off, by scope."""


class UserRepo(ABC):
    """Users, one per name."""

    @abstractmethod
    def put(self, user: User) -> User:
        """Create (``user.version`` None; :class:`~store.errors.ConflictError` if the name is
        taken) or replace the stored user if it is still at ``user.version`` (else
        :class:`~store.errors.ConflictError`); returns it with its new version."""

    @abstractmethod
    def get(self, name: str) -> User | None: ...

    @abstractmethod
    def list(self) -> list[User]:
        """All users, by name."""

    @abstractmethod
    def count(self) -> int: ...


class TokenRepo(ABC):
    """API tokens, revoked ones included."""

    @abstractmethod
    def put(self, token: ApiToken) -> ApiToken:
        """Create or replace, checked like :meth:`UserRepo.put`."""

    @abstractmethod
    def get(self, token_id: str) -> ApiToken | None: ...

    @abstractmethod
    def by_hash(self, token_hash: str) -> ApiToken | None:
        """The token whose secret hashes to ``token_hash``, revoked or not."""

    @abstractmethod
    def list(self, user: str | None = None) -> list[ApiToken]:
        """All tokens, or ``user``'s, oldest first."""


class SessionRepo(ABC):
    """Console sessions, ended ones included until pruned."""

    @abstractmethod
    def put(self, session: UserSession) -> UserSession:
        """Create or replace, checked like :meth:`UserRepo.put`."""

    @abstractmethod
    def get(self, session_id: str) -> UserSession | None: ...

    @abstractmethod
    def list(self, user: str | None = None) -> list[UserSession]:
        """All sessions, or ``user``'s, oldest first."""

    @abstractmethod
    def prune(self, before: datetime) -> int:
        """Delete the sessions last seen before ``before``; how many were deleted."""
