"""From an alert update to its deliveries: the notice is built once, routed, and queued
as one delivery per destination with its acknowledge link.

The engine (:mod:`.engine`) decides *when* to notify (a new alert, an update, an
escalation, a reminder); this module decides *what* is said (:class:`Notice`) and
*where* it goes: the alert's email recipients (from its policy, as before channels)
and the destinations the routing table gives (:mod:`.routing`), which the alert keeps
(``Alert.targets``) so its updates follow it there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from analysis.gazetteer import Gazetteer
from keywords.model import Library
from keywords.places import gazetteer_of
from monitor.alerts.channels import EMAIL
from monitor.alerts.email import excerpt, render_notice
from monitor.alerts.links import AckLinks, short_code
from monitor.alerts.notice import ENTRIES, Entry, Notice, when
from monitor.alerts.outbox import ack_url, message_key
from monitor.alerts.routing import Facts, Routing, Target, load, quiet_end, route
from monitor.alerts.settings import AlertsConfig
from monitor.alerts.tickets import STEP_LABELS, STEPS, due_at, has_deadlines, step_done
from store import Item, ItemQuery, Store
from store.localtime import zone_name
from store.model import Alert, ChannelConfig, OutboxMessage

LIBRARY_SECONDS = 10.0  # how stale the region groups may be (a library edit is rare)


class Notifier:
    """Builds notices and deliveries for the alerts on ``store``."""

    def __init__(
        self, store: Store, config: AlertsConfig, links: AckLinks, clock: Callable[[], datetime]
    ) -> None:
        self.store, self.config, self.links, self.clock = store, config, links, clock
        self._regions: tuple[float, set[str]] | None = None
        self._places: tuple[float, int, Gazetteer] | None = None

    # -- where ------------------------------------------------------------------------

    def routing(self) -> Routing:
        return load(self.store)

    def facts(self, alert: Alert, items: list[Item] | None = None) -> Facts:
        """What routes look at: the rule, severity, keyword groups that matched, the
        regions (the source's, and matched words of region groups), emergency, and the
        region codes of its ``items`` (default: its first item, as stored)."""
        groups = {str(h["group"]) for h in alert.hits if h.get("group")}
        regions = []
        source = self.store.sources.get(alert.source_id) if alert.source_id else None
        if source is not None and source.region:
            regions.append(source.region)
        places = self._region_groups()
        regions += [
            str(h["word"]) for h in alert.hits if h.get("group") in places and h.get("word")
        ]
        if items is None:
            first = self.store.items.get(alert.item_id) if alert.item_id else None
            items = [first] if first is not None else []
        mentioned = {c for i in items for c in i.regions}
        primary = {c for i in items for c in i.region_primary}
        if alert.region:
            primary.add(alert.region)
        return Facts(
            alert.rule,
            alert.severity,
            groups,
            regions,
            alert.emergency,
            sorted(mentioned | primary),
            sorted(primary),
        )

    def _region_groups(self) -> set[str]:
        """The keyword groups of category region, read from the library at most every
        :data:`LIBRARY_SECONDS` (the whole library is read to learn them)."""
        now = time.monotonic()
        if self._regions is None or now - self._regions[0] > LIBRARY_SECONDS:
            head = self.store.library.head()
            groups = head.data.get("groups", []) if head else []
            self._regions = (now, {g["name"] for g in groups if g.get("category") == "region"})
        return self._regions[1]

    def place_name(self, code: str) -> str:
        """The name of the place ``code`` (潼南区, 双江镇) as the keyword library's
        gazetteer has it (imported divisions and operators' places included, re-read at
        most every :data:`LIBRARY_SECONDS`); "" for an unknown code."""
        now = time.monotonic()
        known = self._places
        if known is None or now - known[0] > LIBRARY_SECONDS:
            head = self.store.library.head()
            version = head.version if head else 0
            if known is None or known[1] != version:
                library = Library.model_validate(head.data) if head else Library()
                known = (now, version, gazetteer_of(library))
            self._places = known = (now, version, known[2])
        place = known[2].get(code)
        return place.name if place is not None else ""

    def route(
        self, alert: Alert, routing: Routing | None = None, items: list[Item] | None = None
    ) -> list[str]:
        """The destination keys routing gives ``alert`` now (for ``Alert.targets``);
        ``items``: the items it is raised on (default: its first item, as stored)."""
        found, _ = route(routing or self.routing(), self.facts(alert, items), self.clock())
        mine = set(alert.recipients)
        return [t.key for t in found if not (t.channel == EMAIL and t.to in mine)]

    @staticmethod
    def targets(alert: Alert) -> list[Target]:
        """Where ``alert`` went: its email recipients and its routed destinations."""
        found = [Target(EMAIL, r) for r in alert.recipients]
        found += [Target.parse(k) for k in alert.targets]
        return list(dict.fromkeys(found))

    # -- what ---------------------------------------------------------------------------

    def notice(
        self,
        alert: Alert,
        kind: str,
        *,
        item: Item | None = None,
        items: list[Item] | None = None,
        more: int = 0,
        step_label: str = "",
    ) -> Notice:
        """The notice of ``alert`` for ``kind`` (new, update, recovered, escalate,
        remind). ``item`` is its first item and ``items`` the event's, if at hand."""
        now = self.clock()
        zone = now.tzinfo
        if item is None and alert.item_id:
            item = self.store.items.get(alert.item_id)
        body, body_hits = excerpt(item.body, item.hits) if item else ("", [])
        base = self.config.public_url.rstrip("/")
        facts = self.facts(alert, [item] if item is not None else [])
        label, deadline = self._next_deadline(alert)
        return Notice(
            kind=kind,
            alert_id=alert.id,
            rule=alert.rule,
            severity=alert.severity,
            title=alert.title,
            console_url=f"{base}/alerts/{alert.id}",
            base_url=base,
            zone=str(getattr(zone, "key", zone)),
            zone_name=zone_name(zone or UTC),
            backfill=alert.backfill,
            created=now.isoformat(),
            hits=[h for h in alert.hits if h.get("field") == "title"],
            emergency=alert.emergency,
            source=alert.source_id,
            region="、".join(self._region_names(alert, facts)),
            url=alert.url,
            published=self.fmt(alert.publish_time),
            first_seen=self.fmt(alert.first_seen),
            items=alert.items,
            more=more,
            entries=self._entries(alert, item, items),
            body=body,
            body_hits=body_hits,
            deadline_label=label,
            deadline=deadline,
            step_label=step_label,
        )

    def _region_names(self, alert: Alert, facts: Facts) -> list[str]:
        """The regions a notice names: the source's and the matched region words, then
        the place the alert's story is about (its primary region) unless already said."""
        names = list(dict.fromkeys(facts.regions))
        place = self.place_name(alert.region) if alert.region else ""
        if place and not any(place in n or n in place for n in names):
            names.append(place)
        return names

    def _entries(self, alert: Alert, item: Item | None, items: list[Item] | None) -> list[Entry]:
        """The event's first items, first published first."""
        found = list(items or [])
        if not found and alert.kind != "health" and "@" not in alert.event_id:
            query = ItemQuery(event_id=alert.event_id, sort="first_seen", size=ENTRIES)
            query.descending, query.highlight = False, False
            found = [f.item for f in self.store.items.search(query).hits]
        if item is not None and all(i.id != item.id for i in found):
            found.insert(0, item)
        found.sort(key=lambda i: (i.publish_time or i.first_seen, i.first_seen, i.id))
        return [
            Entry(
                title=i.title,
                source=i.source_id,
                time=self.fmt(i.publish_time or i.first_seen),
                url=i.url,
                hits=[h for h in i.hits if h.get("field") == "title"],
            )
            for i in found[:ENTRIES]
        ]

    def _next_deadline(self, alert: Alert) -> tuple[str, str]:
        if alert.status == "closed" or not has_deadlines(alert, self.config.deadlines):
            return "", ""
        for step in STEPS:
            if step_done(alert, step) is None:
                due = due_at(alert, step, self.config.deadlines)
                return STEP_LABELS[step], self.fmt(due)
        return "", ""

    def fmt(self, t: datetime | None) -> str:
        return when(t, self.clock().tzinfo)

    # -- queued -----------------------------------------------------------------------

    def deliveries(
        self,
        alert: Alert,
        kind: str,
        targets: list[Target],
        notice: Notice,
        due: datetime | None = None,
    ) -> list[OutboxMessage]:
        """One delivery of ``notice`` per target, under keys ``alert``, the target and
        ``kind`` fix. A destination's quiet hours hold all but critical and emergency
        alerts; a new alert's deliveries carry an acknowledge link each."""
        now = self.clock()
        configs = {c.id: c for c in self.store.channels.list()} if targets else {}
        doc = notice.to_dict()
        out = []
        for target in targets:
            config = configs.get(target.channel)
            held = due
            quiet = str(config.settings.get("quiet_hours", "")) if config else ""
            if quiet and alert.severity != "critical" and not alert.emergency:
                end = quiet_end(quiet, now)
                held = max(held or now, end) if end else held
            message = OutboxMessage(
                message_key(alert.id, target.key, kind),
                target.to,
                notice.headline,
                "",
                "",
                now,
                held or now,
                notice.kind,
                alert.id,
                channel=target.channel,
                notice=doc,
            )
            if alert.status == "new":
                self._link(message, alert, target, config)
            if target.channel == EMAIL:
                # Emails are rendered now and kept: the outbox shows what was sent.
                link = ack_url(message, notice.base_url)
                message.subject, message.text, message.html = render_notice(notice, link)
            out.append(message)
        return out

    def _link(
        self, message: OutboxMessage, alert: Alert, target: Target, config: ChannelConfig | None
    ) -> None:
        if target.channel == EMAIL:
            message.ack_token = self.links.token(alert.id, target.to)
            return
        name = config.name if config else target.channel
        who = f"{name} {target.to}" if target.to else name
        message.ack_token = self.links.token(alert.id, who, config.kind if config else "chat")
        message.link = short_code()

    def notify(
        self,
        alert: Alert,
        kind: str,
        targets: list[Target] | None = None,
        due: datetime | None = None,
        **notice: Any,
    ) -> list[OutboxMessage]:
        """The deliveries telling ``targets`` (default: where the alert went) of
        ``alert`` for ``kind`` (a key suffix such as ``update-2``, whose first part is
        the notice's kind unless ``notice_kind`` says otherwise)."""
        chosen = self.targets(alert) if targets is None else targets
        if not chosen:
            return []
        notice_kind = notice.pop("notice_kind", kind.split("-")[0])
        built = self.notice(alert, notice_kind, **notice)
        return self.deliveries(alert, kind, chosen, built, due)
