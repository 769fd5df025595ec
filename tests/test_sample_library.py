"""The shipped sample library (keywords/samples/tongnan.yaml): drills and publicity are
excluded by every incident rule, the epidemic rule included, and its own examples hold."""

from __future__ import annotations

from importlib import resources

import pytest

from keywords.io import read_library
from keywords.matcher import Matcher, run_rule_tests
from keywords.validate import check


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    data = resources.files("keywords.samples").joinpath("tongnan.yaml").read_bytes()
    return Matcher(read_library(data, "yaml"))


@pytest.mark.parametrize(
    ("title", "body", "rule"),
    [
        (
            "潼南区开展疫情防控应急演练",
            "双江镇组织核酸检测演练，模拟发现确诊病例后的处置流程。",
            "潼南疫情",
        ),
        ("宝龙镇举行火灾疏散演习", "宝龙镇中学模拟教学楼起火，师生有序撤离。", "潼南火灾"),
        ("潼南区开展危化品泄漏事故应急演练", "演练模拟一化工厂发生气体泄漏。", "潼南安全事故"),
    ],
)
def test_a_drill_matches_no_incident_rule(
    matcher: Matcher, title: str, body: str, rule: str
) -> None:
    assert rule not in matcher.match(title, body).rules
    # The place and the incident words are there: only the exclusion keeps the rule quiet.
    plain = [text.replace("演练", "").replace("演习", "") for text in (title, body)]
    assert rule in matcher.match(*plain).rules


def test_an_epidemic_report_still_matches(matcher: Matcher) -> None:
    found = matcher.match("双江镇新增确诊病例一例", "潼南区疾控中心通报，该病例已转运隔离治疗。")
    assert "潼南疫情" in found.rules


def test_the_samples_own_examples_hold(matcher: Matcher) -> None:
    assert check(matcher.library) == []
    assert run_rule_tests(matcher) == []
