"""One discovery run: read the window and the baseline once, and report emerging terms,
unmatched clusters and suggestions (with previews for the strongest)."""

from __future__ import annotations

import time as timer
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from keywords.library import KeywordLibrary
from keywords.model import Library
from monitor.discovery.clusters import Cluster, Member, unmatched
from monitor.discovery.corpus import Watch, documents, normal_word
from monitor.discovery.health import rule_health
from monitor.discovery.segment import NgramSegmenter, Segmenter
from monitor.discovery.suggest import fit_group, preview, still_dismissed
from monitor.discovery.terms import (
    Doc,
    EmergingTerm,
    Settings,
    Window,
    candidates,
    day_of,
    emerging,
)
from store import Store
from store.model import DiscoveryReport

PREVIEWS = 5  # suggestions previewed in a run; others on demand


@dataclass
class Report:
    now: datetime
    window_docs: int
    baseline_docs: int
    regions: list[str]  # the region groups watched (none: every item)
    terms: list[EmergingTerm]
    clusters: list[Cluster]
    suggestions: list[dict[str, Any]]
    seconds: float
    segmenter: str
    library_version: int
    timings: dict[str, float] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "window_docs": self.window_docs,
            "baseline_docs": self.baseline_docs,
            "regions": self.regions,
            "terms": [asdict(t) for t in self.terms],
            "clusters": [asdict(c) for c in self.clusters],
            "suggestions": self.suggestions,
            "seconds": self.seconds,
            "segmenter": self.segmenter,
            "library_version": self.library_version,
            "timings": self.timings,
        }


def discover(
    store: Store,
    *,
    now: datetime,
    settings: Settings | None = None,
    library: Library | None = None,
    watch: Watch | None = None,
    segmenter: Segmenter | None = None,
    previews: int = PREVIEWS,
) -> Report:
    """Emerging terms, unmatched clusters and suggestions for the window ending ``now``
    (the library's current version unless ``library`` is given)."""
    settings = settings or Settings()
    segmenter = segmenter or NgramSegmenter()
    version = 0
    if library is None:
        version, library = KeywordLibrary(store).current()
    watch = watch or Watch.of_library(library)
    started = timer.perf_counter()
    timings: dict[str, float] = {}

    window_start = now - settings.window
    docs: list[Doc] = []
    members: list[Member] = []
    for item, text in documents(store, watch, window_start, now):
        matched = bool(item.rules)
        docs.append(Doc(item.id, text, item.title, matched, day_of(item.first_seen)))
        members.append(Member(item.id, item.title, item.source_id, matched, item.event_id))
    window = Window.count(docs, segmenter)
    timings["window"] = timer.perf_counter() - started

    words = [normal_word(t) for g in library.groups for t in g.texts()]
    found = candidates(window, settings, words)
    baseline = store.items.phrase_frequencies(
        found,
        window_start - settings.baseline,
        window_start,
        scope=watch.regions,
        sources=watch.sources,
        events={m.event_id for m in members if m.event_id},
    )
    events_before = Counter(baseline.events)
    timings["baseline"] = timer.perf_counter() - started - timings["window"]

    terms = emerging(window, found, baseline, settings)
    clusters = unmatched(members, events_before)
    for cluster in clusters:
        titles = "".join(cluster.titles)
        cluster.term = next((t.term for t in terms if t.term in titles), None)

    suggestions: list[dict[str, Any]] = []
    for term in terms:
        if still_dismissed(store.discovery.dismissal(term.term), term.window_df):
            continue
        texts = [docs[i].text for i in window.holders[term.term]]
        fit = fit_group(library, texts)
        entry: dict[str, Any] = {
            "term": term.term,
            "group": fit.group if fit else None,
            "fit": fit.share if fit else 0.0,
            "window_df": term.window_df,
            "baseline_df": term.baseline_df,
            "g2": term.g2,
            "examples": [
                {"id": docs[i].id, "title": docs[i].title}
                for i in window.holders[term.term][: settings.examples]
            ],
            "clusters": [c.event_id for c in clusters if c.term == term.term],
            "preview": None,
        }
        if len(suggestions) < previews:
            entry["preview"] = preview(store, library, term.term, entry["group"], now=now).to_data()
        suggestions.append(entry)
    timings["rest"] = timer.perf_counter() - started - timings["window"] - timings["baseline"]
    return Report(
        now=now,
        window_docs=len(docs),
        baseline_docs=baseline.docs,
        regions=watch.groups,
        terms=terms,
        clusters=clusters,
        suggestions=suggestions,
        seconds=round(timer.perf_counter() - started, 3),
        segmenter=segmenter.name,
        library_version=version,
        timings={k: round(v, 3) for k, v in timings.items()},
    )


def run_and_save(store: Store, *, now: datetime, settings: Settings | None = None) -> Report:
    """A run, with the rules' health, whose report becomes the latest (what the console
    and the API show)."""
    version, library = KeywordLibrary(store).current()
    report = discover(store, now=now, settings=settings, library=library)
    report.library_version = version
    health = rule_health(store, library, now=now)
    data = report.to_data() | {"health": asdict(health)}
    store.discovery.save_report(DiscoveryReport(now, data))
    return report
