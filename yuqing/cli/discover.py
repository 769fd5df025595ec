"""``yuqing discover``: emerging terms, unmatched clusters and keyword suggestions from the
terminal; ``accept`` and ``dismiss`` act on a suggestion as the console does."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import click

from keywords.validate import InvalidLibrary
from monitor.discovery import operations
from monitor.discovery.run import discover, run_and_save
from monitor.discovery.segment import segmenter
from store import ConflictError, Invalid, NotFound
from yuqing.cli.errors import UserError
from yuqing.cli.words import pad, say
from yuqing.discovery import settings_for


@click.group("discover", invoke_without_command=True)
@click.option("--window-hours", type=click.IntRange(1, 24 * 7), help="The recent window.")
@click.option("--baseline-days", type=click.IntRange(1, 90), help="The baseline before it.")
@click.option(
    "--segmenter", "seg", type=click.Choice(["ngram", "jieba"]), default="ngram",
    show_default=True, help="Candidate terms: character n-grams, or jieba's words.",
)  # fmt: skip
@click.option("--save", is_flag=True, help="Keep the report as the latest (the console's).")
@click.option("--json", "as_json", is_flag=True, help="The whole report as JSON.")
@click.pass_context
def discover_group(
    ctx: click.Context,
    window_hours: int | None,
    baseline_days: int | None,
    seg: str,
    save: bool,
    as_json: bool,
) -> None:
    """Run discovery now over the watched regions (the library's region groups) and print
    what it found."""
    if ctx.invoked_subcommand is not None:
        return
    config = ctx.obj.config().discovery
    settings = settings_for(config)
    if window_hours:
        settings = replace(settings, window=timedelta(hours=window_hours))
    if baseline_days:
        settings = replace(settings, baseline=timedelta(days=baseline_days))
    clock = ctx.obj.clock()
    store = ctx.obj.store()
    try:
        try:
            chosen = segmenter(seg)
        except ImportError as e:
            raise UserError(f"--segmenter {seg}: {e.name} is not installed") from e
        now = clock.now()
        if save and seg == "ngram":
            report = run_and_save(store, now=now, settings=settings)
        else:
            report = discover(store, now=now, settings=settings, segmenter=chosen)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(report.to_data(), ensure_ascii=False, indent=2, default=str))
        return
    zone = clock.zone
    say(
        "{now} {zone}  window {window} items, baseline {baseline}, regions: {regions}  "
        "({seconds:.1f} s)",
        now=f"{report.now.astimezone(zone):%Y-%m-%d %H:%M}",
        zone=zone,
        window=report.window_docs,
        baseline=report.baseline_docs,
        regions=", ".join(report.regions) or "*",
        seconds=report.seconds,
    )
    say("terms:")
    for t in report.terms:
        # Padded by columns: a term is Chinese, two columns a character.
        click.echo(f"  {pad(t.term, 10)} {t.window_df:>5} / {t.baseline_df:<6} G2 {t.g2:>8.1f}")
    say("clusters:")
    for c in report.clusters:
        click.echo(f"  {c.items:>4}  {c.titles[0]}")
    say("suggestions:")
    for s in report.suggestions:
        preview = s["preview"] or {}
        fired = ", ".join(f"{r['rule']} +{r['added']}" for r in preview.get("rules", []))
        click.echo(f"  {pad(s['term'], 10)} -> {s['group'] or '?'}  {fired}")


@discover_group.command("accept")
@click.argument("term")
@click.option("--group", required=True, help="The group the word joins.")
@click.option("--parent", type=int, help="The library version you read (default: current).")
@click.option("--actor", help="Who accepts (audited; default: your login).")
@click.pass_context
def discover_accept(
    ctx: click.Context, term: str, group: str, parent: int | None, actor: str | None
) -> None:
    """Add TERM to GROUP (a new library version, audited)."""
    store = ctx.obj.store()
    try:
        acting = ctx.obj.acting(store, actor)
        version = operations.library_version(acting) if parent is None else parent
        change = operations.accept(acting, term, group, parent=version)
        say(
            "{term} added to {group}: library version {version}",
            term=term,
            group=group,
            version=change.version.version,
        )
    except (Invalid, NotFound, ConflictError) as e:
        raise UserError(str(e)) from e
    except InvalidLibrary as e:
        raise UserError(str(e)) from e
    finally:
        store.close()


@discover_group.command("dismiss")
@click.argument("term")
@click.option("--window-df", type=click.IntRange(0), default=0, help="Items holding it now.")
@click.option("--actor", help="Who dismisses (audited; default: your login).")
@click.pass_context
def discover_dismiss(ctx: click.Context, term: str, window_df: int, actor: str | None) -> None:
    """Do not suggest TERM again unless it bursts again."""
    store = ctx.obj.store()
    try:
        if not window_df:
            latest = store.discovery.latest_report()
            found = [t for t in (latest.data["terms"] if latest else []) if t["term"] == term]
            window_df = found[0]["window_df"] if found else 0
        operations.dismiss(ctx.obj.acting(store, actor), term, window_df=window_df)
        say("{term} dismissed", term=term)
    except Invalid as e:
        raise UserError(e.message) from e
    finally:
        store.close()
