"""The 发现 console page on a real SQLite store: the latest report with escaped crawled
titles, the term chart's data, accept and dismiss through the forms, English."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import XSS_TITLE, Browser, signed_in
from apiflask import APIFlask
from discovery_support import discovery_app, new_world, run_discovery, seeded_store

from devtools.discoveryworld import World
from store import Store


@pytest.fixture
def world() -> World:
    return new_world(31)


@pytest.fixture
def store(tmp_path: Path, world: World) -> Store:
    return seeded_store(tmp_path / "console.db", world)


@pytest.fixture
def app(store: Store, tmp_path: Path, world: World) -> APIFlask:
    return discovery_app(store, tmp_path, world)


def _page(browser: Browser, lang: str = "zh") -> str:
    response = browser.get(f"/discovery?lang={lang}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_page_shows_the_report_escaped_and_acts_on_suggestions(
    app: APIFlask, operator: Browser, world: World
) -> None:
    assert "尚未运行过发现分析" in _page(operator)
    run_discovery(operator)
    page = _page(operator)
    assert "最近一次分析" in page and "Asia/Shanghai" in page
    assert f'data-term="{world.term}"' in page and "建议加入" in page and "民生" in page
    assert "回测预览" in page and "潼南民生" in page

    chart = operator.get(f"/discovery/terms/{world.term}/daily.json").get_json()
    assert sum(chart["counts"]) == 10 and len(chart["days"]) >= 14
    assert len(chart["days"]) == len(chart["counts"])
    assert operator.get("/discovery/terms/没有/daily.json").status_code == 404

    operator.refresh_csrf()
    form = {"csrf_token": operator.csrf, "window_df": "10"}
    done = operator.post(f"/discovery/terms/{world.term}/dismiss", data=form)
    assert done.status_code == 302
    page = _page(operator)
    assert "已忽略：" + world.term in page and 'id="dismissed"' in page

    form = {"csrf_token": operator.csrf, "group": "民生", "parent": "1"}
    assert operator.post(f"/discovery/terms/{world.term}/accept", data=form).status_code == 302
    page = _page(operator)
    assert "已加入 民生（版本 2）" in page
    # Twice from the same page: the library moved on, the second is refused, not merged.
    operator.post(f"/discovery/terms/{world.term}/accept", data=form)
    assert "词库已是版本 2，不是 1" in _page(operator)


def test_crawled_titles_are_escaped(app: APIFlask, operator: Browser, store: Store) -> None:
    run_discovery(operator)
    report = store.discovery.latest_report()
    assert report is not None
    report.data["suggestions"][0]["examples"][0]["title"] = XSS_TITLE
    report.data["clusters"] = [
        {"event_id": "e", "items": 4, "before": 0, "sources": [], "titles": [XSS_TITLE],
         "item_ids": [], "term": None}
    ]  # fmt: skip
    store.discovery.save_report(report)
    page = _page(operator)
    assert XSS_TITLE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;潼南" in page


def test_english_and_viewers(app: APIFlask, operator: Browser, world: World) -> None:
    run_discovery(operator)
    page = _page(operator, "en")
    for text in ("Discovery", "Suggested keywords", "Emerging terms", "Unmatched clusters"):
        assert text in page
    viewer = signed_in(app, "viewer")
    page = _page(viewer)
    assert "加入词组" not in page and "立即分析" not in page
    viewer.refresh_csrf()
    refused = viewer.post(
        f"/discovery/terms/{world.term}/dismiss", data={"csrf_token": viewer.csrf}
    )
    assert refused.status_code == 403
