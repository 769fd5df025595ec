"""The ``yuqing`` command."""

from __future__ import annotations

import json
import os
import sys

import click

from store import StoreError
from store.secrets import Redactor
from yuqing.cli.alerts import (
    alerts_group,
    emergency_command,
    outbox_command,
    send_outbox_command,
)
from yuqing.cli.audit import audit_command
from yuqing.cli.channels import channels_group, routing_group
from yuqing.cli.context import CliContext
from yuqing.cli.crawl import crawl_command, scheduler_command, sources_command
from yuqing.cli.discover import discover_group
from yuqing.cli.errors import Commands, UserError
from yuqing.cli.keywords import keywords_group, match_command
from yuqing.cli.places import places_group
from yuqing.cli.store import store_group
from yuqing.cli.users import users_group
from yuqing.wiring import CRAWLS_PER_WORKER, crawl_args, store_for


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Configuration file (default: $YUQING_CONFIG or ./yuqing.toml if present).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """yuqing (舆情): crawl, match a sensitive-keyword library, alert operators."""
    ctx.obj = CliContext(config_path)


@main.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@click.pass_obj
def config_check(ctx: CliContext) -> None:
    """Validate the configuration and print it (secrets hidden)."""
    click.echo(json.dumps(ctx.config().masked(), ensure_ascii=False, indent=2))


@main.command()
@click.option("--no-crawl", is_flag=True, help="Run no crawl scheduler (e.g. an API replica).")
@click.option("--no-mail", is_flag=True, help="Run no outbox sender nor alerting tick.")
@click.option("--no-api", is_flag=True, help="Serve no API or console.")
@click.option("--workers", default=os.cpu_count() or 2, show_default=True,
              help="Crawl worker processes (one per core).")  # fmt: skip
@click.option("--crawls-per-worker", default=CRAWLS_PER_WORKER, show_default=True,
              type=click.IntRange(0, 256),
              help="Crawls at a time per worker; 0: a process per crawl.")  # fmt: skip
@click.option("--grace", default=20.0, show_default=True,
              help="Seconds running crawls get to finish on shutdown.")  # fmt: skip
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting for every crawl.")  # fmt: skip
@click.option("--retry", default=15.0, show_default=True, type=click.FloatRange(1, 600),
              help="Seconds between attempts to reach an unreachable store at start.")  # fmt: skip
@click.pass_obj
def run(
    ctx: CliContext,
    no_crawl: bool,
    no_mail: bool,
    no_api: bool,
    workers: int,
    crawls_per_worker: int,
    grace: float,
    settings: tuple[str, ...],
    retry: float,
) -> None:
    """Run the service: crawl scheduler, outbox sender and alerting, API and console.

    Logs are JSON lines on standard error; SIGTERM or Ctrl-C stops it cleanly. Run exactly
    one process with mail; add API replicas with --no-crawl --no-mail and crawler nodes
    with --no-api --no-mail (see docs/scaling.md).
    """
    from yuqing.service import Parts, Service, ServiceError, setup_logging

    parts = Parts(crawl=not no_crawl, mail=not no_mail, api=not no_api)
    if not (parts.crawl or parts.mail or parts.api):
        raise click.UsageError("nothing to run: leave out one of --no-crawl/--no-mail/--no-api")
    config = ctx.config()
    setup_logging(redact=Redactor(config.secret_values()))
    args = crawl_args(ctx.path, settings)
    service = Service(
        config,
        lambda: store_for(config, wait_seconds=min(retry, 30.0)),
        parts,
        crawl_args=args,
        workers=workers,
        crawls_per_worker=crawls_per_worker,
        grace=grace,
        retry_seconds=retry,
    )
    try:
        service.run()
    except ServiceError as e:
        raise UserError(str(e)) from e


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(ctx: CliContext, as_json: bool) -> None:
    """The state of every part: store, API, sources and schedule, alerts, outbox, emergency."""
    from yuqing.cli.status import render
    from yuqing.status import collect, collect_without_store

    config = ctx.config()
    now = ctx.clock().now()
    try:
        store = store_for(config)
    except StoreError as e:
        state = collect_without_store(config, str(e), now)
    else:
        try:
            state = collect(config, store, now)
        except StoreError as e:
            state = collect_without_store(config, str(e), now)
        finally:
            store.close()
    click.echo(json.dumps(state, ensure_ascii=False, indent=2) if as_json else render(state))
    if not state["store"]["ok"]:
        sys.exit(1)


main.add_command(match_command)
main.add_command(discover_group)
main.add_command(keywords_group)
main.add_command(places_group)
main.add_command(sources_command)
main.add_command(crawl_command)
main.add_command(scheduler_command)
main.add_command(alerts_group)
main.add_command(outbox_command)
main.add_command(emergency_command)
main.add_command(send_outbox_command)
main.add_command(users_group)
main.add_command(channels_group)
main.add_command(routing_group)
main.add_command(store_group)
main.add_command(audit_command)
