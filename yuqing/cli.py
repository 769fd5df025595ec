"""The ``yuqing`` command."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import Literal

import click
from elasticsearch import ApiError

from api.cli import users_group
from crawler.cli import crawl_command, scheduler_command, sources_command
from keywords.cli import keywords_group, match_command
from monitor.alerts.cli import (
    alerts_group,
    emergency_command,
    outbox_command,
    send_outbox_command,
)
from store import Store, StoreError
from store.elastic import ElasticStore
from yuqing import eslocal
from yuqing.config import Config, ConfigError, load
from yuqing.demo import demo_command


class _Context:
    def __init__(self, path: str | None) -> None:
        self.path = path

    def config(self) -> Config:
        try:
            return load(self.path)
        except ConfigError as e:
            raise click.ClickException(str(e)) from e

    def store(self) -> Store:
        """The configured store; a clear error if it cannot be opened."""
        from yuqing.runtime import store_for

        try:
            return store_for(self.config())
        except StoreError as e:
            raise click.ClickException(str(e)) from e


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Configuration file (default: $YUQING_CONFIG or ./yuqing.toml if present).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """yuqing (舆情): crawl, match a sensitive-keyword library, alert operators."""
    ctx.obj = _Context(config_path)


@main.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@click.pass_obj
def config_check(ctx: _Context) -> None:
    """Validate the configuration and print it (secrets hidden)."""
    click.echo(json.dumps(ctx.config().masked(), ensure_ascii=False, indent=2))


@main.group("es-local")
def es_local() -> None:
    """A local Elasticsearch node for tests and trials (fetched from Maven Central)."""


@es_local.command("start")
@click.option("--port", default=eslocal.DEFAULT_PORT, show_default=True)
@click.option("--heap", default="512m", show_default=True, help="JVM heap, e.g. 1g.")
def es_start(port: int, heap: str) -> None:
    """Start the node (reusing the download and a running node) and print its URL."""
    try:
        node = eslocal.start(port=port, heap=heap)
    except eslocal.EsLocalError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"Elasticsearch {eslocal.ES_VERSION} listening on {node.url} (pid {node.pid})")


@es_local.command("stop")
def es_stop() -> None:
    """Stop the node."""
    click.echo("stopped" if eslocal.stop() else "not running")


@es_local.command("status")
def es_status() -> None:
    """Print the node's URL; exit 1 if it is not running."""
    node = eslocal.status()
    if node is None:
        click.echo("not running")
        sys.exit(1)
    click.echo(node.url)


@main.command()
@click.option("--no-crawl", is_flag=True, help="Run no crawl scheduler (e.g. an API replica).")
@click.option("--no-mail", is_flag=True, help="Run no outbox sender nor alerting tick.")
@click.option("--no-api", is_flag=True, help="Serve no API or console.")
@click.option("--workers", default=os.cpu_count() or 2, show_default=True,
              help="Crawl processes at a time.")  # fmt: skip
@click.option("--grace", default=20.0, show_default=True,
              help="Seconds running crawls get to finish on shutdown.")  # fmt: skip
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting for every crawl.")  # fmt: skip
@click.pass_obj
def run(
    ctx: _Context,
    no_crawl: bool,
    no_mail: bool,
    no_api: bool,
    workers: int,
    grace: float,
    settings: tuple[str, ...],
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
    setup_logging()
    args = ["--config", ctx.path] if ctx.path else []
    for pair in settings:
        args += ["-s", pair]
    service = Service(config, ctx.store(), parts, crawl_args=args, workers=workers, grace=grace)
    try:
        service.run()
    except ServiceError as e:
        raise click.ClickException(str(e)) from e


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(ctx: _Context, as_json: bool) -> None:
    """The state of every part: store, API, sources and schedule, alerts, outbox, emergency."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from yuqing.status import collect, render

    config = ctx.config()
    store = ctx.store()
    try:
        state = collect(config, store, datetime.now(ZoneInfo(config.timezone)))
    except StoreError as e:
        raise click.ClickException(f"store {store.url}: {e}") from e
    finally:
        store.close()
    click.echo(json.dumps(state, ensure_ascii=False, indent=2) if as_json else render(state))


@main.group("store")
def store_group() -> None:
    """The store's indices: migration to time-based indices, replicas, retention."""


def _elastic(ctx: _Context, what: str) -> ElasticStore:
    store = ctx.store()
    if not isinstance(store, ElasticStore):
        store.close()
        raise click.ClickException(f"{what}只适用于 Elasticsearch 存储，当前是 {store.url}")
    return store


@store_group.command("migrate")
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(10, 10_000),
              help="Items moved per round.")  # fmt: skip
@click.pass_obj
def store_migrate(ctx: _Context, batch: int) -> None:
    """Move items from one index (an earlier yuqing) into time-based indices.

    Safe to stop at any point and to run again; yuqing may keep running meanwhile.
    """
    from store.elastic.generations import MigrationReport

    store = _elastic(ctx, "迁移")

    def progress(report: MigrationReport) -> None:
        click.echo(f"已迁移 {report.moved} 条，剩余 {report.left} 条", err=True)

    try:
        report = store.items.generations.migrate(batch=batch, progress=progress)
    except KeyboardInterrupt:
        raise click.ClickException("已中断：再次运行 yuqing store migrate 即从中断处继续") from None
    except (StoreError, ApiError) as e:
        raise click.ClickException(f"迁移失败（再次运行即继续）：{e}") from e
    finally:
        store.close()
    if not report.legacy:
        click.echo("无需迁移：信息已在按时间分代的索引中")
    elif report.done:
        click.echo(f"迁移完成：{report.moved} 条移入 {', '.join(report.archives) or '-'}")
    else:
        click.echo(f"尚余 {report.left} 条（迁移期间有新写入）：请再次运行 yuqing store migrate")


@store_group.command("replicas")
@click.argument("count")
@click.pass_obj
def store_replicas(ctx: _Context, count: str) -> None:
    """Set the replicas of every index of the store to COUNT (0-8, or auto: one as soon
    as the cluster has two nodes). New indices of items follow."""
    from store.elastic.replication import set_replicas

    wanted: int | Literal["auto"]
    if count == "auto":
        wanted = "auto"
    elif count.isdigit() and int(count) <= 8:
        wanted = int(count)
    else:
        raise click.BadParameter(f"副本数应为 0-8 或 auto，而不是 {count!r}", param_hint="COUNT")
    store = _elastic(ctx, "副本设置")
    try:
        names = set_replicas(store, wanted)
        nodes = int(store.es.cluster.health()["number_of_data_nodes"])
    except ApiError as e:
        raise click.ClickException(f"无法修改副本数：{e}") from e
    finally:
        store.close()
    click.echo(f"{len(names)} 个索引的副本数已设为 {wanted}")
    if isinstance(wanted, int) and wanted >= nodes:
        click.echo(f"注意：集群只有 {nodes} 个数据节点，{wanted} 个副本无法全部分配", err=True)


@store_group.command("maintain")
@click.option("--rollover", is_flag=True, help="Start a new generation of items now.")
@click.pass_obj
def store_maintain(ctx: _Context, rollover: bool) -> None:
    """Apply the items' lifecycle now: roll over if due, delete generations past the
    retention (yuqing also does this by itself every few minutes while it stores items)."""
    store = _elastic(ctx, "生命周期维护")
    try:
        done = store.items.generations.maintain(force=rollover)
    except ApiError as e:
        raise click.ClickException(f"维护失败：{e}") from e
    finally:
        store.close()
    deleted = ", ".join(done["deleted"]) or "无"
    click.echo(f"新一代索引：{done['rolled_over'] or '无'}；删除：{deleted}")


@main.command("mail-catcher")
@click.option("--port", default=8025, show_default=True)
@click.option("--dir", "folder", default="var/mail", show_default=True,
              type=click.Path(file_okay=False), help="Folder of .eml files.")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (in a container: 0.0.0.0).")  # fmt: skip
def mail_catcher(port: int, folder: str, host: str) -> None:
    """Accept every email over SMTP and keep it as an .eml file (demo and trials)."""
    from yuqing.mailcatcher import MailCatcher

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        catcher = MailCatcher(folder, port=port, host=host).start()
    except (OSError, RuntimeError) as e:
        raise click.ClickException(f"cannot listen on {host}:{port}: {e}") from e
    click.echo(f"mail catcher on {host}:{port}, keeping messages in {folder}/")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        catcher.stop()


@main.command(
    "demo-site",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def demo_site(args: tuple[str, ...]) -> None:
    """Serve the local demo site on 127.0.0.1 (--port, --seed, --drip SECONDS; -h for help)."""
    from crawler.demosite import main as serve_demo

    sys.exit(serve_demo(list(args)))


main.add_command(match_command)
main.add_command(keywords_group)
main.add_command(sources_command)
main.add_command(crawl_command)
main.add_command(scheduler_command)
main.add_command(alerts_group)
main.add_command(outbox_command)
main.add_command(emergency_command)
main.add_command(send_outbox_command)
main.add_command(users_group)
main.add_command(demo_command)
