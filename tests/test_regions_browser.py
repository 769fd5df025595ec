"""Where and how bad, in the console (Debian's chromium): search lists regions with their
counts and narrows to one by its code; results and the alert inbox sort most negative
first; the dashboard shows items and alerts by township and the negative share per day.
Items are analysed for real (gazetteer, lexicon) before they are stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from api_support import PASSWORD, add_user, make_app
from browser_support import chromium, serving, shot, sign_in
from playwright.sync_api import Page

from analysis.item import default as analyzer
from rules.tokens import index_text
from store import Item, Store, open_store
from store.model import Alert

# Within the dashboard's last week (it reads the real clock).
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
NEWS = [
    ("潼南区双江镇一厂房坍塌致三人死亡", "现场救援仍在进行。"),
    ("潼南区宝龙镇喜获丰收", "果农收入大幅增长，大家都很满意。"),
    ("潼南区召开安全生产工作会议", "会议要求严厉打击违法犯罪。"),
    ("绵阳市梓潼县一民房起火", "火势已被扑灭。"),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(str(tmp_path_factory.mktemp("regions") / "console.db"))
    items = []
    for i, (title, body) in enumerate(NEWS):
        item = Item(
            url=f"http://news.example/{i}",
            title=title,
            body=body,
            first_seen=T0 + timedelta(seconds=i),
            source_id="news",
            norm_title=index_text(title),
            norm_body=index_text(body),
        )
        items.append(analyzer().analyze(item))
    store.items.upsert_many(items)
    for i, item in enumerate(items):
        store.alerts.create(
            Alert(
                id=f"a{i}",
                rule="潼南舆情",
                event_id=f"e{i}",
                kind="immediate",
                severity="warning",
                title=item.title,
                item_id=item.id,
                url=item.url,
                source_id="news",
                created=T0 + timedelta(seconds=i),
                negative=item.negative,
                region=item.region_primary[0] if item.region_primary else "",
            )
        )
    yield store
    store.close()


@pytest.fixture(scope="module")
def page(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    app = make_app(store, Path(tmp_path_factory.mktemp("app")))
    add_user(app, "viewer1", "viewer")
    with serving(app) as base, chromium() as browser:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, base, "viewer1", PASSWORD)
        page.base = base  # type: ignore[attr-defined]
        yield page
        context.close()
        assert not errors, errors


def test_region_facets_narrow_the_search(page: Page) -> None:
    base = page.base  # type: ignore[attr-defined]
    page.goto(f"{base}/search?q=潼南")
    facet = page.locator('ul[data-facet="region"] li')
    names = facet.locator("a").all_inner_texts()
    assert "潼南区 · 重庆市" in names, names
    row = facet.filter(has=page.locator('a[data-code="500152"]'))
    assert row.locator(".muted").inner_text() == "3"
    shot(page, "regions-01-facets")
    row.locator("a").click()
    page.wait_for_url(lambda url: "region%3A500152" in url or "region:500152" in url)
    titles = page.locator("#results .result a.title").all_inner_texts()
    assert sorted(titles) == sorted(t for t, _b in NEWS[:3])
    assert page.locator("#results .region").first.inner_text().startswith("属地")


def test_search_and_inbox_most_negative_first(page: Page) -> None:
    base = page.base  # type: ignore[attr-defined]
    page.goto(f"{base}/search?q=region:500152&sort=negative&order=desc")
    titles = page.locator("#results .result a.title").all_inner_texts()
    assert titles[0] == NEWS[0][0] and titles[-1] == NEWS[1][0], titles
    assert "负面" in page.locator("#results .sentiment").first.inner_text()
    page.goto(f"{base}/alerts?sort=negative")
    rows = page.locator("table tbody tr")
    first = rows.first.locator("td").nth(2).inner_text()
    assert first == NEWS[0][0]
    shares = rows.locator("td.negative").all_inner_texts()
    values = [int(s.rstrip("%")) for s in shares]
    assert values == sorted(values, reverse=True) and values[0] >= 70, values
    shot(page, "regions-02-inbox")


NEGATIVE_DRAWN = """() => {
  const chart = window.echarts?.getInstanceByDom(document.getElementById("negative-chart"));
  return chart && chart.getOption().series.length > 0 && chart.getZr().animation.isFinished();
}"""


def test_dashboard_by_township_and_negative_share(page: Page) -> None:
    base = page.base  # type: ignore[attr-defined]
    page.goto(f"{base}/")
    rows = page.locator("#townships tr")
    cells = {
        r.locator("td").first.inner_text(): r.locator("td").all_inner_texts()
        for r in rows.all()[1:]
    }
    assert cells["双江镇 · 潼南区"][1:] == ["1", "1"], cells
    assert cells["宝龙镇 · 潼南区"][1:] == ["1", "1"], cells
    page.wait_for_function(NEGATIVE_DRAWN)
    shares = page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("negative-chart"))
                 .getOption().series[0].data"""
    )
    # The day of the items (one day: they are seconds apart): the collapse and the fire
    # of the four are negative.
    assert max(shares) == 50 and sorted(shares)[-2] == 0, shares
    shot(page, "regions-03-dashboard")


def test_an_item_shows_its_places_and_the_evidence(page: Page) -> None:
    base = page.base  # type: ignore[attr-defined]
    page.goto(f"{base}/search?q=region:500152&sort=negative&order=desc")
    page.locator("#results .result a.title").first.click()
    page.wait_for_selector("#item-analysis")
    assert "负面" in page.locator("#item-sentiment").inner_text()
    rows = page.locator("#item-places tbody tr").all_inner_texts()
    assert any(r.startswith("双江镇") and "双江镇 · 潼南区" in r and "上级" in r for r in rows), (
        rows
    )
    shot(page, "regions-04-item")
