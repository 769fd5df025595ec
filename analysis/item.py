"""Analysis of one item: where (place recognition) and how bad (sentiment), written onto
the item's fields, and the facts rules test (:func:`rules.facts.facts`)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from analysis import gazetteer, sentiment
from analysis.gazetteer import Gazetteer, Place, with_operator_places
from analysis.places import Recognizer
from rules.facts import facts
from store.model import Item


class Analyzer:
    def __init__(self, recognizer: Recognizer, scorer: sentiment.Scorer) -> None:
        self.recognizer = recognizer
        self.scorer = scorer

    @property
    def gazetteer(self) -> Gazetteer:
        return self.recognizer.gazetteer

    def home(self, region: str) -> str:
        """A source's home region as a code: the code itself, or a place's unique name
        (潼南区, 重庆市潼南区: the last name given); "" if it names no one place."""
        region = region.strip()
        if not region:
            return ""
        if region in self.gazetteer.places:
            return region
        found = self.recognizer.recognize(region, "")
        return found.primary

    def analyze(self, item: Item, home: str = "") -> Item:
        """Fill ``regions``, ``region_primary``, ``places``, ``negative``, ``sentiment`` and
        ``sentiment_evidence`` of ``item`` (``home``: its source's home region code)."""
        found = self.recognizer.recognize(item.title, item.body, home)
        item.regions = found.codes
        item.region_primary = found.primary_codes
        item.places = [m.as_dict() for m in found.mentions[:50]]
        judged = self.scorer.item(item.title, item.body)
        item.negative = judged.negative
        item.sentiment = judged.label
        item.sentiment_evidence = judged.evidence()
        return item


def item_facts(item: Item) -> list[str]:
    """The facts ``region:``, ``sentiment:`` and ``negative>=`` test on ``item``."""
    return facts(item.regions, item.region_primary, item.sentiment, item.negative)


@cache
def default() -> Analyzer:
    """The analyzer over the administrative divisions alone (built once per process)."""
    return Analyzer(Recognizer(gazetteer.default()), sentiment.default())


def with_places(places: Iterable[Place], aliases: Iterable[tuple[str, str]]) -> Analyzer:
    """An analyzer that also knows operators' places (and their other names)."""
    extra = list(places)
    if not extra:
        return default()
    merged = with_operator_places(gazetteer.default(), extra)
    return Analyzer(Recognizer(merged, aliases), sentiment.default())
