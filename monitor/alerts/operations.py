"""What people do to alerts and to how alerting behaves, one operation each: act on an
alert (acknowledge, assign, note, handle, respond, close; several at once; by the emailed
link), set a rule's policy, switch emergency mode.

Each validates, writes (an alert's timeline records the step, and refused attempts, see
:mod:`monitor.alerts.tickets`) and writes one audit entry per alert or setting it changed:
who, when, before and after. The API, the console and ``yuqing alerts``/``yuqing
emergency`` call these. What the engine does by itself (alerts it opens, escalations,
closing a source's alert on recovery) is in each alert's timeline, not the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.alerts.emergency import DEFAULT_INTERVAL, GLOBAL, CrawlHook
from monitor.alerts.links import LinkError
from monitor.alerts.policy import Policy, rule_names, save_policy
from monitor.alerts.tickets import TicketError, Tickets
from store import Invalid, NotFound
from store.acting import Acting
from store.codec import to_doc
from store.model import Alert, EmergencySwitch

# -- one alert -------------------------------------------------------------------------


def acknowledge(acting: Acting, alert_id: str) -> Alert:
    """签收: the alert is seen and taken care of."""
    return _act(
        acting, alert_id, "acknowledge", {}, lambda t: t.acknowledge(alert_id, acting.actor)
    )


def assign(acting: Acting, alert_id: str, assignee: str) -> Alert:
    """Name who handles the open alert."""
    return _act(
        acting,
        alert_id,
        "assign",
        {"assignee": assignee},
        lambda t: t.assign(alert_id, acting.actor, assignee.strip()),
    )


def note(acting: Acting, alert_id: str, note: str) -> Alert:
    """Add a note to the alert's timeline; its status stays."""
    return _act(
        acting, alert_id, "note", {"note": note}, lambda t: t.note(alert_id, acting.actor, note)
    )


def handle(acting: Acting, alert_id: str, assignee: str = "") -> Alert:
    """Start handling (处置中); the assignee is the actor unless named."""
    return _act(
        acting,
        alert_id,
        "handle",
        {"assignee": assignee},
        lambda t: t.handle(alert_id, acting.actor, assignee.strip()),
    )


def respond(acting: Acting, alert_id: str, guidance: str) -> Alert:
    """Record the guidance given: a link or note to the authoritative information."""
    return _act(
        acting,
        alert_id,
        "respond",
        {"guidance": guidance},
        lambda t: t.respond(alert_id, acting.actor, guidance),
    )


def close(acting: Acting, alert_id: str, reason: str, note: str = "") -> Alert:
    """Close with ``reason``: handled, false_positive or duplicate."""
    return _act(
        acting,
        alert_id,
        "close",
        {"reason": reason, "note": note},
        lambda t: t.close(alert_id, acting.actor, reason, note),
    )


ACTIONS: dict[str, Callable[..., Alert]] = {
    "acknowledge": acknowledge,
    "assign": assign,
    "note": note,
    "handle": handle,
    "respond": respond,
    "close": close,
}


def act(acting: Acting, alert_id: str, action: str, **fields: Any) -> Alert:
    """Do ``action`` (a name in :data:`ACTIONS`) with its ``fields``, for callers that take
    the action by name (a URL, a command's argument)."""
    operation = ACTIONS.get(action)
    if operation is None:
        raise Invalid(f"unknown action {action!r}; one of {', '.join(ACTIONS)}", "action")
    return operation(acting, alert_id, **fields)


def acknowledge_by_link(tickets: Tickets, token: str, alert_id: str) -> Alert:
    """Acknowledge ``alert_id`` as the recipient the emailed link ``token`` was made for (the
    link is the credential: it names the alert and the recipient and works once).
    :class:`~monitor.alerts.links.LinkError` if it is tampered with, expired, used, or
    for another alert."""
    claim = tickets.check_link(token)
    if claim.alert_id != alert_id:
        raise LinkError("this acknowledge link is for another alert", "invalid")
    acting = Acting(claim.recipient, tickets.store, tickets.clock)
    fields = {"via": "email", "recipient": claim.recipient}
    return _act(
        acting, alert_id, "acknowledge", fields, lambda _: tickets.acknowledge_by_link(token)
    )


# -- several alerts --------------------------------------------------------------------


@dataclass
class Acknowledged:
    """What acknowledging several alerts did: the ids acknowledged, and why not the others."""

    acknowledged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (id, why)


def acknowledge_many(acting: Acting, ids: Iterable[str]) -> Acknowledged:
    """Acknowledge each alert that can be (each audited on its own); say why for the
    others. An id given twice counts once."""
    outcome = Acknowledged()
    for alert_id in dict.fromkeys(ids):
        try:
            acknowledge(acting, alert_id)
            outcome.acknowledged.append(alert_id)
        except TicketError as e:
            outcome.refused.append((alert_id, str(e)))
    return outcome


# -- how alerting behaves --------------------------------------------------------------


def set_policy(acting: Acting, rule: str, settings: dict[str, Any]) -> Policy:
    """Validate and store how ``rule`` (of the keyword library) alerts; unset settings
    take their defaults. :class:`~monitor.alerts.policy.PolicyError` names a wrong
    setting, :class:`~store.errors.NotFound` an unknown rule."""
    store = acting.store
    if rule not in rule_names(store):
        raise NotFound(f"no rule {rule!r} in the keyword library", "rule")
    before = store.alert_policies.get(rule)
    now = acting.now()
    policy = save_policy(store, rule, settings, acting.actor, now)
    after = store.alert_policies.get(rule)
    acting.audit(
        "policy.update",
        f"policy:{rule}",
        before.settings if before else None,
        after.settings if after else None,
        time=now,
    )
    return policy


def switch_emergency(
    acting: Acting,
    scope: str,
    on: bool,
    *,
    reason: str = "",
    until: datetime | None = None,
    hook: CrawlHook | None = None,
) -> EmergencySwitch:
    """Turn emergency mode for ``scope`` (a rule, or ``*`` for every rule) on or off, until
    ``until`` if given, and tell ``hook`` (crawl scheduling, wired by the composition root).
    The audit entry names the sources whose crawling the hook sped up or slowed back."""
    store = acting.store
    scope = scope.strip()
    if scope != GLOBAL and scope not in rule_names(store):
        raise Invalid(f"scope: no rule {scope!r} in the keyword library", "scope")
    now = acting.now()
    if until is not None and until <= now:
        raise Invalid("until: must lie in the future", "until")
    before = store.emergencies.get(scope)
    after = EmergencySwitch(
        scope, on, now, acting.actor, reason, until, version=before.version if before else None
    )
    store.emergencies.put(after)
    changed: object = None
    try:
        if hook is not None:
            policy = None if scope == GLOBAL else store.alert_policies.get(scope)
            settings = policy.settings if policy else {}
            tags = None if scope == GLOBAL else list(settings.get("source_tags", []))
            changed = hook(after, tags, int(settings.get("emergency_interval", DEFAULT_INTERVAL)))
    finally:
        # Audited even if the hook failed: the switch itself has changed.
        record = to_doc(after)
        if isinstance(changed, list):
            record["sources"] = [getattr(s, "id", s) for s in changed]
        acting.audit(
            "emergency.on" if on else "emergency.off",
            f"emergency:{scope}",
            None if before is None else to_doc(before),
            record,
            time=now,
        )
    return after


# -- shared ----------------------------------------------------------------------------


def _act(
    acting: Acting,
    alert_id: str,
    action: str,
    fields: dict[str, Any],
    do: Callable[[Tickets], Alert],
) -> Alert:
    """Run the ticket step ``do`` and audit it: the alert's status and assignee before and
    after, with the ``fields`` given. A refused step raises
    :class:`~monitor.alerts.tickets.TicketError` (in the timeline, not the audit)."""
    before = acting.store.alerts.get(alert_id)
    if before is None:
        raise TicketError(f"no alert {alert_id}")
    after = do(Tickets(acting.store, None, acting.clock))
    acting.audit(f"alert.{action}", f"alert:{alert_id}", _state(before), _state(after) | fields)
    return after


def _state(alert: Alert) -> dict[str, Any]:
    return {"status": alert.status, "assignee": alert.assignee}
