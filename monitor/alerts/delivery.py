"""Operations on notification channels, the routing table and deliveries: each
validates, writes and appends one audit entry (who, when, before and after, secrets
masked), whether called from the API, the console or the ``yuqing`` command.

Also what the console and API show of them: :func:`channel_doc` (secrets masked),
:func:`preview` (where an alert would go) and :func:`test_send` (a real message through
a channel, with the platform's answer).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from analysis.gazetteer import Gazetteer, normalize_code
from keywords.library import KeywordLibrary
from keywords.places import gazetteer_of
from monitor.alerts.channels import EMAIL, ChannelError, EmailChannel, build, check, masked
from monitor.alerts.channels.base import Channel, Clock, DeliveryError, Outgoing
from monitor.alerts.notice import Notice
from monitor.alerts.routing import (
    REGION_CODE,
    Facts,
    Routing,
    RoutingError,
    Target,
    in_window,
    load,
    parse_routing,
    route,
)
from monitor.alerts.settings import SmtpConfig
from store import ConflictError, Store
from store.acting import Acting
from store.codec import to_doc
from store.localtime import local_time, zone_name
from store.model import ChannelConfig, OutboxMessage, RoutingTable, TimelineEntry

CHANNEL_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def channel_doc(config: ChannelConfig) -> dict[str, Any]:
    """A channel as shown anywhere outside the store: secrets masked."""
    return to_doc(config) | {"secrets": masked(config)}


def save_channel(
    acting: Acting,
    ident: str,
    kind: str,
    name: str,
    settings: dict[str, Any],
    secrets: dict[str, str],
    *,
    enabled: bool = True,
) -> ChannelConfig:
    """Create the channel ``ident`` or change it. Secrets are write-only: one left out
    or empty keeps its stored value. :class:`ChannelError` names a wrong field; nothing
    is written then."""
    if not CHANNEL_ID.match(ident) or ident == EMAIL:
        raise ChannelError(
            "id: lower-case letters, digits, - or _, starting with a letter or digit, at most"
            " 40 characters (email is taken)",
            "id",
        )
    if not name.strip():
        raise ChannelError("name: give the channel a name, e.g. the district's duty group", "name")
    store, now = acting.store, acting.now()
    before = store.channels.get(ident)
    if before is not None and before.kind != kind:
        raise ChannelError(
            f"kind: channel {ident} is {before.kind}, it cannot become {kind}", "kind"
        )
    given = {k: v for k, v in secrets.items() if v}
    merged = (before.secrets if before else {}) | given
    good_settings, good_secrets = check(kind, settings, merged)
    after = ChannelConfig(
        id=ident,
        kind=kind,
        name=name.strip(),
        settings=good_settings.model_dump(exclude_defaults=True),
        secrets={k: v for k, v in good_secrets.model_dump().items() if v},
        updated=now,
        author=acting.actor,
        enabled=enabled,
        version=before.version if before else None,
    )
    store.channels.put(after)
    acting.audit(
        "channel.update" if before else "channel.create",
        f"channel:{ident}",
        channel_doc(before) if before else None,
        channel_doc(after),
        time=now,
    )
    return after


def delete_channel(acting: Acting, ident: str) -> None:
    """Remove a channel no route names (its deliveries stay, for the record)."""
    store = acting.store
    before = store.channels.get(ident)
    if before is None:
        raise ChannelError(f"id: no channel {ident}", "id")
    users = _routes_naming(load(store), ident)
    if users:
        raise ChannelError(
            f"id: channel {ident} is used in the routing table ({users[0]}); change the routes"
            " first",
            "id",
        )
    store.channels.delete(ident)
    acting.audit("channel.delete", f"channel:{ident}", channel_doc(before), None)


def _routes_naming(routing: Routing, ident: str) -> list[str]:
    found = [
        f"routes.{i} {r.name}"
        for i, r in enumerate(routing.routes)
        if any(d.channel == ident for d in r.to)
    ]
    if any(d.channel == ident for d in routing.emergency):
        found.append("emergency")
    for severity, steps in routing.escalation.items():
        found += [
            f"escalation.{severity}.{i}"
            for i, s in enumerate(steps)
            if any(d.channel == ident for d in s.to)
        ]
    return found


def routing_doc(store: Store) -> dict[str, Any]:
    table = store.routing.get()
    return {
        "settings": table.settings if table else {},
        "updated": table.updated.isoformat() if table else None,
        "author": table.author if table else "",
        "version": table.version if table else None,
    }


def save_routing(
    acting: Acting, settings: dict[str, Any], *, version: str | None = None
) -> Routing:
    """Validate and store the routing table (against the channels as they are now);
    :class:`RoutingError` names the first wrong field. With ``version`` the stored table
    must still be at it (else :class:`~store.errors.ConflictError`)."""
    store, now = acting.store, acting.now()
    channels = {c.id: c for c in store.channels.list()}
    routing = parse_routing(settings, channels, known_code(store))
    before = store.routing.get()
    if version is not None and before is not None and before.version != version:
        raise ConflictError(f"the routing table changed since version {version}")
    clean = routing.model_dump(exclude_defaults=True)
    table = RoutingTable(clean, now, acting.actor, version=before.version if before else None)
    store.routing.put(table)
    acting.audit("routing.update", "routing", before.settings if before else None, clean, time=now)
    return routing


def known_code(store: Store) -> Callable[[str], bool]:
    """Whether a region code names a place of the gazetteer as the keyword library sees
    it (imported divisions and operators' places included); read once, when first asked."""
    found: list[Gazetteer] = []

    def known(code: str) -> bool:
        if not found:
            found.append(gazetteer_of(KeywordLibrary(store).current()[1]))
        return code in found[0].places

    return known


def preview_codes(
    store: Store, mentioned: list[str], primary: str = ""
) -> tuple[list[str], list[str]]:
    """The (mentioned, primary) region codes of an alert described for the preview: the
    places its items mention and their primary region (which they mention too), each
    checked; :class:`RoutingError` names a wrong one (``region_codes.1``,
    ``primary_region``)."""
    known = known_code(store)

    def check(value: str, where: str) -> str:
        code = normalize_code(value)
        if not REGION_CODE.match(code):
            raise RoutingError(f"{where}: {value!r} is not a region code (such as 500152)", where)
        if not known(code):
            raise RoutingError(f"{where}: no region code {code}", where)
        return code

    codes = [check(c, f"region_codes.{i}") for i, c in enumerate(mentioned) if c.strip()]
    top = [check(primary, "primary_region")] if primary.strip() else []
    return list(dict.fromkeys([*top, *codes])), top


def resend(acting: Acting, delivery_id: str) -> OutboxMessage:
    """Put a dead letter (a failed delivery) back in the queue, to be sent at once."""
    store, now = acting.store, acting.now()
    message = store.outbox.find(delivery_id)
    if message is None:
        raise ChannelError(f"id: no delivery {delivery_id}", "id")
    if message.status != "failed":
        raise ChannelError(
            f"id: delivery {delivery_id} is {message.status}; only failed deliveries are resent",
            "id",
        )
    before = {"status": message.status, "attempts": message.attempts, "error": message.error}
    message.status, message.attempts, message.due, message.error = "pending", 0, now, ""
    store.outbox.update(message)
    acting.audit(
        "delivery.resend",
        f"delivery:{delivery_id}",
        before,
        {"status": "pending", "key": message.key, "channel": message.channel},
        time=now,
    )
    if message.alert_id:
        store.alert_timeline.append(
            TimelineEntry(
                message.alert_id,
                now,
                acting.actor,
                "resend",
                details={"channel": message.channel, "to": message.recipient, "kind": message.kind},
            )
        )
    return message


@dataclass
class Trial:
    ok: bool
    message: str  # the platform's answer in words, or delivered (English: see DeliveryError)


def try_channel(
    acting: Acting,
    ident: str,
    to: str,
    *,
    clock: Clock,
    smtp: SmtpConfig,
    public_url: str,
    http: httpx.Client | None = None,
) -> Trial:
    """Send a test message through channel ``ident`` (``email`` too) now, to ``to`` if
    the channel needs an address; the result says what the platform answered. Audited:
    a test message reaches real people."""
    store, now = acting.store, acting.now()
    channel: Channel
    client = http or httpx.Client(timeout=10.0)
    try:
        if ident == EMAIL:
            channel = EmailChannel(smtp)
        else:
            config = store.channels.get(ident)
            if config is None:
                raise ChannelError(f"id: no channel {ident}", "id")
            channel = build(config, client, clock)
        try:
            type(channel).check_to(to)
        except ValueError as e:
            raise ChannelError(f"to: {e}", "to") from e
        base = public_url.rstrip("/")
        notice = Notice(
            kind="test",
            alert_id="",
            rule="渠道测试",
            severity="info",
            title=f"测试消息：{channel.name}",
            console_url=f"{base}/channels",
            base_url=base,
            zone=str(getattr(now.tzinfo, "key", now.tzinfo)),
            zone_name=zone_name(now.tzinfo or UTC),
            created=now.isoformat(),
            published=local_time(now, now.tzinfo or UTC, named=False),
            source="yuqing",
        )
        key = f"test/{ident}/{now.isoformat()}"
        try:
            channel.send(Outgoing(notice, to, "", key, key.replace("/", "-")))
            result = Trial(True, "delivered")
        except DeliveryError as e:
            result = Trial(False, channel.redact(e.message))
        finally:
            channel.close()
    finally:
        if http is None:
            client.close()
    acting.audit(
        "channel.test",
        f"channel:{ident}",
        None,
        {"to": to, "ok": result.ok, "message": result.message},
        time=now,
    )
    return result


@dataclass
class Preview:
    """Where an alert would go, and why."""

    targets: list[dict[str, Any]]  # channel, name, kind, to, held (quiet hours until)
    routes: list[str]  # the routes that matched


def preview(store: Store, facts: Facts, at: datetime, recipients: list[str]) -> Preview:
    """Where an alert with ``facts`` raised at ``at`` would go: its email ``recipients``
    and the routed destinations, each with whether quiet hours would hold it."""
    routing = load(store)
    found, names = route(routing, facts, at)
    channels = {c.id: c for c in store.channels.list()}
    out = []
    for target in [*(Target(EMAIL, r) for r in recipients), *found]:
        config = channels.get(target.channel)
        quiet = str(config.settings.get("quiet_hours", "")) if config else ""
        held = (
            bool(quiet)
            and facts.severity != "critical"
            and not facts.emergency
            and in_window(quiet, at)
        )
        out.append(
            {
                "channel": target.channel,
                "name": config.name
                if config
                else ("电子邮件" if target.channel == EMAIL else target.channel),
                "kind": config.kind
                if config
                else ("email" if target.channel == EMAIL else "missing"),
                "to": target.to,
                "held": quiet if held else "",
                "missing": target.channel != EMAIL and config is None,
            }
        )
    return Preview(list({(t["channel"], t["to"]): t for t in out}.values()), names)


__all__ = [
    "ChannelError",
    "RoutingError",
    "channel_doc",
    "delete_channel",
    "preview",
    "preview_codes",
    "resend",
    "routing_doc",
    "save_channel",
    "save_routing",
    "try_channel",
]
