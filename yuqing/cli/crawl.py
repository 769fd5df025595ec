"""``yuqing sources``, ``yuqing crawl SOURCE_ID`` and ``yuqing scheduler``."""

from __future__ import annotations

import json
import os
import signal
import threading
from datetime import datetime
from typing import Any

import click

from crawler import health
from crawler.dates import SHANGHAI
from crawler.operations import request_run, seed_sources
from crawler.sources import SourceError, load_sources
from store import NotFound
from yuqing.cli.errors import Interrupted, UserError
from yuqing.cli.words import pad, say, text
from yuqing.wiring import CRAWL_COMMAND, crawl_args


def _when(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%m-%d %H:%M") if value else "-"


@click.command("sources")
# ``yuqing sources list`` reads as ``yuqing alerts list`` and ``yuqing users list`` do.
@click.argument("action", required=False, type=click.Choice(["list"]))
@click.option("--seed", "seed_file", type=click.Path(dir_okay=False, exists=True),
              help="Add the sources of this YAML file that the store lacks.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def sources_command(
    ctx: click.Context, action: str | None, seed_file: str | None, as_json: bool
) -> None:
    """List crawl sources and their health (the embedded default seeds an empty store):
    ``yuqing sources`` or ``yuqing sources list``."""
    store = ctx.obj.store()
    try:
        try:
            if seed_file or not store.sources.list():
                added = seed_sources(ctx.obj.acting(store), load_sources(seed_file))
                if added and not as_json:
                    if seed_file:
                        say("added {n} source(s) from {path}", n=len(added), path=seed_file)
                    else:
                        say("added {n} default source(s)", n=len(added))
        except SourceError as e:
            raise UserError(str(e)) from e
        sources = store.sources.list()
        runs = store.runs.recent_many([s.id for s in sources], 50)
        rows = [(s, health.assess(s.id, runs[s.id])) for s in sources]
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([_row(s, h) for s, h in rows], ensure_ascii=False, indent=2))
        return
    # The columns of the rows below (their widths: 16, 8, 7 right, 12, 9, 12, 6, 5, 6, 7).
    say(
        "source          type      every  last run    outcome  "
        "last ok      fails  new empty   FFFD  problems"
    )
    for source, h in rows:
        last = h.last_run
        every = f"{source.interval // 60}m" if source.enabled else text("off")
        started = last.started if last else None
        click.echo(
            f"{source.id:<16}{source.type:<8}{pad(every, 7, right=True)}  {_when(started):<12}"
            f"{last.outcome if last else '-':<9}{_when(h.last_success):<12}"
            f"{h.consecutive_failures:>6}{last.new_items if last else 0:>5}{h.empty_runs:>6}"
            f"{h.replacement_share:>7.2%}  {'; '.join(h.problems.values()) or text('ok')}"
        )


def _row(source: Any, h: health.Health) -> dict[str, Any]:
    last = h.last_run
    return {
        "id": source.id,
        "type": source.type,
        "enabled": source.enabled,
        "interval": source.interval,
        "last_run": last.started.isoformat() if last else None,
        "outcome": last.outcome if last else None,
        "last_success": h.last_success.isoformat() if h.last_success else None,
        "consecutive_failures": h.consecutive_failures,
        "empty_runs": h.empty_runs,
        "parse_failures": h.parse_failures,
        "replacement_share": h.replacement_share,
        "blocked": h.blocked,
        "problems": h.problems,
    }


@click.command("crawl")
@click.argument("source_id")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting for this run.")  # fmt: skip
@click.pass_context
def crawl_command(ctx: click.Context, source_id: str, settings: tuple[str, ...]) -> None:
    """Run one source now (in its own process, as the scheduler would). Ctrl-C stops
    the crawl at once (rendered pages in flight included); its run is recorded
    ``abandoned``."""
    from crawler.scheduler import launch

    summary: dict[str, Any] = {}

    def start(source: str) -> bool:
        args = crawl_args(ctx.obj.path, settings)
        summary.update(launch(CRAWL_COMMAND, source, args, interruptible=True))
        return True

    store = ctx.obj.store()
    try:
        request_run(ctx.obj.acting(store), source_id, start)
    except NotFound as e:
        raise UserError(str(e)) from e
    finally:
        store.close()
    click.echo(json.dumps(summary, ensure_ascii=False))
    if summary.get("interrupted"):
        outcome = summary.get("outcome")
        raise Interrupted(
            f"interrupted: the crawl of source {source_id} has stopped; its run is recorded "
            f"{outcome}"
        )
    if summary["exit"]:
        raise SystemExit(summary["exit"])


@click.command("scheduler")
@click.option("--workers", default=os.cpu_count() or 2, show_default=True,
              help="Crawl processes at a time.")  # fmt: skip
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting for every run.")  # fmt: skip
@click.pass_context
def scheduler_command(ctx: click.Context, workers: int, settings: tuple[str, ...]) -> None:
    """Run the crawl scheduler in the foreground until interrupted."""
    from crawler.scheduler import CrawlScheduler

    store = ctx.obj.store()
    if not store.sources.list():
        seed_sources(ctx.obj.acting(store), load_sources())
    scheduler = CrawlScheduler(
        store,
        CRAWL_COMMAND,
        workers=workers,
        args=crawl_args(ctx.obj.path, settings),
        clock=ctx.obj.clock(),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler.start()
    say(
        "scheduling {n} source(s) on {store}; Ctrl-C stops",
        n=len(scheduler.intervals),
        store=store.display_url,
    )
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown()
        store.close()
