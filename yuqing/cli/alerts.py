"""``yuqing alerts``, ``yuqing outbox``, ``yuqing emergency`` and ``yuqing send-outbox``."""

from __future__ import annotations

import json
import signal
import threading
from datetime import timedelta
from pathlib import Path

import click

from monitor.alerts import operations
from monitor.alerts.emergency import GLOBAL
from monitor.alerts.outbox import Sender
from monitor.alerts.stats import report
from monitor.alerts.tickets import TicketError
from store import Invalid, NotFound
from yuqing.cli.errors import UserError, in_language
from yuqing.cli.words import say
from yuqing.service import tick_every


@click.group("alerts")
def alerts_group() -> None:
    """Alerts (tickets), their policies and figures."""


@alerts_group.command("list")
@click.option("--status", multiple=True, help="new, acknowledged, handling, responded, closed")
@click.option("--rule")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def alerts_list(ctx: click.Context, status: tuple[str, ...], rule: str | None, limit: int) -> None:
    """Newest alerts first."""
    store = ctx.obj.store()
    try:
        for a in store.alerts.list(status=status, rule=rule, limit=limit):
            # A status and a severity stay as --status and the policies name them.
            say(
                "{id}  {created:%m-%d %H:%M}  {status:<12} {severity:<8} {rule}  {title}  "
                "({n} items)",
                id=a.id,
                created=a.created,
                status=a.status,
                severity=a.severity,
                rule=a.rule,
                title=a.title,
                n=a.items,
            )
    finally:
        store.close()


@alerts_group.command("show")
@click.argument("alert_id")
@click.pass_context
def alerts_show(ctx: click.Context, alert_id: str) -> None:
    """One alert and its timeline."""
    store = ctx.obj.store()
    try:
        alert = store.alerts.get(alert_id)
        if alert is None:
            raise UserError(f"no alert {alert_id}")
        click.echo(f"{alert.title}\n{alert.rule} {alert.severity} {alert.status} {alert.url}")
        for e in store.alert_timeline.list(alert_id):
            click.echo(f"  {e.time:%m-%d %H:%M:%S}  {e.actor:<16} {e.action}  {e.note}")
    finally:
        store.close()


@alerts_group.command("act")
@click.argument("alert_id")
@click.argument("action", type=click.Choice(list(operations.ACTIONS)))
@click.option("--actor", required=True, help="Who acts (audited).")
@click.option("--assignee", default="", help="assign, handle: who handles it")
@click.option("--guidance", default="", help="respond: link or note to the information given")
@click.option("--reason", default="", help="close: handled, false_positive or duplicate")
@click.option("--note", default="", help="note: the note; close: a closing note")
@click.pass_context
def alerts_act(
    ctx: click.Context,
    alert_id: str,
    action: str,
    actor: str,
    assignee: str,
    guidance: str,
    reason: str,
    note: str,
) -> None:
    """Move an alert along its lifecycle (as in the console), or note or assign it."""
    fields = {
        "assign": {"assignee": assignee},
        "handle": {"assignee": assignee},
        "note": {"note": note},
        "respond": {"guidance": guidance},
        "close": {"reason": reason, "note": note},
    }
    store = ctx.obj.store()
    try:
        acting = ctx.obj.acting(store, actor)
        alert = operations.act(acting, alert_id, action, **fields.get(action, {}))
        click.echo(f"{alert.id} {alert.status}")
    except TicketError as e:
        raise UserError(str(e)) from e
    finally:
        store.close()


@alerts_group.command("policy")
@click.argument("rule")
@click.argument("settings", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--author", required=True)
@click.pass_context
def alerts_policy(ctx: click.Context, rule: str, settings: Path, author: str) -> None:
    """Set RULE's alert policy from a JSON file."""
    store = ctx.obj.store()
    try:
        data = json.loads(settings.read_text("utf-8"))
        policy = operations.set_policy(ctx.obj.acting(store, author), rule, data)
        click.echo(json.dumps(policy.model_dump(), ensure_ascii=False))
    except (Invalid, NotFound, json.JSONDecodeError) as e:
        raise UserError(str(e)) from e
    finally:
        store.close()


@alerts_group.command("stats")
@click.option("--days", default=30, show_default=True)
@click.pass_context
def alerts_stats(ctx: click.Context, days: int) -> None:
    """Figures for reports: per rule and severity, times to act, on-time rate, latency."""
    config = ctx.obj.config()
    store = ctx.obj.store()
    try:
        since = ctx.obj.clock().now() - timedelta(days=days)
        click.echo(
            json.dumps(report(store, config.alerts.deadlines, since), ensure_ascii=False, indent=2)
        )
    finally:
        store.close()


@alerts_group.command("tick")
@click.pass_context
def alerts_tick(ctx: click.Context) -> None:
    """Send due throttled updates, escalate overdue alerts, build due digests (once)."""
    store = ctx.obj.store()
    try:
        ctx.obj.alerting(store).tick()
    finally:
        store.close()


@click.command("outbox")
@click.option("--failed", is_flag=True, help="List failed messages.")
@click.pass_context
def outbox_command(ctx: click.Context, failed: bool) -> None:
    """Messages per status (pending, sending, sent, failed)."""
    store = ctx.obj.store()
    try:
        click.echo(json.dumps(store.outbox.counts()))
        if failed:
            for m in store.outbox.list(status="failed"):
                error = in_language(m.error)  # recorded in English
                click.echo(f"{m.created:%m-%d %H:%M}  {m.recipient}  {m.subject}  {error}")
    finally:
        store.close()


@click.command("emergency")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--rule", default=GLOBAL, show_default=True, help="A rule name, or * for all.")
@click.option("--actor", required=True, help="Who switches (audited).")
@click.option("--reason", default="")
@click.option("--hours", type=float, help="Switch off by itself after this long.")
@click.pass_context
def emergency_command(
    ctx: click.Context, state: str, rule: str, actor: str, reason: str, hours: float | None
) -> None:
    """Switch emergency mode on or off for one rule or all."""
    ctx.obj.config()
    store = ctx.obj.store()
    try:
        alerting = ctx.obj.alerting(store)
        until = ctx.obj.clock().now() + timedelta(hours=hours) if hours else None
        switch = alerting.emergency(rule, state == "on", actor, reason=reason, until=until)
        say(
            "emergency on for {scope}" if switch.on else "emergency off for {scope}",
            scope=switch.scope,
        )
    except ValueError as e:
        raise UserError(str(e)) from e
    finally:
        store.close()


@click.command("send-outbox")
@click.option("--once", is_flag=True, help="Send what is due and exit.")
@click.option("--lease", default=120.0, show_default=True, help="Seconds a claim lasts.")
@click.option("--poll", default=1.0, show_default=True, help="Seconds between looks.")
@click.option("--base-delay", default=5.0, show_default=True, help="First retry delay.")
@click.option("--workers", default=4, show_default=True, help="Destinations sent to at once.")
@click.pass_context
def send_outbox_command(
    ctx: click.Context, once: bool, lease: float, poll: float, base_delay: float, workers: int
) -> None:
    """Send the outbox (email, chat, SMS, webhooks) until stopped, with updates,
    escalations and reminders each minute."""
    config = ctx.obj.config()
    store = ctx.obj.store()
    sender = Sender(
        store,
        config.smtp,
        ctx.obj.clock(),
        workers=workers,
        lease_seconds=lease,
        base_delay=base_delay,
    )
    try:
        if once:
            say("sent {n}", n=sender.run_once())
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        alerting = ctx.obj.alerting(store)
        ticker = threading.Thread(target=tick_every, args=(alerting, stop, 60.0), daemon=True)
        ticker.start()
        try:
            sender.run(stop, poll)
        except KeyboardInterrupt:
            stop.set()
    finally:
        sender.close()
        store.close()
