"""``yuqing store``: the store's indices — time-based indices, replicas, retention."""

from __future__ import annotations

from typing import Literal

import click
from elasticsearch import ApiError

from store import StoreError
from store.elastic import ElasticStore
from yuqing.cli.context import CliContext
from yuqing.cli.errors import UserError
from yuqing.cli.words import say, text


@click.group("store")
def store_group() -> None:
    """The store's indices: migration to time-based indices, replicas, retention."""


def _elastic(ctx: CliContext, what: str) -> ElasticStore:
    store = ctx.store()
    if not isinstance(store, ElasticStore):
        store.close()
        raise UserError(f"{what} works only with an Elasticsearch store, not {store.url}")
    return store


@store_group.command("migrate")
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(10, 10_000),
              help="Items moved per round.")  # fmt: skip
@click.pass_obj
def store_migrate(ctx: CliContext, batch: int) -> None:
    """Move items from one index (an earlier yuqing) into time-based indices.

    Safe to stop at any point and to run again; yuqing may keep running meanwhile.
    """
    from store.elastic.generations import MigrationReport

    store = _elastic(ctx, "yuqing store migrate")

    def progress(report: MigrationReport) -> None:
        say("moved {moved}, {left} left", err=True, moved=report.moved, left=report.left)

    try:
        report = store.items.generations.migrate(batch=batch, progress=progress)
    except KeyboardInterrupt:
        raise UserError("interrupted: run yuqing store migrate again to go on from there") from None
    except (StoreError, ApiError) as e:
        raise UserError(f"the migration failed (run it again to go on): {e}") from e
    finally:
        store.close()
    if not report.legacy:
        say("nothing to migrate: the items are in time-based indices already")
    elif report.done:
        into = ", ".join(report.archives) or "-"
        say("migrated: {moved} item(s) moved into {archives}", moved=report.moved, archives=into)
    else:
        say(
            "{left} item(s) left (written during the migration): run yuqing store migrate again",
            left=report.left,
        )


@store_group.command("replicas")
@click.argument("count")
@click.pass_obj
def store_replicas(ctx: CliContext, count: str) -> None:
    """Set the replicas of every index of the store to COUNT (0-8, or auto: one as soon
    as the cluster has two nodes). New indices of items follow."""
    from store.elastic.replication import set_replicas

    wanted: int | Literal["auto"]
    if count == "auto":
        wanted = "auto"
    elif count.isdigit() and int(count) <= 8:
        wanted = int(count)
    else:
        raise click.BadParameter(
            text("replicas are 0-8 or auto, not {count!r}", count=count), param_hint="COUNT"
        )
    store = _elastic(ctx, "yuqing store replicas")
    try:
        names = set_replicas(store, wanted)
        nodes = int(store.es.cluster.health()["number_of_data_nodes"])
    except ApiError as e:
        raise UserError(f"cannot change the replicas: {e}") from e
    finally:
        store.close()
    say("replicas of {n} index(es) set to {wanted}", n=len(names), wanted=wanted)
    if isinstance(wanted, int) and wanted >= nodes:
        say(
            "note: the cluster has {nodes} data node(s), {wanted} replica(s) cannot all be "
            "allocated",
            err=True,
            nodes=nodes,
            wanted=wanted,
        )


@store_group.command("maintain")
@click.option("--rollover", is_flag=True, help="Start a new generation of items now.")
@click.pass_obj
def store_maintain(ctx: CliContext, rollover: bool) -> None:
    """Apply the items' lifecycle now: roll over if due, delete generations past the
    retention (yuqing also does this by itself every few minutes while it stores items)."""
    store = _elastic(ctx, "yuqing store maintain")
    try:
        done = store.items.generations.maintain(force=rollover)
    except ApiError as e:
        raise UserError(f"the maintenance failed: {e}") from e
    finally:
        store.close()
    say(
        "new generation: {rolled}; deleted: {deleted}",
        rolled=done["rolled_over"] or text("none"),
        deleted=", ".join(done["deleted"]) or text("none"),
    )
