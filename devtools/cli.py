"""``yuqing-dev``: the demo, the mail catcher, the fake chat and SMS platforms, the demo
site and the local Elasticsearch node. Tools for trying and developing yuqing; the
service never needs them."""

from __future__ import annotations

import signal
import sys
import threading

import click

from devtools import eslocal
from devtools.demo import demo_command
from devtools.demosite import main as serve_demo
from devtools.fakeplatforms import FakePlatforms, demo_channels
from devtools.mailcatcher import MailCatcher
from store.acting import Acting


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="yuqing configuration file (default: $YUQING_CONFIG or ./yuqing.toml if present).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Development tools for yuqing (舆情): demo, mail catcher, local Elasticsearch."""
    ctx.obj = config_path


@main.group("es-local")
def es_local() -> None:
    """This checkout's Elasticsearch node for tests and trials (from Maven Central)."""


@es_local.command("start")
@click.option("--port", type=int, help="Default: the last one, else 9200, else any free port.")
@click.option("--heap", default="512m", show_default=True, help="JVM heap, e.g. 1g.")
def es_start(port: int | None, heap: str) -> None:
    """Start the node (reusing the download and a running node) and print its URL."""
    try:
        node = eslocal.start(port=port, heap=heap)
    except eslocal.EsLocalError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"Elasticsearch {eslocal.ES_VERSION} listening on {node.url} (pid {node.pid})")


@es_local.command("stop")
def es_stop() -> None:
    """Stop this checkout's node (never another's)."""
    click.echo("stopped" if eslocal.stop() else "not running")


@es_local.command("status")
def es_status() -> None:
    """Print the node's URL; exit 1 if it is not running."""
    node = eslocal.status()
    if node is None:
        click.echo("not running")
        sys.exit(1)
    click.echo(node.url)


@main.command("mail-catcher")
@click.option("--port", default=8025, show_default=True)
@click.option("--dir", "folder", default="var/mail", show_default=True,
              type=click.Path(file_okay=False), help="Folder of .eml files.")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (in a container: 0.0.0.0).")  # fmt: skip
def mail_catcher(port: int, folder: str, host: str) -> None:
    """Accept every email over SMTP and keep it as an .eml file (demo and trials)."""
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


@main.command("fake-platforms")
@click.option("--port", default=8640, show_default=True)
@click.option("--configure", is_flag=True,
              help="Add one channel of each kind at them to the configured store, and route "
              "every alert there.")  # fmt: skip
@click.pass_obj
def fake_platforms(config_path: str | None, port: int, configure: bool) -> None:
    """Local stand-ins for 企业微信, 钉钉, 飞书, 阿里云短信, an SMS gateway and a webhook
    receiver on 127.0.0.1 (trials without the real platforms); prints what they accept."""
    from monitor.alerts.delivery import save_channel, save_routing
    from yuqing.config import ConfigError, load
    from yuqing.wiring import clock_for, store_for

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        fakes = FakePlatforms(port).start()
    except OSError as e:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {e}") from e
    channels = demo_channels(fakes)
    if configure:
        try:
            config = load(config_path)
        except ConfigError as e:
            raise click.ClickException(str(e)) from e
        store = store_for(config)
        acting = Acting("yuqing-dev", store, clock_for(config))
        try:
            for c in channels:
                save_channel(acting, c["id"], c["kind"], c["name"], c.get("settings", {}),
                             c["secrets"])  # fmt: skip
            to = [{"channel": c["id"], **({"to": c["to"]} if "to" in c else {})} for c in channels]
            save_routing(acting, {"routes": [{"name": "演示：全部渠道", "to": to}]})
        finally:
            store.close()
        click.echo(f"configured {len(channels)} channels in {config.store.url}")
    click.echo(f"fake platforms on {fakes.url}")
    seen = 0
    try:
        while not stop.wait(0.5):
            for got in fakes.received[seen:]:
                click.echo(f"{got.platform:<9} {got.robot:<14} {str(got.body)[:160]}")
            seen = len(fakes.received)
    except KeyboardInterrupt:
        pass
    finally:
        fakes.stop()


@main.command(
    "demo-site",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def demo_site(args: tuple[str, ...]) -> None:
    """Serve the local demo site on 127.0.0.1 (--port, --seed, --drip SECONDS; -h for help)."""
    sys.exit(serve_demo(list(args)))


main.add_command(demo_command)
