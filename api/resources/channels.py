"""``/api/channels`` (notification channels: chat robots, SMS, webhooks; secrets
write-only), ``/api/routing`` (where alerts go, with a preview) and ``/api/deliveries``
(each delivery's status, the dead-letter list and resending).

Each change is one operation of :mod:`monitor.alerts.delivery`, which validates, writes
and audits; the console's pages call the functions here, as the API does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from apiflask import APIBlueprint
from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from api.auth import acting, require
from api.context import parts
from api.errors import ApiError
from monitor.alerts import delivery
from monitor.alerts.channels import EMAIL, KINDS, ChannelError
from monitor.alerts.policy import PolicyError, policy_for
from monitor.alerts.routing import Facts, RoutingError
from store.model import OUTBOX_STATUSES, OutboxMessage

bp = APIBlueprint("channels", __name__, tag="channels")

# What a delivery shows: never its acknowledge token or code (they are credentials).
DELIVERY_FIELDS = (
    "key channel recipient subject kind alert_id status attempts error created due sent merged_into"
).split()


class ChannelIn(BaseModel):
    """A channel as an admin writes it. ``secrets`` are write-only: a secret left out or
    empty keeps its stored value."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["wecom", "dingtalk", "feishu", "webhook", "sms_gateway", "sms_aliyun"]
    name: str = Field(min_length=1, max_length=100, examples=["区值班群"])
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True


class NewChannelIn(ChannelIn):
    id: str = Field(min_length=1, max_length=40, examples=["district-duty"])


class TrialIn(BaseModel):
    to: str = Field(
        "", max_length=200, description="phone number or address, if the channel needs one"
    )


class RoutingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any] = Field(description="the routing table (see docs/channels.md)")
    version: str | None = Field(None, description="the version read (conflict check)")


class RoutePreviewIn(BaseModel):
    """An alert to route: an existing one by id, or one described."""

    model_config = ConfigDict(extra="forbid")

    alert_id: str = ""
    rule: str = ""
    severity: Literal["critical", "warning", "info"] = "warning"
    regions: list[str] = Field(default_factory=list)
    region_codes: list[str] = Field(
        default_factory=list, description="codes of the places its items mention (500152)"
    )
    primary_region: str = Field("", description="its items' primary region code")
    groups: list[str] = Field(default_factory=list)
    emergency: bool = False
    at: datetime | None = Field(None, description="when it would be raised (default: now)")


class DeliveriesQuery(BaseModel):
    status: Literal["pending", "sending", "sent", "failed", "merged"] | None = None
    alert_id: str | None = None
    channel: str | None = None
    limit: int = Field(100, ge=1, le=500)


# -- what views share --------------------------------------------------------------------


def _refused(e: ChannelError | RoutingError) -> ApiError:
    return ApiError(400, e.message, field=e.field)


def channels() -> list[dict[str, Any]]:
    """Every channel (secrets masked), email first."""
    email = {"id": EMAIL, "kind": EMAIL, "name": "电子邮件", "enabled": True, "settings": {}}
    return [email, *(delivery.channel_doc(c) for c in parts().store.channels.list())]


def channel(ident: str) -> dict[str, Any]:
    found = parts().store.channels.get(ident)
    if found is None:
        raise ApiError(404, f"no channel {ident}", field="id")
    return delivery.channel_doc(found)


def save(ident: str, data: ChannelIn, *, create: bool) -> dict[str, Any]:
    p = parts()
    exists = p.store.channels.get(ident) is not None
    if create and exists:
        raise ApiError(409, f"channel {ident} exists already", field="id")
    if not create and not exists:
        raise ApiError(404, f"no channel {ident}", field="id")
    try:
        saved = delivery.save_channel(
            acting(), ident, data.kind, data.name, data.settings, data.secrets,
            enabled=data.enabled,
        )  # fmt: skip
    except ChannelError as e:
        raise _refused(e) from e
    return delivery.channel_doc(saved)


def remove(ident: str) -> None:
    p = parts()
    if p.store.channels.get(ident) is None:
        raise ApiError(404, f"no channel {ident}", field="id")
    try:
        delivery.delete_channel(acting(), ident)
    except ChannelError as e:
        raise ApiError(409, e.message, field=e.field) from e


def trial(ident: str, to: str) -> dict[str, Any]:
    p = parts()
    if ident != EMAIL and p.store.channels.get(ident) is None:
        raise ApiError(404, f"no channel {ident}", field="id")
    try:
        result = delivery.try_channel(
            acting(), ident, to.strip(), clock=p.clock, smtp=p.smtp,
            public_url=p.alerts.public_url,
        )  # fmt: skip
    except ChannelError as e:
        raise _refused(e) from e
    return {"ok": result.ok, "message": result.message}


def set_routing(data: RoutingIn) -> dict[str, Any]:
    p = parts()
    try:
        delivery.save_routing(acting(), data.settings, version=data.version)
    except RoutingError as e:
        raise _refused(e) from e
    return delivery.routing_doc(p.store)


def route_preview(data: RoutePreviewIn) -> dict[str, Any]:
    p = parts()
    recipients: list[str] = []
    if data.alert_id:
        alert = p.store.alerts.get(data.alert_id)
        if alert is None:
            raise ApiError(404, f"no alert {data.alert_id}", field="alert_id")
        facts = p.alerting.notify.facts(alert)
        recipients = list(alert.recipients)
    else:
        if not data.rule.strip():
            raise ApiError(400, "rule: name the rule, or give alert_id", field="rule")
        try:
            mentioned, primary = delivery.preview_codes(
                p.store, data.region_codes, data.primary_region
            )
        except RoutingError as e:
            raise _refused(e) from e
        facts = Facts(
            data.rule.strip(),
            data.severity,
            set(data.groups),
            data.regions,
            data.emergency,
            mentioned,
            primary,
        )
        try:
            recipients = policy_for(p.store, facts.rule, p.alerts.recipients).recipients
        except PolicyError:
            recipients = []
    at = data.at or p.now()
    if at.tzinfo is None:
        at = at.replace(tzinfo=p.zone)
    shown = delivery.preview(p.store, facts, at.astimezone(p.zone), recipients)
    return {"at": at.isoformat(), "routes": shown.routes, "targets": shown.targets}


def delivery_doc(message: OutboxMessage) -> dict[str, Any]:
    doc = {name: getattr(message, name) for name in DELIVERY_FIELDS}
    for name in ("created", "due", "sent"):
        doc[name] = doc[name].isoformat() if doc[name] else None
    return doc | {"id": message.id}


def deliveries(query: DeliveriesQuery) -> dict[str, Any]:
    store = parts().store
    found = store.outbox.list(
        status=query.status, alert_id=query.alert_id, channel=query.channel, limit=query.limit
    )
    counts = store.outbox.counts()
    return {
        "counts": {s: counts.get(s, 0) for s in OUTBOX_STATUSES},
        "deliveries": [delivery_doc(m) for m in found],
    }


def resend(delivery_id: str) -> dict[str, Any]:
    p = parts()
    if p.store.outbox.find(delivery_id) is None:
        raise ApiError(404, f"no delivery {delivery_id}", field="id")
    try:
        message = delivery.resend(acting(), delivery_id)
    except ChannelError as e:
        raise ApiError(409, e.message, field=e.field) from e
    return delivery_doc(message)


# -- endpoints -----------------------------------------------------------------------------


@bp.get("/channels")
@bp.doc(summary="Notification channels (secrets shown masked), email first; the kinds there are")
@require("operator")
def list_channels() -> Response:
    kinds = {k: {"label": c.label, "addressed": c.addressed} for k, c in KINDS.items()}
    return jsonify(channels=channels(), kinds=kinds)


@bp.post("/channels")
@bp.input(NewChannelIn, location="json")
@bp.doc(summary="Add a channel (audited)", responses=[201, 400, 409])
@require("admin")
def create_channel(json_data: NewChannelIn) -> tuple[Response, int]:
    return jsonify(save(json_data.id, json_data, create=True)), 201


@bp.get("/channels/<ident>")
@bp.doc(summary="One channel, secrets masked", responses=[404])
@require("operator")
def show_channel(ident: str) -> Response:
    return jsonify(channel(ident))


@bp.put("/channels/<ident>")
@bp.input(ChannelIn, location="json")
@bp.doc(
    summary="Change a channel; an omitted or empty secret keeps its value",
    responses=[400, 404, 409],
)
@require("admin")
def update_channel(ident: str, json_data: ChannelIn) -> Response:
    return jsonify(save(ident, json_data, create=False))


@bp.delete("/channels/<ident>")
@bp.doc(summary="Remove a channel no route names", responses=[204, 404, 409])
@require("admin")
def delete_channel(ident: str) -> tuple[str, int]:
    remove(ident)
    return "", 204


@bp.post("/channels/<ident>/test")
@bp.input(TrialIn, location="json")
@bp.doc(summary="Send a test message now; the platform's answer", responses=[400, 404])
@require("admin")
def test_channel(ident: str, json_data: TrialIn) -> Response:
    return jsonify(trial(ident, json_data.to))


@bp.get("/routing")
@bp.doc(summary="The routing table")
@require("operator")
def show_routing() -> Response:
    return jsonify(delivery.routing_doc(parts().store))


@bp.put("/routing")
@bp.input(RoutingIn, location="json")
@bp.doc(summary="Replace the routing table (audited)", responses=[400, 409])
@require("admin")
def put_routing(json_data: RoutingIn) -> Response:
    return jsonify(set_routing(json_data))


@bp.post("/routing/preview")
@bp.input(RoutePreviewIn, location="json")
@bp.doc(summary="Where an alert would go, and which routes say so", responses=[400, 404])
@require("operator")
def preview_routing(json_data: RoutePreviewIn) -> Response:
    return jsonify(route_preview(json_data))


@bp.get("/deliveries")
@bp.input(DeliveriesQuery, location="query")
@bp.doc(summary="Deliveries per status, and the newest (status=failed: the dead letters)")
@require("operator")
def list_deliveries(query_data: DeliveriesQuery) -> Response:
    return jsonify(deliveries(query_data))


@bp.post("/deliveries/<delivery_id>/resend")
@bp.doc(summary="Queue a failed delivery again (audited)", responses=[404, 409])
@require("operator")
def resend_delivery(delivery_id: str) -> Response:
    return jsonify(resend(delivery_id))
