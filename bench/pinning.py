"""What address pinning (crawler/pinning.py) costs a crawl: a bare Scrapy spider
downloading small pages from a local server by host name, with Scrapy's caching resolver
(baseline) and with the pinning resolver and middleware, alternated in the same run.

    python bench/pinning.py [--pages 3000] [--rounds 3]

The name is ``localhost``; the pinned runs treat 10.0.0.0/8 as internal so that its
127.0.0.1 passes the check (traffic stays on 127.0.0.1). Prints pages per second of wall
time and of the spider process's CPU time per round, the medians, and the medians of the
rounds' ratios (pinned / baseline of the same round; 1.00 means no cost). CPU time is
what a busy machine disturbs least."""

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
import crawler.pinning  # imported before timing in both modes (a crawl imports it anyway)
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
start, cpu = time.perf_counter(), time.process_time()
p.crawl(Bare); p.start()
print(pages / (time.perf_counter() - start), pages / (time.process_time() - cpu))
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


def run(base: str, pages: int, pinned: bool) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", SPIDER, base, str(pages), "1" if pinned else "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


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
        results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for n in range(args.rounds):
            for pinned in (False, True):
                wall, cpu = run(base, args.pages, pinned)
                results[pinned].append((wall, cpu))
                label = "pinned  " if pinned else "baseline"
                print(f"round {n + 1} {label} {wall:8.1f} pages/s {cpu:8.1f} pages/CPU-s")
        print(f"\n| run | pages/s | pages/CPU-s | (medians of {args.rounds}) |")
        print("|---|---|---|---|")
        for pinned, label in ((False, "Scrapy's caching resolver"), (True, "pinning")):
            wall = statistics.median(w for w, _ in results[pinned])
            cpu = statistics.median(c for _, c in results[pinned])
            print(f"| {label} | {wall:.1f} | {cpu:.1f} | |")
        pairs = list(zip(results[False], results[True], strict=True))
        wall_ratio = statistics.median(p[0] / b[0] for b, p in pairs)
        cpu_ratio = statistics.median(p[1] / b[1] for b, p in pairs)
        print(f"| pinned / baseline, paired by round | {wall_ratio:.2f} | {cpu_ratio:.2f} | |")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
