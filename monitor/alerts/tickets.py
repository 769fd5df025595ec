"""Alerts as tickets: new -> acknowledged -> handling -> responded -> closed, with an
assignee, deadlines per severity and an append-only timeline of every action, refused
ones included. Transitions are conditional writes: of two people acting at once, one
wins and the other is told (and recorded) why not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from monitor.alerts.links import AckClaim, AckLinks, LinkError
from monitor.alerts.settings import Deadlines
from store import ConflictError, Store
from store.model import Alert, TimelineEntry

CLOSE_REASONS = ("handled", "false_positive", "duplicate")
STEPS = ("acknowledge", "guidance", "respond")  # deadline names, see yuqing.config.Deadlines
STEP_LABELS = {"acknowledge": "签收", "guidance": "发布权威信息", "respond": "处置完毕"}
# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "acknowledge": (frozenset({"new"}), "acknowledged"),
    "handle": (frozenset({"new", "acknowledged"}), "handling"),
    "respond": (frozenset({"new", "acknowledged", "handling"}), "responded"),
    "close": (frozenset({"new", "acknowledged", "handling", "responded"}), "closed"),
    "assign": (frozenset({"new", "acknowledged", "handling", "responded"}), None),
}
_RETRIES = 20


class TicketError(ValueError):
    """Unknown alert, or an action its state does not allow; nothing was changed."""


def step_done(alert: Alert, step: str) -> datetime | None:
    """When ``alert`` completed deadline ``step`` (None: not yet)."""
    return {
        "acknowledge": alert.acknowledged,
        "guidance": alert.responded,
        "respond": alert.closed,
    }[step]


def has_deadlines(alert: Alert, deadlines: dict[str, Deadlines]) -> bool:
    """Whether ``alert`` has handling deadlines: source health alerts close on recovery,
    and old news (backfill) is nothing to hurry over."""
    return alert.kind != "health" and not alert.backfill and alert.severity in deadlines


def due_at(alert: Alert, step: str, deadlines: dict[str, Deadlines]) -> datetime:
    return alert.created + timedelta(minutes=getattr(deadlines[alert.severity], step))


def overdue(alert: Alert, deadlines: dict[str, Deadlines], now: datetime) -> list[str]:
    """The deadline steps ``alert`` has missed and not completed."""
    if alert.status == "closed" or not has_deadlines(alert, deadlines):
        return []
    return [s for s in STEPS if step_done(alert, s) is None and now > due_at(alert, s, deadlines)]


class Tickets:
    """Actions on alerts, each recorded in the alert's timeline with who and when."""

    def __init__(self, store: Store, links: AckLinks | None, clock: Callable[[], datetime]) -> None:
        # Without ``links`` no emailed link is accepted (e.g. on the command line).
        self.store, self.links, self.clock = store, links, clock

    def acknowledge(self, alert_id: str, actor: str, *, via: str = "console") -> Alert:
        return self._act(alert_id, actor, "acknowledge", {"via": via})

    def check_link(self, token: str) -> AckClaim:
        """What an emailed acknowledge link claims, if it can still be used; a tampered,
        expired or already used link raises :class:`~monitor.alerts.links.LinkError`."""
        if self.links is None:
            raise LinkError("acknowledge links are not accepted here", "invalid")
        claim = self.links.verify(token)
        entries = self.store.alert_timeline.list(claim.alert_id)
        if any(e.details.get("link") == claim.nonce for e in entries):
            raise LinkError("this acknowledge link has already been used", "used")
        return claim

    def acknowledge_by_link(self, token: str) -> Alert:
        """Acknowledge as the recipient the emailed link was made for (see
        :meth:`check_link`)."""
        claim = self.check_link(token)
        return self._act(
            claim.alert_id, claim.recipient, "acknowledge", {"via": claim.via, "link": claim.nonce}
        )

    def handle(self, alert_id: str, actor: str, assignee: str = "") -> Alert:
        """Start handling; the assignee is ``actor`` unless named."""
        return self._act(alert_id, actor, "handle", {"assignee": assignee or actor})

    def assign(self, alert_id: str, actor: str, assignee: str) -> Alert:
        if not assignee.strip():
            raise TicketError("assignee: name who handles the alert")
        return self._act(alert_id, actor, "assign", {"assignee": assignee})

    def respond(self, alert_id: str, actor: str, guidance: str) -> Alert:
        """Record the guidance given: a link or note to the authoritative information."""
        if not guidance.strip():
            raise TicketError("guidance: give the link or a note on the information published")
        return self._act(alert_id, actor, "respond", {"guidance": guidance})

    def close(self, alert_id: str, actor: str, reason: str, note: str = "") -> Alert:
        if reason not in CLOSE_REASONS:
            raise TicketError(f"reason: must be one of {', '.join(CLOSE_REASONS)}, not {reason!r}")
        return self._act(alert_id, actor, "close", {"reason": reason}, note)

    def note(self, alert_id: str, actor: str, note: str) -> Alert:
        """Add a note to the timeline, in any status; the alert itself is unchanged."""
        if not note.strip():
            raise TicketError("note: write the note")
        alert = self.store.alerts.get(alert_id)
        if alert is None:
            raise TicketError(f"no alert {alert_id}")
        self.store.alert_timeline.append(TimelineEntry(alert_id, self.clock(), actor, "note", note))
        return alert

    def _act(
        self, alert_id: str, actor: str, action: str, details: dict[str, Any], note: str = ""
    ) -> Alert:
        allowed, target = TRANSITIONS[action]
        for _ in range(_RETRIES):
            alert = self.store.alerts.get(alert_id)
            if alert is None:
                raise TicketError(f"no alert {alert_id}")
            now = self.clock()
            if alert.status not in allowed:
                self.store.alert_timeline.append(
                    TimelineEntry(
                        alert_id,
                        now,
                        actor,
                        f"{action}_refused",
                        note,
                        details | {"was": alert.status},
                    )
                )
                raise TicketError(f"cannot {action} alert {alert_id}: it is {alert.status}")
            _apply(alert, action, target, details, now)
            try:
                self.store.alerts.update(alert)
            except ConflictError:
                continue  # someone acted first: look again
            self.store.alert_timeline.append(
                TimelineEntry(alert_id, now, actor, action, note, details)
            )
            return alert
        raise TicketError(f"alert {alert_id} keeps changing; try again")


def _apply(
    alert: Alert, action: str, target: str | None, details: dict[str, Any], now: datetime
) -> None:
    if "assignee" in details:
        alert.assignee = details["assignee"]
    if target is None:
        return
    alert.status = target  # type: ignore[assignment]
    # Handling or responding implies acknowledging; closing (e.g. as a false positive)
    # does not, so it never counts as a time to acknowledge.
    if action != "close":
        alert.acknowledged = alert.acknowledged or now
    if action in ("handle", "respond"):
        alert.handling = alert.handling or now
    if action == "respond":
        alert.responded, alert.guidance = now, details["guidance"]
    if action == "close":
        alert.closed, alert.close_reason = now, details["reason"]
