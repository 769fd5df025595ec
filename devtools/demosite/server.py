"""Running the site: in a background thread for tests, or standalone for demos."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_app
from .site import DemoSite


class _QuietHandler(WSGIRequestHandler):
    """Skips the per-request stderr line; the site's own request log has the details."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def serve(
    host: str = "127.0.0.1", port: int = 0, *, app: Flask | None = None, quiet: bool = True
) -> tuple[BaseWSGIServer, str]:
    """Serve ``app`` (default: a fresh ``create_app()``) from a daemon thread.

    Returns the server and its base URL without trailing slash, e.g.
    ``http://127.0.0.1:41234``. Port 0 picks a free port. Stop it with
    ``server.shutdown(); server.server_close()``.
    """
    app = app or create_app()
    handler = _QuietHandler if quiet else WSGIRequestHandler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    url = f"http://{host}:{server.server_port}"
    cast(DemoSite, app.extensions["demosite"]).base_url = url
    threading.Thread(target=server.serve_forever, name="demosite", daemon=True).start()
    return server, url


def start_drip(site: DemoSite, interval: float, stop: threading.Event) -> threading.Thread:
    """Publish the next scheduled article every ``interval`` seconds until ``stop`` is set."""

    def run() -> None:
        while not stop.wait(interval):
            site.publish_scheduled()

    thread = threading.Thread(target=run, name="demosite-drip", daemon=True)
    thread.start()
    return thread


def main(argv: Sequence[str] | None = None) -> int:
    """``yuqing-dev demo-site``: serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="yuqing-dev demo-site",
        description="Serve the fictional 潼南 demo news site, government portal and forum on"
        " 127.0.0.1: the fixed 2021 site the tests know, or with --world the living demo world.",
    )
    parser.add_argument("--port", type=int, default=8610, help="port (0 picks a free one)")
    parser.add_argument("--seed", type=int, default=0, help="content seed")
    parser.add_argument(
        "--drip", type=float, metavar="SECONDS", help="publish a new story every SECONDS"
    )
    parser.add_argument(
        "--world",
        metavar="FOLDER",
        help="serve the living demo world (incidents that grow, for hours), its state in FOLDER",
    )
    args = parser.parse_args(argv)

    app = create_app(seed=args.seed, live=bool(args.world))
    site = cast(DemoSite, app.extensions["demosite"])
    server, url = serve(port=args.port, app=app, quiet=False)
    stop = threading.Event()
    if args.world:
        from .world import World  # the fixed site needs none of it

        World(site, site.clock, Path(args.world), seed=args.seed).run(stop)
    elif args.drip:
        start_drip(site, args.drip, stop)
    print(f"demo site serving at {url}/ (Ctrl-C to stop)", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
    return 0
