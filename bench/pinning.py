"""What address pinning (crawler/pinning.py) costs a crawl: a bare Scrapy spider
downloading small pages from a local server by host name, with Scrapy's caching resolver
(baseline) and with the pinning resolver and middleware, alternated in the same run.

    python bench/pinning.py [--pages 3000] [--rounds 3]

The name is ``localhost``; the pinned runs treat 10.0.0.0/8 as internal so that its
127.0.0.1 passes the check (traffic stays on 127.0.0.1). Prints pages/s per round, the
medians, and the median of the rounds' ratios (pinned / baseline of the same round; 1.00
means no cost), which a busy machine disturbs less than either median."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BODY = b"<html><body>" + "新闻".encode() * 1000 + b"</body></html>"

SPIDER = """
import sys, time, scrapy
from scrapy.crawler import CrawlerProcess
base, pages, pinned = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
class Bare(scrapy.Spider):
    name = "bare"
    async def start(self):
        for n in range(pages):
            yield scrapy.Request(f"{base}/a/{n}.html", callback=self.parse)
    def parse(self, response):
        return None
settings = {"LOG_LEVEL": "ERROR", "CONCURRENT_REQUESTS": 16, "HTTPPROXY_ENABLED": False,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 16, "TELNETCONSOLE_ENABLED": False}
if pinned:
    settings |= {
        "TWISTED_DNS_RESOLVER": "crawler.pinning.PinningResolver",
        "DOWNLOADER_MIDDLEWARES": {"crawler.pinning.PinningMiddleware": 60},
        "YUQING_INTERNAL_NETWORKS": ["10.0.0.0/8"],
    }
p = CrawlerProcess(settings)
start = time.perf_counter(); p.crawl(Bare); p.start()
print(pages / (time.perf_counter() - start))
"""


def serve(ready: multiprocessing.Queue[int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        head += b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n"
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(head + BODY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ready.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def run(base: str, pages: int, pinned: bool) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SPIDER, base, str(pages), "1" if pinned else "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ready: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ready,), daemon=True)
    server.start()
    try:
        base = f"http://localhost:{ready.get(timeout=30)}"
        results: dict[bool, list[float]] = {False: [], True: []}
        for n in range(args.rounds):
            for pinned in (False, True):
                rate = run(base, args.pages, pinned)
                results[pinned].append(rate)
                label = "pinned  " if pinned else "baseline"
                print(f"round {n + 1} {label} {rate:8.1f} pages/s", flush=True)
        base_rate, pinned_rate = (statistics.median(results[k]) for k in (False, True))
        paired = statistics.median(
            p / b for b, p in zip(results[False], results[True], strict=True)
        )
        print(f"\n| run | pages/s (median of {args.rounds}) | ratio |")
        print("|---|---|---|")
        print(f"| Scrapy's caching resolver | {base_rate:.1f} | 1.00 |")
        print(f"| pinning resolver + middleware | {pinned_rate:.1f} | {paired:.2f} (paired) |")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
