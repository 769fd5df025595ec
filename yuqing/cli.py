"""The ``yuqing`` command."""

from __future__ import annotations

import json
import sys

import click

from crawler.cli import crawl_command, scheduler_command, sources_command
from keywords.cli import keywords_group, match_command
from monitor.alerts.cli import (
    alerts_group,
    emergency_command,
    outbox_command,
    send_outbox_command,
)
from store import Store, StoreError
from yuqing import eslocal
from yuqing.config import Config, ConfigError, load


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
@click.pass_obj
def run(ctx: _Context) -> None:
    """Run the service on the configured store (the API and console for now)."""
    import waitress

    from api import create_app

    config = ctx.config()
    store = ctx.store()
    app = create_app(config, store)
    click.echo(f"yuqing on {store.url}: http://{config.api.host}:{config.api.port}/api/health")
    try:
        waitress.serve(app, host=config.api.host, port=config.api.port, threads=8)
    finally:
        store.close()


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
