"""``yuqing channels`` (notification channels, test sends, dead letters) and ``yuqing
routing`` (the routing table and its preview). Each change is one audited operation of
:mod:`monitor.alerts.delivery`; a wrong input is one line naming the field (exit 2)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import yaml

from monitor.alerts import delivery
from monitor.alerts.channels import EMAIL, ChannelError
from monitor.alerts.notify import Notifier
from monitor.alerts.routing import Facts, RoutingError
from store import Store, StoreError
from yuqing.cli.errors import UserError, in_language
from yuqing.cli.words import say, text

_ENV = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)\}$")


@contextmanager
def _store(ctx: click.Context) -> Iterator[Store]:
    store = ctx.obj.store()
    try:
        yield store
    except (ChannelError, RoutingError) as e:
        raise UserError(e.message) from e
    except StoreError as e:
        raise UserError(str(e)) from e
    finally:
        store.close()


def read_file(path: Path) -> dict[str, Any]:
    """A YAML or JSON file as a mapping; Refused naming the line if it is not one."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else "?"
        raise UserError(f"{path}: line {line}: {e.problem}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: {e}") from e
    if not isinstance(data, dict):
        raise UserError(f"{path}: should be a mapping (a YAML or JSON object)")
    return data


def _secret(name: str, value: Any) -> str:
    """A secret from the file, where ``${NAME}`` means the environment variable NAME (so
    the file itself holds no secret)."""
    text = str(value or "")
    found = _ENV.match(text)
    if not found:
        return text
    if found[1] not in os.environ:
        raise UserError(f"secrets.{name}: the environment variable {found[1]} is not set")
    return os.environ[found[1]]


@click.group("channels")
def channels_group() -> None:
    """Notification channels: chat robots, SMS, webhooks (see docs/channels.md)."""


@channels_group.command("list")
@click.pass_context
def channels_list(ctx: click.Context) -> None:
    """Every channel, its secrets masked."""
    with _store(ctx) as store:
        say("{id:<20} email        email (the [smtp] settings)", id=EMAIL)
        for c in store.channels.list():
            doc = delivery.channel_doc(c)
            state = "" if c.enabled else text(" (disabled)")
            secrets = " ".join(f"{k}={v}" for k, v in doc["secrets"].items())
            click.echo(f"{c.id:<20} {c.kind:<12} {c.name}{state}  {secrets}")


@channels_group.command("put")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_context
def channels_put(ctx: click.Context, file: Path) -> None:
    """Create or change the channel FILE describes (YAML or JSON: id, kind, name,
    settings, secrets, enabled). A secret written ``${NAME}`` is read from the
    environment variable NAME; one left out keeps its stored value."""
    data = read_file(file)
    unknown = set(data) - {"id", "kind", "name", "settings", "secrets", "enabled"}
    if unknown:
        raise UserError(
            f"{file}: unknown field {sorted(unknown)[0]} "
            "(id, kind, name, settings, secrets, enabled)"
        )
    for name in ("id", "kind", "name"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise UserError(f"{file}: {name}: required")
    secrets = {k: _secret(k, v) for k, v in (data.get("secrets") or {}).items()}
    with _store(ctx) as store:
        saved = delivery.save_channel(
            ctx.obj.acting(store), data["id"], data["kind"], data["name"],
            data.get("settings") or {}, secrets, enabled=bool(data.get("enabled", True)),
        )  # fmt: skip
        click.echo(json.dumps(delivery.channel_doc(saved), ensure_ascii=False))


@channels_group.command("remove")
@click.argument("ident")
@click.pass_context
def channels_remove(ctx: click.Context, ident: str) -> None:
    """Remove a channel that no route names."""
    with _store(ctx) as store:
        delivery.delete_channel(ctx.obj.acting(store), ident)
        say("removed {id}", id=ident)


@channels_group.command("test")
@click.argument("ident")
@click.option("--to", default="", help="Phone number or address, for SMS and email.")
@click.pass_context
def channels_test(ctx: click.Context, ident: str, to: str) -> None:
    """Send a test message through IDENT now and print the platform's answer."""
    config = ctx.obj.config()
    with _store(ctx) as store:
        result = delivery.try_channel(
            ctx.obj.acting(store), ident, to, clock=ctx.obj.clock(), smtp=config.smtp,
            public_url=config.alerts.public_url,
        )  # fmt: skip
    # The platform's answer (English, as the domain says it) in the operator's language.
    if result.ok:
        click.echo(in_language(result.message))
    else:
        say("failed: {message}", message=in_language(result.message))
        ctx.exit(1)


@channels_group.command("dead")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def channels_dead(ctx: click.Context, limit: int) -> None:
    """Deliveries that failed for good (the dead-letter list), newest first."""
    with _store(ctx) as store:
        zone = ctx.obj.clock().zone
        for m in store.outbox.list(status="failed", limit=limit):
            when = m.created.astimezone(zone).strftime("%m-%d %H:%M")
            error = in_language(m.error)
            click.echo(f"{m.id}  {when}  {m.channel}  {m.recipient or '-'}  {m.subject}  {error}")


@channels_group.command("resend")
@click.argument("delivery_id")
@click.pass_context
def channels_resend(ctx: click.Context, delivery_id: str) -> None:
    """Queue a dead letter again (its id from ``yuqing channels dead``)."""
    with _store(ctx) as store:
        message = delivery.resend(ctx.obj.acting(store), delivery_id)
        say("queued {key}", key=message.key)


@click.group("routing")
def routing_group() -> None:
    """Where alerts go: routes, the emergency list, escalation chains."""


@routing_group.command("show")
@click.pass_context
def routing_show(ctx: click.Context) -> None:
    """The routing table, as YAML."""
    with _store(ctx) as store:
        doc = delivery.routing_doc(store)
        click.echo(yaml.safe_dump(doc["settings"], allow_unicode=True, sort_keys=False), nl=False)


@routing_group.command("set")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_context
def routing_set(ctx: click.Context, file: Path) -> None:
    """Replace the routing table with FILE (YAML or JSON)."""
    settings = read_file(file)
    with _store(ctx) as store:
        routing = delivery.save_routing(ctx.obj.acting(store), settings)
        say("routing saved: {n} routes", n=len(routing.routes))


@routing_group.command("preview")
@click.option("--alert", "alert_id", default="", help="An existing alert's id.")
@click.option("--rule", default="")
@click.option("--severity", type=click.Choice(["critical", "warning", "info"]), default="warning")
@click.option("--region", "regions", multiple=True)
@click.option(
    "--region-code", "region_codes", multiple=True, help="A place its items mention (500152)."
)
@click.option("--primary-region", default="", help="Its items' primary region code.")
@click.option("--group", "groups", multiple=True)
@click.option("--at", "at_text", default="", help="YYYY-MM-DDTHH:MM in the configured zone.")
@click.option("--emergency", is_flag=True)
@click.pass_context
def routing_preview(
    ctx: click.Context,
    alert_id: str,
    rule: str,
    severity: str,
    regions: tuple[str, ...],
    region_codes: tuple[str, ...],
    primary_region: str,
    groups: tuple[str, ...],
    at_text: str,
    emergency: bool,
) -> None:
    """Where an alert would go, and which routes say so."""
    config, clock = ctx.obj.config(), ctx.obj.clock()
    try:
        at = datetime.fromisoformat(at_text) if at_text else clock.now()
    except ValueError as e:
        raise UserError(f"--at: not a date and time (such as 2026-12-03T09:00): {at_text}") from e
    at = at.replace(tzinfo=clock.zone) if at.tzinfo is None else at
    with _store(ctx) as store:
        recipients: list[str] = []
        if alert_id:
            alert = store.alerts.get(alert_id)
            if alert is None:
                raise UserError(f"--alert: no alert {alert_id}")
            links = ctx.obj.alerting(store).links
            facts = Notifier(store, config.alerts, links, clock).facts(alert)
            recipients = list(alert.recipients)
        elif not rule:
            raise UserError("--rule: give a rule name, or an alert with --alert")
        else:
            try:
                mentioned, primary = delivery.preview_codes(
                    store, list(region_codes), primary_region
                )
            except RoutingError as e:
                raise UserError(str(e)) from e
            facts = Facts(rule, severity, set(groups), list(regions), emergency, mentioned, primary)
        shown = delivery.preview(store, facts, at, recipients)
    say("routes: {routes}", routes=text(", ").join(shown.routes) or "—")
    for t in shown.targets:
        held = text("  (quiet hours {held})", held=t["held"]) if t["held"] else ""
        missing = text("  (no such channel)") if t["missing"] else ""
        click.echo(f"  {t['channel']}  {t['name']}  {t['to'] or ''}{held}{missing}")
