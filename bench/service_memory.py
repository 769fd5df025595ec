"""Memory of the running service over hours: ``yuqing-dev demo`` as an operator runs it.

    python bench/service_memory.py [--minutes 120] [--speed 10] [--every 60]

The demo (its living world of news, government notices and forum threads with an incident
about every six business minutes, the mail catcher, the sample keyword library and
``yuqing run`` with its long-lived crawl workers) runs in a temporary folder on free
ports. Every ``--every`` seconds the resident memory of each of its processes is read from
``/proc``: the service (scheduler, API, alerting), each crawl worker (a recycled worker is
a new process) and the demo itself (world, site and mail catcher). Printed: the memory at
each tenth of the run, the growth per hour over the second half (a leak shows there, not
in the warm-up), how many crawls ran and items were stored, and how many workers were
recycled. The service's discovery job (hourly, over the items of its 24-hour window) reads
a whole window at each run and the allocator keeps what it peaked at: each run is marked
in the table, the service's step across it printed with the window's size, and its growth
outside those steps given apart. ``--speed`` runs the demo's clock faster: more crawls and
incidents per hour.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children() -> dict[int, list[int]]:
    """Parent pid -> child pids, for every process on the machine now."""
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        # The command name in brackets may hold spaces; the parent pid follows it.
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        out.setdefault(parent, []).append(int(entry.name))
    return out


def tree(root: int) -> list[int]:
    kids, out, todo = children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def role(pid: int) -> str | None:
    """Which part of the demo ``pid`` is, from its command line (None: not ours to count)."""
    try:
        argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    words = [a.decode(errors="replace") for a in argv if a]
    if "--worker" in words:
        return "worker"
    if "run" in words and any(w.endswith("yuqing") for w in words):
        return "service"
    if "demo" in words:
        return "demo"
    return None


def rss_mb(pid: int) -> float:
    try:
        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def sample(root: int) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {"demo": {}, "service": {}, "worker": {}}
    for pid in tree(root):
        kind = role(pid)
        if kind is not None:
            out[kind][pid] = rss_mb(pid)
    return out


def read_log(log: Path) -> tuple[int, int, dict[str, int], list[tuple[float, int]]]:
    """Crawls, new items and crawl outcomes from the service's JSON log, and its
    discovery runs (when, as a Unix time, and the documents of the window)."""
    crawls = items = 0
    outcomes: dict[str, int] = {}
    discoveries: list[tuple[float, int]] = []
    if not log.exists():
        return crawls, items, outcomes, discoveries
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("event") == "crawl":
            crawls += 1
            items += int(event.get("new_items") or 0)
            outcome = str(event.get("outcome"))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        elif event.get("event") == "discovery":
            at = datetime.fromisoformat(str(event["time"])).timestamp()
            discoveries.append((at, int(event.get("window_docs") or 0)))
    return crawls, items, outcomes, discoveries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120)
    parser.add_argument("--speed", type=float, default=10, help="demo clock speed")
    parser.add_argument("--every", type=float, default=60, help="seconds between samples")
    args = parser.parse_args()
    # A job a shell starts in the background inherits SIGINT ignored, and so would the demo:
    # it could not be stopped the way it is below. Default handling, inherited by the demo.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "demo"
        config = Path(tmp) / "yuqing.toml"
        config.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env |= {
            "YUQING_CONFIG": str(config),
            "YUQING_DATA_DIR": str(data),
            "YUQING_STORE": f"sqlite:///{data}/yuqing.db",
            "YUQING_API_PORT": str(free_port()),
            "YUQING_SMTP_PORT": str(free_port()),
        }
        demo = subprocess.Popen(
            [str(BIN / "yuqing-dev"), "demo", "--speed", f"{args.speed:g}", "--site-port", "0"],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its group is not this process's (killed below)
        )
        samples: list[tuple[float, dict[str, dict[int, float]]]] = []
        start, started_at = time.monotonic(), time.time()
        try:
            while time.monotonic() - start < args.minutes * 60:
                if demo.poll() is not None:
                    raise SystemExit(f"the demo ended early (exit {demo.returncode})")
                taken = sample(demo.pid)
                if taken["service"]:
                    samples.append(((time.monotonic() - start) / 60, taken))
                    # Each sample as it is taken, so a run cut short still tells its story.
                    print(
                        f"sample {samples[-1][0]:.1f} min: "
                        + ", ".join(f"{k} {sum(v.values()):.1f} MB" for k, v in taken.items()),
                        file=sys.stderr,
                        flush=True,
                    )
                time.sleep(args.every)  # a sampling period, not a wait for something
        finally:
            everything = tree(demo.pid)  # the service starts its own process group
            demo.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                demo.wait(60)
            for pid in everything:  # whatever did not stop with the demo
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        crawls, items, outcomes, discoveries = read_log(data / "yuqing.log")
    if len(samples) < 3:
        raise SystemExit("too few samples: run longer")
    workers_seen = {pid for _, s in samples for pid in s["worker"]}
    print(
        f"yuqing-dev demo --speed {args.speed:g}: {samples[-1][0]:.0f} min, {crawls} crawls,"
        f" {items} new items, outcomes {outcomes}; {len(workers_seen)} worker processes"
        f" ({len(workers_seen) - len(samples[-1][1]['worker'])} recycled or replaced)"
    )
    # Discovery runs by the minute of the run they happened in.
    runs = [((at - started_at) / 60, docs) for at, docs in discoveries]

    def service(sample: dict[str, dict[int, float]]) -> float:
        return sum(sample["service"].values())

    def discovered(after: float, until: float) -> int:
        return sum(1 for minute, _ in runs if after < minute <= until)

    print(f"{'minute':>8}{'service MB':>12}{'workers MB':>24}{'demo MB':>10}{'discovery':>11}")
    step = max(1, len(samples) // 10)
    for minute, s in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        workers = " + ".join(f"{mb:.0f}" for mb in s["worker"].values()) or "-"
        print(
            f"{minute:>8.1f}{service(s):>12.1f}{workers:>24}"
            f"{sum(s['demo'].values()):>10.1f}{discovered(-1, minute):>8} run(s)"
        )
    for minute, docs in runs:
        before = [x for x in samples if x[0] < minute]
        after = [x for x in samples if x[0] >= minute]
        if before and after:
            print(
                f"discovery run at minute {minute:.1f} ({docs} documents in its window): "
                f"service {service(before[-1][1]):.1f} -> {service(after[0][1]):.1f} MB"
            )
    half = samples[len(samples) // 2 :]
    hours = (half[-1][0] - half[0][0]) / 60 or 1.0

    def growth(kind: str) -> float:
        return (sum(half[-1][1][kind].values()) - sum(half[0][1][kind].values())) / hours

    print(
        "growth per hour over the second half: "
        f"service {growth('service'):+.1f} MB, workers {growth('worker'):+.1f} MB"
        " (a recycled worker restarts small), "
        f"demo {growth('demo'):+.1f} MB"
    )
    # The service between its discovery runs: the sum of its changes from one sample to
    # the next where no run fell between them.
    quiet = sum(
        service(b) - service(a)
        for (t0, a), (t1, b) in itertools.pairwise(half)
        if not discovered(t0, t1)
    )
    print(f"service over the second half outside discovery runs: {quiet / hours:+.1f} MB an hour")


if __name__ == "__main__":
    main()
