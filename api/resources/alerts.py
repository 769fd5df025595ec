"""``/api/alerts`` (the operators' inbox, alert details and actions), ``/api/policies``
(how each rule alerts), ``/api/emergency`` and ``/api/outbox``.

The console's alert pages and dashboard call the functions here (:func:`inbox`,
:func:`detail`, :func:`act`, ...), so a page and its endpoint never disagree. Every change
is an operation of :mod:`monitor.alerts.operations` (validated and audited there); the
ticket rules live in :mod:`monitor.alerts.tickets`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from apiflask import APIBlueprint
from flask import Response, jsonify
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from api.auth import acting, actor, require
from api.context import parts
from api.errors import ApiError
from monitor.alerts import operations
from monitor.alerts.email import excerpt, highlight_html
from monitor.alerts.emergency import GLOBAL
from monitor.alerts.policy import Policy, PolicyError, policy_for
from monitor.alerts.policy import rule_names as policy_rules
from monitor.alerts.stats import report
from monitor.alerts.tickets import STEP_LABELS, STEPS, due_at, has_deadlines, step_done
from store import ItemQuery
from store.codec import to_doc
from store.model import OPEN_STATUSES, Alert, EmergencySwitch, Item

bp = APIBlueprint("alerts", __name__, tag="alerts")

STATUSES = (*OPEN_STATUSES, "closed")
SEVERITIES = ("critical", "warning", "info")
MAX_INBOX = 10_000  # newest alerts the inbox filters over
EVENT_ITEMS = 50  # items of an event shown with its alert
OUTBOX_FIELDS = frozenset(
    "key recipient subject kind alert_id status attempts error created due sent".split()
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def _listed(value: str, allowed: tuple[str, ...], name: str) -> str:
    unknown = [v for v in value.split(",") if v.strip() and v.strip() not in allowed]
    if unknown:
        raise ValueError(f"unknown {name} {unknown[0]!r}; one of {', '.join(allowed)}")
    return value


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


class InboxQuery(BaseModel):
    """Inbox filters; every one given must hold."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field("", description="comma-separated: new, acknowledged, handling, ...")
    severity: str = Field("", description="comma-separated: critical, warning, info")
    rule: str = Field("", max_length=200)
    assignee: str = Field("", max_length=100)
    overdue: bool = Field(False, description="only alerts past a handling deadline")
    since: datetime | None = Field(None, description="created at or after")
    until: datetime | None = Field(None, description="created before")
    backfill: bool | None = Field(
        None, description="true: only alerts on backfill (old news); false: only the others"
    )
    page: int = Field(1, ge=1)
    size: int = Field(50, ge=1, le=500)
    sort: Literal["created", "negative"] = Field(
        "created", description="created: newest first; negative: most negative first"
    )

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: str) -> str:
        return _listed(value, STATUSES, "status")

    @field_validator("severity")
    @classmethod
    def _severities(cls, value: str) -> str:
        return _listed(value, SEVERITIES, "severity")


class AssignIn(BaseModel):
    assignee: Name


class HandleIn(BaseModel):
    assignee: str = Field("", max_length=100, description="default: whoever starts handling")


class NoteIn(BaseModel):
    note: Text


class RespondIn(BaseModel):
    guidance: Text = Field(description="a link or note to the authoritative information")


class CloseIn(BaseModel):
    reason: Literal["handled", "false_positive", "duplicate"]
    note: str = Field("", max_length=5000)


class BulkIn(BaseModel):
    ids: list[Name] = Field(min_length=1, max_length=500)


class StatsQuery(BaseModel):
    days: int = Field(30, ge=1, le=366)


class EmergencyIn(BaseModel):
    scope: str = Field(GLOBAL, min_length=1, description="a rule name, or * for every rule")
    on: bool
    reason: str = Field("", max_length=500)
    until: datetime | None = Field(None, description="switches itself off then")


class OutboxQuery(BaseModel):
    status: Literal["pending", "sending", "sent", "failed"] | None = None
    limit: int = Field(100, ge=1, le=500)


# -- what views share --------------------------------------------------------------


def _aware(t: datetime | None) -> datetime | None:
    """A time without a zone is meant in the service's time zone."""
    return t.replace(tzinfo=parts().zone) if t is not None and t.tzinfo is None else t


def _steps(alert: Alert) -> tuple[str, ...]:
    return STEPS if has_deadlines(alert, parts().alerts.deadlines) else ()


def deadlines(alert: Alert, now: datetime) -> list[dict[str, Any]]:
    """Each handling step: when it is due, when it was done, whether it is overdue."""
    limits = parts().alerts.deadlines
    out = []
    for step in _steps(alert):
        due, done = due_at(alert, step, limits), step_done(alert, step)
        out.append(
            {
                "step": step,
                "label": STEP_LABELS[step],
                "due": due.isoformat(),
                "done": done.isoformat() if done else None,
                "overdue": alert.status != "closed" and done is None and now > due,
                "late": done is not None and done > due,
            }
        )
    return out


def summary(alert: Alert, now: datetime) -> dict[str, Any]:
    """An alert as the inbox lists it, with its overdue steps and next deadline."""
    steps = deadlines(alert, now)
    pending = [s["due"] for s in steps if s["done"] is None and alert.status != "closed"]
    return to_doc(alert) | {
        "overdue": [s["step"] for s in steps if s["overdue"]],
        "next_due": min(pending) if pending else None,
    }


def inbox(query: InboxQuery) -> tuple[int, list[Alert]]:
    """(how many alerts match, the page asked for), newest first (or most negative)."""
    p = parts()
    since, until = _aware(query.since), _aware(query.until)
    if since and until and since >= until:
        raise ApiError(400, "since must be earlier than until", field="since")
    severities, now = _csv(query.severity), p.now()
    found = p.store.alerts.list(
        status=_csv(query.status),
        rule=query.rule or None,
        since=since,
        backfill=query.backfill,
        limit=MAX_INBOX,
    )
    kept = [
        a
        for a in found
        if (until is None or a.created < until)
        and (not severities or a.severity in severities)
        and (not query.assignee or a.assignee == query.assignee)
        and (not query.overdue or any(s["overdue"] for s in deadlines(a, now)))
    ]
    if query.sort == "negative":  # stable: equally negative alerts stay newest first
        kept.sort(key=lambda a: -a.negative)
    start = (query.page - 1) * query.size
    return len(kept), kept[start : start + query.size]


def get_alert(alert_id: str) -> Alert:
    alert = parts().store.alerts.get(alert_id)
    if alert is None:
        raise ApiError(404, f"no alert {alert_id}", field="id")
    return alert


def web_link(url: str) -> str:
    """``url`` if it is safe to link to (http or https), else empty."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def item_view(item: Item, rule: str) -> dict[str, Any]:
    """An item of an alert's event, its matched words marked. The ``*_html`` values are
    :class:`~markupsafe.Markup` built by escaping the crawled text piece by piece and
    adding only ``<mark>`` (monitor.alerts.email.highlight_html), so templates render
    them as they are and JSON carries them as text."""
    hits = [h for h in item.hits if h.get("rule") in (None, rule)]
    body, body_hits = excerpt(item.body, hits)
    return {
        "id": item.id,
        "title": item.title,
        "url": item.url,
        "link": web_link(item.url),
        "source_id": item.source_id,
        "publish_time": item.publish_time.isoformat() if item.publish_time else None,
        "first_seen": item.first_seen.isoformat(),
        "title_html": highlight_html(item.title, hits, "title"),
        "excerpt_html": highlight_html(body, body_hits, "body") if body else Markup(""),
    }


def event_items(alert: Alert, limit: int = EVENT_ITEMS) -> tuple[int, list[dict[str, Any]]]:
    """The items behind ``alert``: its event's reposts, or the items of its threshold or
    spike window; first seen first."""
    if alert.kind == "health":
        return 0, []
    store = parts().store
    mode, _, start = alert.event_id.partition("@")
    query = ItemQuery(sort="first_seen", descending=False, size=limit, highlight=False)
    if mode in ("threshold", "spike") and start:
        try:
            minutes = policy_for(store, alert.rule, []).window_minutes
        except PolicyError:
            minutes = Policy.model_validate({}).window_minutes
        query.rules = [alert.rule]
        query.since = datetime.fromisoformat(start)
        query.until = query.since + timedelta(minutes=minutes)
    else:
        query.event_id = alert.event_id
    found = store.items.search(query)
    items, total = [f.item for f in found.hits], found.total
    # The first copy of a story may not carry its own id as event id.
    if alert.item_id and all(i.id != alert.item_id for i in items):
        first = store.items.get(alert.item_id)
        if first is not None:
            items, total = [first, *items[: limit - 1]], total + 1
    return total, [item_view(i, alert.rule) for i in items]


def detail(alert: Alert) -> dict[str, Any]:
    """An alert with its timeline, deadlines and its event's items."""
    p = parts()
    now = p.now()
    total, items = event_items(alert)
    return summary(alert, now) | {
        "link": web_link(alert.url),
        "deadlines": deadlines(alert, now),
        "timeline": [to_doc(e) for e in p.store.alert_timeline.list(alert.id)],
        "event_items": {"total": total, "items": items},
    }


def act(alert_id: str, action: str, data: BaseModel | None = None) -> Alert:
    """Do ``action`` on the alert as the current user (an operation of
    :mod:`monitor.alerts.operations`, audited there). An illegal transition raises
    :class:`~monitor.alerts.tickets.TicketError` (409), recorded in the timeline as
    refused and changing nothing else."""
    fields = data.model_dump() if data is not None else {}
    return operations.act(acting(), alert_id, action, **fields)


def acknowledge_many(ids: list[str]) -> dict[str, Any]:
    """Acknowledge each alert that can be; say why for the others."""
    outcome = operations.acknowledge_many(acting(), ids)
    return {
        "acknowledged": outcome.acknowledged,
        "refused": [{"id": i, "detail": why} for i, why in outcome.refused],
    }


def rule_names() -> list[str]:
    """The rules of the newest keyword library."""
    return policy_rules(parts().store)


def policy_rule(key: str) -> str:
    """The name of the rule whose id is ``key`` in the newest library, else ``key`` itself
    (policies are kept by rule name; a name with ``/`` is reached by the rule's id)."""
    _, library = parts().library.current()
    found = library.rule_by_id(key)
    return found.name if found is not None else key


def _known_rule(rule: str) -> None:
    if rule not in rule_names():
        raise ApiError(404, f"no rule {rule!r} in the keyword library", field="rule")


def policy_doc(rule: str) -> dict[str, Any]:
    """The stored settings of ``rule``'s policy and the policy in effect."""
    p = parts()
    stored = p.store.alert_policies.get(rule)
    try:
        effective: dict[str, Any] | None = policy_for(
            p.store, rule, p.alerts.recipients
        ).model_dump()
        problem = ""
    except PolicyError as e:
        effective, problem = None, str(e)
    return {
        "rule": rule,
        "stored": stored is not None,
        "settings": stored.settings if stored else {},
        "updated": stored.updated.isoformat() if stored else None,
        "author": stored.author if stored else "",
        "policy": effective,
        "problem": problem,
    }


def set_policy(rule: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Validate and save ``rule``'s policy (400 naming the wrong field, 404 for an unknown
    rule), audited by the operation."""
    operations.set_policy(acting(), rule, settings)
    return policy_doc(rule)


def active_emergencies() -> list[EmergencySwitch]:
    now = parts().now()
    return [
        s for s in parts().store.emergencies.list() if s.on and (s.until is None or s.until > now)
    ]


def switch_emergency(data: EmergencyIn) -> EmergencySwitch:
    """Turn emergency mode on or off (the engine's operation: validated, audited, and
    crawl scheduling told)."""
    return parts().alerting.emergency(
        data.scope, data.on, actor(), reason=data.reason.strip(), until=_aware(data.until)
    )


def emergency_doc() -> dict[str, Any]:
    return {
        "switches": [to_doc(s) for s in parts().store.emergencies.list()],
        "active": [s.scope for s in active_emergencies()],
    }


# -- endpoints -----------------------------------------------------------------------


@bp.get("/alerts")
@bp.input(InboxQuery, location="query")
@bp.doc(summary="The alert inbox, newest first, filtered and paged", responses=[400])
@require("viewer")
def list_alerts(query_data: InboxQuery) -> Response:
    total, page = inbox(query_data)
    now = parts().now()
    return jsonify(
        total=total,
        page=query_data.page,
        size=query_data.size,
        alerts=[summary(a, now) for a in page],
    )


@bp.get("/alerts/stats")
@bp.input(StatsQuery, location="query")
@bp.doc(
    summary="Alert figures over the last days: per rule and severity, time to acknowledge "
    "and respond (p50/p95 seconds), on-time rate, latency stages, precision per rule "
    "with exclusion suggestions",
    responses=[400],
)
@require("viewer")
def alert_stats(query_data: StatsQuery) -> Response:
    p = parts()
    since = p.now() - timedelta(days=query_data.days)
    return jsonify(days=query_data.days, **report(p.store, p.alerts.deadlines, since))


@bp.post("/alerts/acknowledge")
@bp.input(BulkIn, location="json")
@bp.doc(summary="Acknowledge several alerts; those that cannot be are listed with why")
@require("operator")
def acknowledge_bulk(json_data: BulkIn) -> Response:
    return jsonify(acknowledge_many(json_data.ids))


@bp.get("/alerts/<alert_id>")
@bp.doc(summary="An alert with its deadlines, timeline and its event's items", responses=[404])
@require("viewer")
def show_alert(alert_id: str) -> Response:
    return jsonify(detail(get_alert(alert_id)))


def _answer(alert: Alert) -> Response:
    return jsonify(summary(alert, parts().now()))


@bp.post("/alerts/<alert_id>/acknowledge")
@bp.doc(summary="Acknowledge (签收) a new alert", responses=[404, 409])
@require("operator")
def acknowledge(alert_id: str) -> Response:
    return _answer(act(alert_id, "acknowledge"))


@bp.post("/alerts/<alert_id>/assign")
@bp.input(AssignIn, location="json")
@bp.doc(summary="Name who handles an open alert", responses=[400, 404, 409])
@require("operator")
def assign(alert_id: str, json_data: AssignIn) -> Response:
    return _answer(act(alert_id, "assign", json_data))


@bp.post("/alerts/<alert_id>/note")
@bp.input(NoteIn, location="json")
@bp.doc(summary="Add a note to the timeline (the status stays)", responses=[400, 404])
@require("operator")
def note(alert_id: str, json_data: NoteIn) -> Response:
    return _answer(act(alert_id, "note", json_data))


@bp.post("/alerts/<alert_id>/handle")
@bp.input(HandleIn, location="json")
@bp.doc(summary="Start handling (处置中)", responses=[400, 404, 409])
@require("operator")
def handle(alert_id: str, json_data: HandleIn) -> Response:
    return _answer(act(alert_id, "handle", json_data))


@bp.post("/alerts/<alert_id>/respond")
@bp.input(RespondIn, location="json")
@bp.doc(summary="Record the guidance given (a link or note)", responses=[400, 404, 409])
@require("operator")
def respond(alert_id: str, json_data: RespondIn) -> Response:
    return _answer(act(alert_id, "respond", json_data))


@bp.post("/alerts/<alert_id>/close")
@bp.input(CloseIn, location="json")
@bp.doc(
    summary="Close with a reason: handled, false_positive or duplicate", responses=[400, 404, 409]
)
@require("operator")
def close(alert_id: str, json_data: CloseIn) -> Response:
    return _answer(act(alert_id, "close", json_data))


@bp.get("/policies")
@bp.doc(summary="The alert policy of every rule of the keyword library")
@require("viewer")
def list_policies() -> Response:
    stored = {p.rule for p in parts().store.alert_policies.list()}
    rules = [*rule_names(), *sorted(stored - set(rule_names()))]
    return jsonify(policies=[policy_doc(rule) for rule in rules])


@bp.get("/policies/<rule>")
@bp.doc(summary="One rule's alert policy", responses=[404])
@require("viewer")
def show_policy(rule: str) -> Response:
    rule = policy_rule(rule)
    if parts().store.alert_policies.get(rule) is None:
        _known_rule(rule)
    return jsonify(policy_doc(rule))


@bp.put("/policies/<rule>")
@bp.input(Policy, location="json")
@bp.doc(
    summary="Set one rule's alert policy (unset settings take their defaults)", responses=[400, 404]
)
@require("operator")
def put_policy(rule: str, json_data: Policy) -> Response:
    return jsonify(set_policy(policy_rule(rule), json_data.model_dump(exclude_unset=True)))


@bp.get("/emergency")
@bp.doc(summary="Emergency switches (global scope *, or per rule) and which are on")
@require("viewer")
def show_emergency() -> Response:
    return jsonify(emergency_doc())


@bp.put("/emergency")
@bp.input(EmergencyIn, location="json")
@bp.doc(summary="Switch emergency mode on or off (audited)", responses=[400])
@require("operator")
def put_emergency(json_data: EmergencyIn) -> Response:
    return jsonify(to_doc(switch_emergency(json_data)))


@bp.get("/outbox")
@bp.input(OutboxQuery, location="query")
@bp.doc(summary="Emails per status, and the newest messages (failed ones with the reason)")
@require("admin")
def outbox(query_data: OutboxQuery) -> Response:
    store = parts().store
    messages = store.outbox.list(status=query_data.status, limit=query_data.limit)
    return jsonify(
        counts=store.outbox.counts(),
        messages=[{k: v for k, v in to_doc(m).items() if k in OUTBOX_FIELDS} for m in messages],
    )
