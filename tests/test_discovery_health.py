"""Rule health on a real SQLite store: items per day, a volume jump, precision and the
words behind false positives, words never seen; shown on the keyword page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from api_support import Browser
from apiflask import APIFlask
from discovery_support import discovery_app, new_world, run_discovery, seeded_store

from devtools.discoveryworld import library
from monitor.discovery.health import jumped, rule_health
from store.model import Alert


def _alert(n: int, rule: str, when: object, reason: str, word: str) -> Alert:
    return Alert(
        id=f"a{n}", rule=rule, event_id=f"e{n}", kind="immediate", severity="warning",
        title=f"标题{n}", item_id="", url=f"http://x.example.cn/{n}", source_id="s",
        created=when, hits=[{"word": word}], status="closed", close_reason=reason,
    )  # type: ignore[arg-type]  # fmt: skip


def test_health_of_each_rule(tmp_path: Path) -> None:
    world = new_world(41)
    store = seeded_store(tmp_path / "h.db", world)
    now = world.end_of(13)
    for n, reason in enumerate(["false_positive", "false_positive", "handled", "duplicate"]):
        store.alerts.create(_alert(n, "潼南民生", now - timedelta(days=2), reason, "拆迁"))
    health = rule_health(store, library(), now=now)
    by_rule = {r.rule: r for r in health.rules}
    livelihood = by_rule["潼南民生"]
    # Only the incident's reports that name 拆迁 matched, all on its day: a jump.
    assert livelihood.today == livelihood.total > 0 and livelihood.usual == 0
    assert livelihood.jumped == (livelihood.today >= 5)
    assert sum(livelihood.per_day.values()) == livelihood.total
    # Duplicates do not count; two of three closes were false positives, both via 拆迁.
    assert (livelihood.closed, livelihood.false_positives) == (3, 2)
    assert livelihood.precision == round(1 - 2 / 3, 3)
    assert livelihood.false_positive_words == [("拆迁", 2)]
    disasters = by_rule["潼南灾害"]
    assert (disasters.total, disasters.precision, disasters.jumped) == (0, None, False)
    # The stream never mentions a disaster: those words never hit.
    assert set(health.silent_words["灾害"]) == {"塌方", "滑坡", "洪水", "火灾"}
    assert "潼南" not in health.silent_words  # every town, and 潼南 in each source line


def test_a_jump_is_far_above_the_usual_day() -> None:
    assert jumped(12, 2.0) and not jumped(5, 2.0)
    assert jumped(5, 0.0) and not jumped(4, 0.0)  # a few items are no jump


def test_the_keyword_page_shows_rule_health(tmp_path: Path) -> None:
    world = new_world(42)
    store = seeded_store(tmp_path / "k.db", world)
    app: APIFlask = discovery_app(store, tmp_path, world)
    from api_support import signed_in

    operator: Browser = signed_in(app, "operator")
    assert 'id="rule-health"' not in operator.get("/keywords").get_data(as_text=True)
    run_discovery(operator)
    page = operator.get("/keywords").get_data(as_text=True)
    assert 'id="rule-health"' in page and 'data-rule="潼南民生"' in page
    assert "Asia/Shanghai" in page and "从未出现的词" in page
    english = operator.get("/keywords?lang=en").get_data(as_text=True)
    assert "Rule health" in english and "Words not seen in 30 days" in english
