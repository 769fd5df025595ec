"""``yuqing audit``: the audit log from the terminal (who changed what, when)."""

from __future__ import annotations

import json

import click


@click.command("audit")
@click.option("--target", help="Only this record, e.g. source:gov-news or group:地名.")
@click.option("--actor", help="Only changes by this user (cli:<login>, yuqing: the service).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, with the data.")
@click.pass_context
def audit_command(
    ctx: click.Context, target: str | None, actor: str | None, limit: int, as_json: bool
) -> None:
    """The newest changes first, times in the configured zone; with --json each entry
    carries the record before and after."""
    zone = ctx.obj.clock().zone
    store = ctx.obj.store()
    try:
        entries = store.audit.list(target=target or None, actor=actor or None, limit=limit)
    finally:
        store.close()
    for e in entries:
        when = e.time.astimezone(zone)
        if as_json:
            record = {"time": when.isoformat(), "actor": e.actor, "action": e.action}
            record |= {"target": e.target, "before": e.before, "after": e.after}
            click.echo(json.dumps(record, ensure_ascii=False, default=str))
        else:
            click.echo(f"{when:%Y-%m-%d %H:%M:%S} {zone}  {e.actor:<16} {e.action:<22} {e.target}")
