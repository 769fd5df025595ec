"""Discovery on a real SQLite store: emerging terms of a generated news stream with a new
incident injected on a known day, the library's words left out, unmatched clusters, and
the statistics underneath."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.discoveryworld import World, library, matched
from keywords.library import KeywordLibrary
from keywords.model import Library
from monitor.discovery.clusters import Member, unmatched
from monitor.discovery.corpus import Watch
from monitor.discovery.run import discover
from monitor.discovery.segment import NgramSegmenter, acceptable
from monitor.discovery.terms import boundaries, g2
from store import Store
from store.sqlite import SQLiteStore

START = datetime(2026, 3, 1, tzinfo=UTC)


def _world(store: Store, seed: int, lib: Library, incident: int | None = 13) -> World:
    world = World(seed=seed, start=START, days=14, per_day=120, incident_day=incident)
    store.items.upsert_many(matched(list(world.stream()), lib))
    return world


@pytest.fixture
def sqlite(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "d.db")
    KeywordLibrary(store).commit(library(), author="t", created=START)
    return store


def test_the_injected_term_ranks_first_fits_its_group_and_previews_what_it_adds(
    sqlite: SQLiteStore,
) -> None:
    world = _world(sqlite, 5, library())
    report = discover(sqlite, now=world.end_of(13))
    assert report.regions == ["潼南"]
    assert report.window_docs > 100 and report.baseline_docs > 1000
    top = report.terms[0]
    assert top.term == world.term
    assert (top.window_df, top.baseline_df) == (10, 0)
    # Days are the store's (Asia/Shanghai): the UTC day of the incident spans two.
    assert sum(top.daily.values()) == 10 and set(top.daily) <= {"2026-03-14", "2026-03-15"}
    suggestion = report.suggestions[0]
    assert suggestion["term"] == world.term and suggestion["group"] == "民生"
    preview = suggestion["preview"]
    assert preview["matches"] == 10
    # Half the reports already named 拆迁 (so 潼南民生 matched them); the term adds the rest.
    [rule] = preview["rules"]
    assert rule["rule"] == "潼南民生" and rule["added"] == 10 - rule["live"] > 0
    assert all(world.term in e["title"] or e["id"] for e in rule["examples"])


def test_a_quiet_window_suggests_next_to_nothing(sqlite: SQLiteStore) -> None:
    world = _world(sqlite, 6, library(), incident=None)
    report = discover(sqlite, now=world.end_of(13))
    assert len(report.suggestions) <= 3, [t.term for t in report.terms]


def test_terms_the_library_knows_are_left_out(sqlite: SQLiteStore) -> None:
    world = World(seed=7, start=START, days=14, per_day=120, incident_day=13)
    lib = library()
    group = lib.group("民生")
    assert group is not None
    group.words.append(group.words[0].model_copy(update={"text": world.term}))
    sqlite.items.upsert_many(matched(list(world.stream()), lib))
    report = discover(sqlite, now=world.end_of(13), library=lib)
    assert all(world.term not in t.term for t in report.terms)


def test_only_the_watched_items_are_read(sqlite: SQLiteStore) -> None:
    world = _world(sqlite, 8, library())
    # Watching one other source only: a third of the stream.
    report = discover(sqlite, now=world.end_of(13), watch=Watch(sources=frozenset({"forum"})))
    everything = discover(sqlite, now=world.end_of(13), watch=Watch())
    assert 0 < report.window_docs < everything.window_docs / 2


def test_g2_grows_with_the_burst_and_is_nil_without_one() -> None:
    assert g2(10, 0, 300, 4000) > g2(5, 0, 300, 4000) > 10.83
    assert g2(30, 400, 300, 4000) == pytest.approx(0.0, abs=1e-9)
    assert g2(3, 40, 300, 4000) < 1


def test_a_fragment_has_one_neighbour_and_a_word_many() -> None:
    texts = ["澜琉坪多名学生", "网传澜琉坪现场", "关于澜琉坪事件"]
    _, _, left_top, _ = boundaries("琉坪", texts)
    assert left_top == 1.0  # always 澜 before it
    le, re_, lt, rt = boundaries("澜琉坪", texts)
    assert max(lt, rt) < 0.5 and le > 1 and re_ > 1


def test_ngrams_and_stop_edges() -> None:
    assert NgramSegmenter().terms("蓝湖镇，a") == {"蓝湖", "湖镇", "蓝湖镇"}
    assert not acceptable("的蓝湖") and not acceptable("记者") and acceptable("蓝湖镇")


def test_unmatched_clusters_grew_and_matched_nothing() -> None:
    def members(event: str, n: int, matched: bool = False) -> list[Member]:
        return [Member(f"{event}{i}", f"{event}标题", "s", matched, event) for i in range(n)]

    window = members("a", 5) + members("b", 6, matched=True) + members("c", 2) + members("d", 4)
    before = Counter({"d": 3})
    found = unmatched(window, before)
    assert [(c.event_id, c.items, c.titles) for c in found] == [("a", 5, ["a标题"])]


def test_both_backends_find_the_same_terms(store: Store, tmp_path: Path) -> None:
    # Elasticsearch counts the baseline with aggregations, SQLite by reading the items:
    # on bodies shorter than the lead discovery reads (600 characters) they agree exactly.
    KeywordLibrary(store).commit(library(), author="t", created=START)
    world = World(seed=9, start=START, days=14, per_day=50, incident_day=13)
    items = matched(list(world.stream()), library())
    assert max(len(i.norm_body) for i in items) < 600
    store.items.upsert_many(items)
    report = discover(store, now=world.end_of(13), previews=0)
    assert world.term in [t.term for t in report.terms[:10]]
    got = [(t.term, t.window_df, t.baseline_df, t.daily) for t in report.terms]
    reference = SQLiteStore(tmp_path / "reference.db")
    reference.items.upsert_many(items)
    KeywordLibrary(reference).commit(library(), author="t", created=START)
    expected = discover(reference, now=world.end_of(13), previews=0)
    assert report.baseline_docs == expected.baseline_docs
    assert got == [(t.term, t.window_df, t.baseline_df, t.daily) for t in expected.terms]
