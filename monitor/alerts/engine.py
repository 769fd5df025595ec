"""The alerting intake: matched items (and source health events) in, alerts and queued
deliveries out (emails, chat messages, SMS, webhook calls; see :mod:`.notify`).

Hand it items after they are stored, with ``rules``, ``hits`` and ``event_id`` filled
(:meth:`Alerting.ingest`); call :meth:`Alerting.tick` every minute or so for throttled
updates, escalation chains, deadline reminders and escalations, and digests. Every
decision is re-derived from the store and every write is idempotent, so a batch handed
twice or a restarted process never alerts twice: one alert per (rule, event), its id
derived from both.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.alerts import emergency, operations
from monitor.alerts.channels import EMAIL
from monitor.alerts.email import render
from monitor.alerts.links import AckLinks
from monitor.alerts.modes import mode_for
from monitor.alerts.notify import Notifier
from monitor.alerts.outbox import message_key
from monitor.alerts.policy import Policy, PolicyError, parse_policy, policy_for
from monitor.alerts.routing import Routing, Target
from monitor.alerts.settings import AlertsConfig, clock_time
from monitor.alerts.tickets import (
    STEP_LABELS,
    Tickets,
    due_at,
    has_deadlines,
    overdue,
    step_done,
)
from store import ConflictError, Item, ItemQuery, Store
from store.acting import Acting
from store.localtime import local_time
from store.model import (
    HEALTH_KINDS,
    OPEN_STATUSES,
    Alert,
    EmergencySwitch,
    OutboxMessage,
    TimelineEntry,
)

log = logging.getLogger(__name__)
ACTOR = "yuqing"
HEALTH_UPDATE_MINUTES = 60
DIGEST_ITEMS = 20
MAX_OPEN = 10_000  # open alerts looked at per tick
_RETRIES = 20


def alert_id(rule: str, event_key: str) -> str:
    """The id of the one alert for (``rule``, ``event_key``)."""
    return hashlib.sha1(f"{rule}\x00{event_key}".encode()).hexdigest()[:24]


class Alerting:
    """Alert policies applied to matched items, on ``store``.

    ``on_enqueue`` is called after deliveries were queued (e.g. to wake a sender thread);
    ``crawl_hook`` is told when emergency mode changes (see :mod:`.emergency`).
    """

    def __init__(
        self,
        store: Store,
        config: AlertsConfig,
        links: AckLinks,
        clock: Callable[[], datetime],
        *,
        on_enqueue: Callable[[], object] = lambda: None,
        crawl_hook: emergency.CrawlHook | None = None,
    ) -> None:
        self.store, self.config, self.links, self.clock = store, config, links, clock
        self.on_enqueue, self.crawl_hook = on_enqueue, crawl_hook
        self.tickets = Tickets(store, links, clock)
        self.notify = Notifier(store, config, links, clock)

    # -- intake ------------------------------------------------------------------------

    def ingest(self, items: Iterable[Item], matched: datetime | None = None) -> list[Alert]:
        """Apply the policies to newly stored matched items (any number: a burst is
        processed in full); returns the alerts this created. ``matched`` is when the
        items were matched (default: now)."""
        now = self.clock()
        urgent = emergency.active(self.store, now)
        by_rule: dict[str, list[Item]] = {}
        for item in items:
            for rule in item.rules:
                by_rule.setdefault(rule, []).append(item)
        created: list[Alert] = []
        if not by_rule:
            return created
        severities = self._severities()
        for rule, matched_items in by_rule.items():
            policy = policy_for(self.store, rule, self.config.recipients)
            # Old news (crawler.backfill) alerts only where the rule's policy asks for it.
            rule_items = [i for i in matched_items if policy.include_backfill or not i.backfill]
            if not rule_items:
                continue
            is_urgent = urgent.covers(rule)
            mode = mode_for(self.store, policy, is_urgent)
            for key, group in mode.events(rule, rule_items, now).items():
                severity = severities.get(rule, "warning")
                alert = self._open(rule, key, group, policy, severity, is_urgent, matched or now)
                if alert is not None:
                    created.append(alert)
        return created

    def health_event(
        self, source_id: str, kind: str, message: str, time: datetime | None = None
    ) -> Alert | None:
        """A source went wrong (``kind`` names the problem) or ``recovered``: administrators
        get one alert per source and problem while it lasts, repeats as throttled updates,
        and the alert closes when the source recovers."""
        now = self.clock()
        rule = f"source:{source_id}"
        current = [
            a
            for a in self.store.alerts.list(status=OPEN_STATUSES, rule=rule)
            if kind == "recovered" or a.event_id.split("@")[0] == kind
        ]
        if kind == "recovered":
            for alert in current:
                closed = self.tickets.close(alert.id, ACTOR, "handled", message)
                self._enqueue(self.notify.notify(closed, "recovered"))
            return None
        if current:
            self._update(current[0].id, 1, now, None)
            return current[0]
        event = f"{kind}@{(time or now).isoformat()}"
        alert = Alert(
            id=alert_id(rule, event),
            rule=rule,
            event_id=event,
            kind="health",
            severity="warning",
            title=f"采集源 {source_id} {HEALTH_KINDS.get(kind, kind)}：{message}",
            item_id="",
            url="",
            source_id=source_id,
            created=now,
            first_seen=time,
            matched=now,
            last_notified=now,
            recipients=list(self.config.admins),
        )
        alert.targets = self.notify.route(alert)
        self._enqueue(self.notify.notify(alert, "new"))
        return alert if self._create(alert) else self.store.alerts.get(alert.id)

    # -- scheduled work ----------------------------------------------------------------

    def tick(self) -> None:
        """Send due throttled updates, walk escalation chains of unacknowledged alerts,
        remind of and escalate deadlines, build due digests."""
        now = self.clock()
        routing = self.notify.routing()
        policies: dict[str, Policy] = {}
        open_alerts = self.store.alerts.list(status=OPEN_STATUSES, limit=MAX_OPEN)
        if len(open_alerts) == MAX_OPEN:
            log.warning("over %s open alerts: only the newest are checked", MAX_OPEN)
        for alert in open_alerts:
            if alert.items > alert.notified_items:
                if alert.kind != "health" and alert.rule not in policies:
                    policies[alert.rule] = policy_for(
                        self.store, alert.rule, self.config.recipients
                    )
                self._update(alert.id, 0, now, policies.get(alert.rule))
            # Source health alerts have no handling deadlines: they close on recovery.
            steps = [] if alert.kind == "health" else overdue(alert, self.config.deadlines, now)
            if any(s not in alert.escalated for s in steps):
                self._escalate(alert.id, now, routing)
            if alert.kind != "health" and self._chain_due(alert, routing, now):
                self._chain(alert.id, now, routing)
            if alert.kind != "health" and self._reminders_due(alert, routing, now):
                self._remind(alert.id, now, routing)
        self._digests(now)

    def emergency(
        self,
        scope: str,
        on: bool,
        actor: str,
        *,
        reason: str = "",
        until: datetime | None = None,
    ) -> EmergencySwitch:
        """Switch emergency mode for a rule (or ``*``: all), audited, telling crawl
        scheduling (see :func:`monitor.alerts.operations.switch_emergency`)."""
        return operations.switch_emergency(
            Acting(actor, self.store, self.clock),
            scope,
            on,
            reason=reason,
            until=until,
            hook=self.crawl_hook,
        )

    # -- internals ---------------------------------------------------------------------

    def _open(
        self,
        rule: str,
        key: str,
        items: list[Item],
        policy: Policy,
        severity: str,
        urgent: bool,
        matched: datetime,
    ) -> Alert | None:
        """The alert for (rule, key): created with its emails, or updated. Returns it
        if this call created it."""
        now = self.clock()
        ident = alert_id(rule, key)
        current = self.store.alerts.get(ident)
        if current is None:
            # The story as first published stands for the event: list pages often show a
            # repost before its original, so the first seen item is not always the source.
            first = min(items, key=lambda i: (i.publish_time or i.first_seen, i.first_seen, i.id))
            negative = max(i.negative for i in items)
            severity = raised(severity, negative, self.config.raise_at_negative)
            alert = Alert(
                id=ident,
                rule=rule,
                event_id=key,
                kind=policy.mode if not urgent else "immediate",
                severity=severity,
                title=first.title,
                item_id=first.id,
                url=first.url,
                source_id=first.source_id,
                created=now,
                hits=[h for h in first.hits if h.get("rule") in (None, rule)],
                publish_time=first.publish_time,
                first_seen=first.first_seen,
                matched=matched,
                items=len(items),
                notified_items=len(items),
                last_notified=now,
                emergency=urgent,
                recipients=list(policy.recipients),
                backfill=all(i.backfill for i in items),
                negative=negative,
                region=first.region_primary[0] if first.region_primary else "",
            )
            alert.targets = self.notify.route(alert, items=items)
            due = None if urgent or not policy.quiet else self.quiet_until(now)
            # Queued before the alert is written, under keys the alert fixes: a crash in
            # between loses nothing, and a racing process queues the same keys (no-ops).
            self._enqueue(self.notify.notify(alert, "new", None, due, item=first, items=items))
            if self._create(alert):
                return alert
            # Another process created it first: these items are its update.
            current = self.store.alerts.get(ident)
        # The alert's own first item handed over again (two crawlers fetched it at once, or
        # a run re-drove a failed hand-off) is not one more item.
        more = [i for i in items if current is None or i.id != current.item_id]
        self._update(ident, len(more), now, policy)
        return None

    def _create(self, alert: Alert) -> bool:
        if not self.store.alerts.create(alert):
            return False
        self.store.alert_timeline.append(
            TimelineEntry(
                alert.id,
                alert.created,
                ACTOR,
                "created",
                details={"items": alert.items, "emergency": alert.emergency},
            )
        )
        return True

    def _severities(self) -> dict[str, str]:
        """Each rule's severity in the newest keyword library."""
        head = self.store.library.head()
        rules = head.data.get("rules", []) if head else []
        return {r["name"]: r.get("severity", "warning") for r in rules}

    def _update(self, ident: str, new_items: int, now: datetime, policy: Policy | None) -> None:
        """Count ``new_items`` more; if the last notice is ``policy.update_minutes`` old,
        tell the recipients how many arrived since (at most one update per interval).
        ``policy`` None: a source health alert."""
        minutes = policy.update_minutes if policy else HEALTH_UPDATE_MINUTES
        for _ in range(_RETRIES):
            alert = self.store.alerts.get(ident)
            if alert is None:
                return
            alert.items += new_items
            last = alert.last_notified or alert.created
            messages = []
            if (
                alert.status != "closed"
                and alert.items > alert.notified_items
                and now - last >= timedelta(minutes=minutes)
            ):
                more = alert.items - alert.notified_items
                alert.updates += 1
                alert.notified_items, alert.last_notified = alert.items, now
                kind = f"update-{alert.updates}"
                hold = policy is not None and policy.quiet and not alert.emergency
                due = self.quiet_until(now) if hold else None
                messages = self.notify.notify(alert, kind, None, due, more=more)
            self._enqueue(messages)
            try:
                self.store.alerts.update(alert)
                return
            except ConflictError:
                continue
        log.warning("alert %s kept changing; %s items not counted", ident, new_items)

    def _escalate(self, ident: str, now: datetime, routing: Routing) -> None:
        """Tell ``[alerts] escalation`` and the top of the alert's escalation chain of
        each handling deadline it missed."""
        for _ in range(_RETRIES):
            alert = self.store.alerts.get(ident)
            if alert is None:
                return
            missed = [
                s for s in overdue(alert, self.config.deadlines, now) if s not in alert.escalated
            ]
            if not missed:
                return
            alert.escalated += missed
            chain = routing.escalation.get(alert.severity)  # type: ignore[call-overload]
            targets = [Target(EMAIL, r) for r in self.config.escalation]
            if chain:
                targets += [t for d in chain[-1].to for t in d.targets()]
            for step in missed:
                due = self._fmt(due_at(alert, step, self.config.deadlines))
                label = f"未在时限内{STEP_LABELS[step]}（截止 {due}）"
                self._enqueue(
                    self.notify.notify(
                        alert, f"escalate-{step}", list(dict.fromkeys(targets)), step_label=label
                    )
                )
            try:
                self.store.alerts.update(alert)
            except ConflictError:
                continue
            self.store.alert_timeline.append(
                TimelineEntry(ident, now, ACTOR, "escalated", details={"steps": missed})
            )
            return

    def _chain_due(self, alert: Alert, routing: Routing, now: datetime) -> bool:
        steps = routing.escalation.get(alert.severity, [])  # type: ignore[call-overload]
        # Old news waits for whoever reads it: no chain of escalations.
        return (
            alert.status == "new"
            and not alert.backfill
            and any(
                f"chain-{n}" not in alert.escalated
                and now >= alert.created + timedelta(minutes=s.after_minutes)
                for n, s in enumerate(steps, 1)
            )
        )

    def _chain(self, ident: str, now: datetime, routing: Routing) -> None:
        """Send a still unacknowledged alert to each step of its severity's escalation
        chain whose time has come, once per step, each step on the timeline."""
        for _ in range(_RETRIES):
            alert = self.store.alerts.get(ident)
            if alert is None or alert.status != "new":
                return  # acknowledging stops the chain
            steps = routing.escalation.get(alert.severity, [])  # type: ignore[call-overload]
            due = [
                (n, s)
                for n, s in enumerate(steps, 1)
                if f"chain-{n}" not in alert.escalated
                and now >= alert.created + timedelta(minutes=s.after_minutes)
            ]
            if not due:
                return
            alert.escalated += [f"chain-{n}" for n, _ in due]
            messages = []
            for n, step in due:
                targets = [t for d in step.to for t in d.targets()]
                label = f"第 {n} 级升级：{step.after_minutes} 分钟内无人签收"
                messages += self.notify.notify(
                    alert, f"chain-{n}", targets, notice_kind="escalate", step_label=label
                )
            self._enqueue(messages)
            try:
                self.store.alerts.update(alert)
            except ConflictError:
                continue
            for n, step in due:
                self.store.alert_timeline.append(
                    TimelineEntry(
                        ident,
                        now,
                        ACTOR,
                        "escalated",
                        details={
                            "chain": n,
                            "to": [t.key for d in step.to for t in d.targets()],
                        },
                    )
                )
            return

    def _reminders_due(self, alert: Alert, routing: Routing, now: datetime) -> bool:
        return bool(self._reminders(alert, routing, now))

    def _reminders(self, alert: Alert, routing: Routing, now: datetime) -> list[str]:
        """The deadlines (guidance, respond) of ``alert`` less than ``remind_minutes``
        away and not yet reminded of."""
        if not routing.remind_minutes or alert.status == "closed":
            return []
        if not has_deadlines(alert, self.config.deadlines):
            return []
        ahead = timedelta(minutes=routing.remind_minutes)
        return [
            step
            for step in ("guidance", "respond")
            if f"remind-{step}" not in alert.escalated
            and step_done(alert, step) is None
            and now < due_at(alert, step, self.config.deadlines) <= now + ahead
        ]

    def _remind(self, ident: str, now: datetime, routing: Routing) -> None:
        """Remind the alert's own destinations of deadlines coming up."""
        for _ in range(_RETRIES):
            alert = self.store.alerts.get(ident)
            if alert is None:
                return
            steps = self._reminders(alert, routing, now)
            if not steps:
                return
            alert.escalated += [f"remind-{step}" for step in steps]
            for step in steps:
                due = due_at(alert, step, self.config.deadlines)
                minutes = max(1, round((due - now).total_seconds() / 60))
                label = f"距{STEP_LABELS[step]}时限还有 {minutes} 分钟（截止 {self._fmt(due)}）"
                self._enqueue(self.notify.notify(alert, f"remind-{step}", step_label=label))
            try:
                self.store.alerts.update(alert)
            except ConflictError:
                continue
            self.store.alert_timeline.append(
                TimelineEntry(ident, now, ACTOR, "reminded", details={"steps": steps})
            )
            return

    def _digests(self, now: datetime) -> None:
        for stored in self.store.alert_policies.list():
            try:
                policy = parse_policy(stored.rule, stored.settings)
            except PolicyError:
                log.exception("skipping the digest of %s", stored.rule)
                continue
            recipients = policy.recipients or self.config.recipients
            if policy.mode != "digest" or not recipients:
                continue
            slot, previous = _slots(policy.digest_times, now)
            key = f"digest:{stored.rule}@{slot.isoformat()}"
            if self.store.outbox.get(message_key(key, recipients[0], "digest")):
                continue
            found = self.store.items.search(
                ItemQuery(
                    rules=[stored.rule],
                    since=previous,
                    until=slot,
                    sort="first_seen",
                    size=DIGEST_ITEMS,
                    highlight=False,
                )
            )
            if not found.total:
                continue
            context: dict[str, Any] = {
                "rule": stored.rule,
                "total": found.total,
                "since": self._fmt(previous),
                "until": self._fmt(slot),
                "console_url": f"{self.config.public_url.rstrip('/')}/alerts",
                "items": [
                    {
                        "title": f.item.title,
                        "hits": f.item.hits,
                        "url": f.item.url,
                        "source_id": f.item.source_id,
                        "time": self._fmt(f.item.publish_time or f.item.first_seen),
                    }
                    for f in found.hits
                ],
            }
            subject, text, html = render("digest", **context)
            self._enqueue(
                [
                    OutboxMessage(
                        message_key(key, r, "digest"), r, subject, text, html, now, now, "digest"
                    )
                    for r in recipients
                ]
            )

    def _enqueue(self, messages: list[OutboxMessage]) -> None:
        if any([self.store.outbox.add(m) for m in messages]):
            self.on_enqueue()

    def quiet_until(self, now: datetime) -> datetime | None:
        """When the quiet period holding ``now`` ends (quiet hours, weekends), or None."""
        t = now
        for _ in range(4):  # a weekend may end inside quiet hours, and so on
            end = self._quiet_end(t)
            if end is None:
                break
            t = end
        return None if t == now else t

    def _quiet_end(self, t: datetime) -> datetime | None:
        midnight = t.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.config.quiet_weekends and t.weekday() >= 5:
            return midnight + timedelta(days=7 - t.weekday())
        if not self.config.quiet_hours:
            return None
        (sh, sm), (eh, em) = (clock_time(p) for p in self.config.quiet_hours.split("-"))
        start, end = midnight.replace(hour=sh, minute=sm), midnight.replace(hour=eh, minute=em)
        if start <= end:
            return end if start <= t < end else None
        if t >= start:
            return end + timedelta(days=1)
        return end if t < end else None

    def _fmt(self, t: datetime | None) -> str:
        # Inside a notice, which names its zone once (see monitor.alerts.notice.when).
        return local_time(t, self.clock().tzinfo or UTC, named=False)


def _slots(times: list[str], now: datetime) -> tuple[datetime, datetime]:
    """The latest digest time at or before ``now`` and the one before it."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    candidates = sorted(
        midnight - timedelta(days=d) + timedelta(hours=h, minutes=m)
        for d in range(3)
        for h, m in map(clock_time, times)
    )
    past = [c for c in candidates if c <= now]
    return past[-1], past[-2]


_LEVELS = ("info", "warning", "critical")


def raised(severity: str, negative: float, at: float | None) -> str:
    """``severity`` one level up when the story is at least ``at`` negative (the
    ``raise_at_negative`` setting): a fire with deaths outranks a fire drill's rule."""
    if at is None or negative < at or severity not in _LEVELS[:-1]:
        return severity
    return _LEVELS[_LEVELS.index(severity) + 1]
