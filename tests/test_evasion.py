"""Evasion: words written around, found by the group's variant options, and the traps those
options must not fall into. The cases are yuqing's own (``tests/evasion/*.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from keywords.matcher import Matcher
from keywords.model import Group, Library, Options, Rule

HERE = Path(__file__).parent / "evasion"
DATA = yaml.safe_load((HERE / "variants.yaml").read_text(encoding="utf-8"))
CASES = [(kind, word, text) for kind, pairs in DATA["cases"].items() for word, text in pairs]
LONGEST = yaml.safe_load((HERE / "longest.yaml").read_text(encoding="utf-8"))
EVERY_OPTION = {
    "enclosed": True,
    "noise": "brackets",
    "lookalikes": True,
    "repeats": True,
    "pinyin": True,
    "homophones": True,
    "split": True,
}
# The option each kind of case needs (the others off): the case must be found with it alone.
ALONE = {
    "enclosed": {"enclosed": True},
    "repeats": {"repeats": True},
    "noise": {"noise": "brackets"},
    "lookalikes": {"lookalikes": True, "noise": "latin"},
    "pinyin": {"pinyin": True},
    "homophones": {"homophones": True},
    "split": {"split": True},
}
OFF = {"enclosed": False, "noise": "off"}


def matcher(words: list[str], options: dict[str, Any], **rule: Any) -> Matcher:
    group = Group(name="g", words=words, options=Options.model_validate(options))
    return Matcher(Library(groups=[group], rules=[Rule(name="r", expression="@g", **rule)]))


def found(word: str, text: str, options: dict[str, Any]) -> bool:
    return bool(matcher([word], options).match(text, "").rules)


def test_every_kind_of_evasion_is_covered() -> None:
    assert set(DATA["cases"]) == set(ALONE)
    assert all(len(pairs) >= 6 for pairs in DATA["cases"].values())


def test_at_least_95_percent_found_with_every_option() -> None:
    missed = [(k, w, t) for k, w, t in CASES if not found(w, t, EVERY_OPTION)]
    assert 1 - len(missed) / len(CASES) >= 0.95, missed


@pytest.mark.parametrize(("kind", "word", "text"), CASES)
def test_each_case_is_found_by_its_own_option(kind: str, word: str, text: str) -> None:
    assert found(word, text, ALONE[kind]), (kind, word, text)


def test_without_options_most_evasions_go_unseen() -> None:
    # NFKC already opens circled letters and a repeat at a word's edge still contains the
    # word: those few cases are found without options, the rest need theirs.
    seen = [(k, w, t) for k, w, t in CASES if found(w, t, OFF)]
    assert len(seen) / len(CASES) < 0.25, seen


@pytest.mark.parametrize(("word", "text", "options"), DATA["traps"])
def test_traps_do_not_match(word: str, text: str, options: dict[str, Any]) -> None:
    assert not found(word, text, options)


def test_hits_name_the_variant_and_map_to_the_original() -> None:
    m = matcher(["疫情", "张三", "spam"], EVERY_OPTION)
    text = "潼南YQ严重，易情，弓长三，spaaam"
    hits = {text[h["start"] : h["end"]]: h for h in m.match("", text, explain=True).hits}
    assert hits["YQ"]["variant"] == "initials"
    assert hits["易情"]["variant"] == "homophone"
    assert hits["弓长三"]["variant"] == "split"
    assert hits["spaaam"]["variant"] == "repeats"
    assert all(h["word"] in ("疫情", "张三", "spam") for h in hits.values())


def test_a_word_written_plainly_is_no_variant() -> None:
    m = matcher(["疫情"], EVERY_OPTION)
    (hit,) = m.match("", "疫情通报", explain=True).hits
    assert hit["variant"] is None and (hit["start"], hit["end"]) == (0, 2)


@pytest.mark.parametrize(("words", "text", "expected"), LONGEST)
def test_longest_mode_reports_leftmost_longest(
    words: list[str], text: str, expected: list[str]
) -> None:
    m = matcher(words, {})
    hits = m.match("", text, overlaps="longest").hits
    assert [h["word"] for h in sorted(hits, key=lambda h: h["start"])] == expected


def test_longest_as_a_rule_option_and_evaluation_still_uses_all_hits() -> None:
    m = matcher(["machine", "machine learning"], {}, overlaps="longest")
    result = m.match("", "machine learning")
    assert [h["word"] for h in result.hits] == ["machine learning"]
    both = Library(
        groups=[Group(name="a", words=["machine learning"]), Group(name="b", words=["machine"])],
        rules=[Rule(name="r", expression="@a @b", overlaps="longest")],
    )
    # @b is found inside @a's hit: the rule matches, and reports only the longest.
    result = Matcher(both).match("", "machine learning")
    assert result.rules == ["r"]
    assert [h["word"] for h in result.hits] == ["machine learning"]
