"""Place recognition and sentiment on the real gazetteer and lexicon (built by
``make analysis-data``): ambiguity resolved by context or kept, common-word short forms
left alone, negation and boilerplate; and the live matcher analysing items so that
``region:`` and ``sentiment:`` rules fire."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from analysis.gazetteer import default as gazetteer
from analysis.gazetteer import short_forms
from analysis.places import Recognizer
from analysis.sentiment import baseline
from analysis.sentiment import default as scorer
from keywords import operations
from keywords.live import LiveMatcher
from keywords.model import Library, Rule
from store import Item, open_store
from store.acting import Acting
from store.clock import ManualClock


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer(gazetteer())


def test_the_gazetteer_reaches_townships_with_parents() -> None:
    g = gazetteer()
    assert g.get("500152").name == "潼南区"  # type: ignore[union-attr]
    assert g.display("500152110") == "重庆市 潼南区 双江镇"
    assert g.ancestors("500152002") == ["500152002", "500152", "5001", "50"]
    assert short_forms("潼南区") == ["潼南"]
    assert short_forms("双江镇") == ["双江"]
    assert short_forms("凉山彝族自治州") == ["凉山"]
    assert short_forms("新区") == []  # one character left is not a name


@pytest.mark.parametrize(
    ("title", "body", "home", "expected"),
    [
        ("潼南区梓潼街道一民房起火", "", "", {"潼南区": "500152", "梓潼街道": "500152002"}),
        ("梓潼县召开会议", "绵阳市梓潼县文昌镇举行活动", "", {"梓潼县": "510725"}),
        ("梓潼一民房起火", "", "500152", {"梓潼": "500152002"}),
        ("北京朝阳", "朝阳区望京街道发生纠纷", "", {"朝阳": "110105", "望京街道": "110105026"}),
        ("南京鼓楼", "鼓楼区湖南路街道", "", {"鼓楼": "320106"}),
    ],
)
def test_context_resolves_shared_names(
    recognizer: Recognizer, title: str, body: str, home: str, expected: dict[str, str]
) -> None:
    found = recognizer.recognize(title, body, home)
    got = {m.text: m.code for m in found.mentions}
    for text, code in expected.items():
        assert got.get(text) == code, (text, found.mentions)


def test_without_context_a_shared_name_stays_ambiguous(recognizer: Recognizer) -> None:
    found = recognizer.recognize("梓潼一民房起火", "")
    [mention] = found.mentions
    assert mention.ambiguous and {"500152002", "510725"} <= set(mention.candidates)
    assert found.primary == "" and found.codes == []
    [mention] = recognizer.recognize("城关镇召开会议", "").mentions
    assert mention.ambiguous and len(mention.candidates) > 5


def test_common_words_are_not_places_without_evidence(recognizer: Recognizer) -> None:
    found = recognizer.recognize("朝阳产业发展迅速", "长安汽车销量增长，和平年代新区建设")
    assert found.mentions == []
    # With its city named, 长安 is Xi'an's district.
    found = recognizer.recognize("西安市长安区", "长安一小区发生火灾")
    assert {m.code for m in found.mentions} == {"6101", "610116"}


def test_offsets_confidence_evidence_and_primary(recognizer: Recognizer) -> None:
    title, body = "双江镇一厂房坍塌", "重庆市潼南区双江镇一在建厂房发生坍塌。北京来的专家赶到。"
    found = recognizer.recognize(title, body)
    first = found.mentions[0]
    assert (first.field, first.start, first.end, first.text) == ("title", 0, 3, "双江镇")
    assert first.code == "500152110" and first.confidence > 0.7
    assert ("parent", "500152") in first.evidence
    assert found.primary == "500152110"  # the title weighs more than 北京 in the body
    assert {"50", "5001", "500152", "500152110", "11"} <= set(found.codes)


def test_sentiment_negation_boilerplate_and_evidence() -> None:
    s = scorer()
    dead = s.sentence("某小区发生火灾，造成两人死亡")
    assert dead.label == "negative" and dead.negative >= 0.9
    assert {e.term for e in dead.evidence} == {"火灾", "死亡"}
    spared = s.sentence("大火被扑灭，未造成人员伤亡")
    assert any(e.term == "伤亡" and e.negated for e in spared.evidence)
    assert spared.label != "negative" or spared.negative < dead.negative
    official = s.sentence("公安机关将继续严厉打击违法犯罪，维护社会稳定")
    assert official.label == "neutral" and "严厉打击违法犯罪" in official.boilerplate
    assert baseline().sentence("公安机关将继续严厉打击违法犯罪，维护社会稳定").label == "negative"
    assert s.sentence("群众送来锦旗，感谢民警帮助找回走失老人").label == "positive"
    item = s.item("农民工围堵项目部讨薪", "现场秩序正常。双方正在协商。")
    assert item.label == "negative" and item.evidence()[0]["field"] == "title"


def test_live_matcher_analyses_items_for_region_and_sentiment_rules(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    acting = Acting("张三", store, ManualClock(datetime(2026, 3, 1, tzinfo=UTC)))
    rules = [
        Rule(name="潼南负面", expression="region:500152 sentiment:negative"),
        Rule(name="潼南为主", expression="region.primary:500152 negative>=0.7"),
    ]
    operations.save_library(acting, Library(rules=rules))
    live = LiveMatcher(store)

    def item(title: str, body: str = "") -> Item:
        return Item(url=f"http://x/{title}", title=title, body=body, first_seen=acting.now())

    bad = live.match_item(item("潼南区双江镇一厂房坍塌致两人被困"))
    assert bad.rules == ["潼南负面", "潼南为主"]
    assert bad.sentiment == "negative" and bad.negative >= 0.7 and "500152" in bad.regions
    good = live.match_item(item("潼南区双江镇喜获丰收"))
    assert good.rules == [] and "500152110" in good.regions
    elsewhere = live.match_item(item("梓潼县一厂房坍塌致两人被困"))
    assert elsewhere.rules == []
    # The source's home region decides the bare 梓潼.
    home = live.match_item(item("梓潼一厂房坍塌致两人被困"), home="重庆市潼南区")
    assert home.rules == ["潼南负面", "潼南为主"]
    store.items.upsert_many([bad, good, elsewhere])
    assert store.items.get(bad.id).places[0]["code"]  # type: ignore[union-attr]
