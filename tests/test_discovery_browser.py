"""The 发现 page in real chromium: the term chart draws the term's daily counts, clicking
another term redraws it, no script error or CSP violation, and accepting from the page
adds the word."""

from __future__ import annotations

from pathlib import Path

from api_support import PASSWORD, add_user, signed_in
from browser_support import chromium, serving, shot, sign_in
from discovery_support import discovery_app, new_world, run_discovery, seeded_store

DRAWN = """(term) => {
  const element = document.getElementById("term-chart");
  const chart = window.echarts?.getInstanceByDom(element);
  return chart && element.dataset.term === term && chart.getOption().series.length === 1
    && chart.getZr().animation.isFinished();
}"""


def test_the_term_chart_draws_and_a_suggestion_is_accepted(tmp_path: Path) -> None:
    world = new_world(51)
    store = seeded_store(tmp_path / "b.db", world)
    app = discovery_app(store, tmp_path, world)
    run_discovery(signed_in(app, "operator"))
    add_user(app, "browser-op", "operator")
    errors: list[str] = []
    with serving(app) as base, chromium() as browser:
        page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, base, "browser-op", PASSWORD)
        page.goto(f"{base}/discovery")
        first = page.locator("button.show-trend").first.get_attribute("data-term")
        page.wait_for_function(DRAWN, arg=first)
        box = page.locator("#term-chart canvas").bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, box
        page.locator(f'button.show-trend[data-term="{world.term}"]').click()
        page.wait_for_function(DRAWN, arg=world.term)
        counts = page.evaluate(
            """() => echarts.getInstanceByDom(document.getElementById("term-chart"))
                 .getOption().series[0].data"""
        )
        assert sum(counts) == 10
        shot(page, "discovery")
        card = page.locator(f'article.suggestion[data-term="{world.term}"]')
        card.locator("form.accept select").select_option("民生")
        card.locator("form.accept button").click()
        page.wait_for_load_state()
        assert "已加入 民生（版本 2）" in page.content()
    assert not errors, errors
