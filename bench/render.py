"""Rendered pages against plain fetches of the same pages, in the same run.

    python bench/render.py [--pages 60] [--render-pages 2]

A local server (a thread of this process, on 127.0.0.1) serves one list of ``--pages``
static Chinese article pages (8-20 KB, no script: both crawls store the same items). Two
sources crawl it one after the other in crawl processes of their own (``yuqing.crawl``,
no matching, SQLite): ``plain`` (Scrapy's HTTP download) and ``rendered`` (``render:
true``: every list and article page through Chromium, ``YUQING_RENDER_PAGES`` at a time).
Printed: pages per second of each run (the run's own time, from its record) and of the
whole process (start-up included), and the ratio rendered / plain.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

# Run as a script, the repository root is not on sys.path; the packages live there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.scheduler import launch
from store import open_store
from store.model import Source
from yuqing.wiring import CRAWL_COMMAND

# Distinct bodies (a shared text would make every page a repost of the first).
HANZI = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能"
    "下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量"
    "都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各"
    "重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代"
)


def sentence(rng: random.Random) -> str:
    return "".join(rng.choice(HANZI) for _ in range(rng.randint(20, 40))) + "。"


def pages(count: int) -> dict[str, bytes]:
    out = {}
    links = []
    for n in range(count):
        path = f"/art/t20210301_{n}.html"
        title = f"防汛工作会议部署汛期工作之{n}"
        links.append(f"<li><a href='{path}'>{title}</a></li>")
        rng = random.Random(n)
        body = "".join(f"<p>{sentence(rng)}{sentence(rng)}</p>" for _ in range(20 + n % 30))
        out[path] = (
            f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<div class='article'><h1>{title}</h1><div class='info'>发布时间：2021-03-01 "
            f"09:30</div><div class='content'>{body}</div></div></body></html>"
        ).encode()
    out["/list/index.html"] = (
        "<html><head><meta charset='utf-8'><title>要闻</title></head><body><ul>"
        + "".join(links)
        + "</ul></body></html>"
    ).encode()
    return out


def serve(site: dict[str, bytes]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = site.get(self.path)
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--render-pages", type=int, default=2)
    parser.add_argument("-s", dest="extra", action="append", default=[], help="NAME=VALUE")
    args = parser.parse_args()
    extra = [x for pair in args.extra for x in ("-s", pair)]
    site = pages(args.pages)
    httpd, base = serve(site)
    folder = Path(tempfile.mkdtemp(prefix="yuqing-bench-render-"))
    config = folder / "yuqing.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["YUQING_CONFIG"] = str(config)
    settings = [
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=ERROR",
        "-s", "ROBOTSTXT_OBEY=false", "-s", "YUQING_MATCHER=null",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
        "-s", f"YUQING_RENDER_PAGES={args.render_pages}",
    ]  # fmt: skip
    print(f"{args.pages} article pages + 1 list; load before: {os.getloadavg()[0]:.2f}")
    print(
        f"{'crawl':<10}{'pages':>7}{'items':>7}{'run s':>8}{'pages/s':>9}"
        f"{'wall s':>8}{'wall p/s':>9}"
    )
    rates = {}
    try:
        for name, render in (("plain", False), ("rendered", True)):
            # A store each: an article URL is fetched once per store, whatever the source.
            store = open_store(f"sqlite:///{folder / name}.db")
            store.sources.put(
                Source(name, name, "list", [f"{base}/list/index.html"], 600, render=render)
            )
            store.close()
            started = time.perf_counter()
            more = env | {"YUQING_STORE": store.url}
            summary = launch(CRAWL_COMMAND, name, [*settings, *extra], more, timeout=600)
            wall = time.perf_counter() - started
            run_s = float(summary["seconds"])
            fetched = int(summary["pages"])
            rates[name] = (fetched / run_s, fetched / wall)
            print(
                f"{name:<10}{fetched:>7}{summary['items']:>7}{run_s:>8.2f}"
                f"{rates[name][0]:>9.1f}{wall:>8.2f}{rates[name][1]:>9.1f}"
            )
    finally:
        httpd.shutdown()
    run_ratio = rates["rendered"][0] / rates["plain"][0]
    wall_ratio = rates["rendered"][1] / rates["plain"][1]
    print(f"rendered / plain: {run_ratio:.2f}x (run), {wall_ratio:.2f}x (wall)")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
