"""``/api/items`` and ``/api/events`` on both stores: search, filters, facets, highlights,
errors that name the field, export jobs, events, and crawled markup kept as text."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from api_support import (
    T0,
    XSS_BODY,
    XSS_TITLE,
    Browser,
    job_done,
    make_app,
    make_item,
    module_store,
    signed_in,
)
from apiflask import APIFlask
from conftest import BACKENDS
from openpyxl import load_workbook

from api.context import parts
from api.resources import items as items_resource
from keywords.model import Library
from keywords.operations import save_library
from store import Store
from store.acting import Acting
from store.elastic import ElasticStore

ITEMS = [
    make_item(1, "双江镇一民房起火", "潼南区双江镇发生火灾，无人员伤亡。", rules=["潼南火灾"],
         tags=["news"], event_id=make_item(1, "", "").id, source_id="gov",
         publish_time=T0 - timedelta(days=1)),
    make_item(2, "转载：双江镇民房起火", "潼南区双江镇发生火灾。", rules=["潼南火灾"],
         event_id=make_item(1, "", "").id),
    make_item(3, "潼南疫情通报", "新增确诊病例一例。", rules=["潼南疫情"], tags=["gov"],
         event_id=make_item(3, "", "").id, first_seen=T0 + timedelta(days=2)),
    make_item(4, XSS_TITLE, XSS_BODY, site_source="=HYPERLINK(\"http://evil\")", author="@me"),
    make_item(5, "天气晴朗", "今日无事。", url="javascript:alert(1)"),
]  # fmt: skip


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """Both backends, one store each for the module: these tests only read."""
    es_url = request.getfixturevalue("es_url") if request.param == "elasticsearch" else ""
    with module_store(request.param, tmp_path_factory.mktemp("items"), es_url) as s:
        yield s


@pytest.fixture(scope="module")
def app(store: Store, tmp_path_factory: pytest.TempPathFactory) -> APIFlask:
    store.items.upsert_many(ITEMS)
    return make_app(store, tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module")
def viewer(app: APIFlask) -> Browser:
    return signed_in(app, "viewer")


def get(browser: Browser, url: str, status: int = 200) -> Any:
    response = browser.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def numbers(found: dict[str, Any]) -> list[str]:
    number = {item.id: str(n) for n, item in enumerate(ITEMS, 1)}
    return [number[i["id"]] for i in found["items"]]


def test_keyword_search_with_highlights(viewer: Browser) -> None:
    found = get(viewer, "/api/items?q=双江镇 火灾")
    assert found["total"] == 2
    assert sorted(numbers(found)) == ["1", "2"]
    first = found["items"][0]
    assert "<mark>火灾</mark>" in "".join(first["highlights"]["body"])
    assert {"id", "title", "url", "source_id", "publish_time", "first_seen", "score"} <= set(first)
    assert "body" not in first


def test_highlights_escape_crawled_markup(viewer: Browser) -> None:
    found = get(viewer, "/api/items?q=alert")
    assert numbers(found) == ["4"]
    marks = found["items"][0]["highlights"]
    html = "".join(marks["title"] + marks["body"])
    assert re.findall(r"<[^>]*>", html) == ["<mark>", "</mark>"] * 2  # no other markup
    shown = [unescape(re.sub("</?mark>", "", f)) for f in marks["title"] + marks["body"]]
    assert shown == [XSS_TITLE, XSS_BODY]
    assert found["items"][0]["title"] == XSS_TITLE  # JSON carries data, not HTML


def test_filters_sort_and_pages(viewer: Browser) -> None:
    assert numbers(get(viewer, "/api/items?source=gov,none")) == ["1"]
    assert numbers(get(viewer, "/api/items?tag=gov")) == ["3"]
    assert sorted(numbers(get(viewer, "/api/items?rule=潼南火灾,潼南疫情"))) == ["1", "2", "3"]
    assert sorted(numbers(get(viewer, f"/api/items?event={ITEMS[0].id}"))) == ["1", "2"]
    # A time without a zone is the server's (Asia/Shanghai): the console's inputs.
    window = "since=2021-02-05T11:00&until=2021-02-05T13:00"
    assert numbers(get(viewer, f"/api/items?{window}&sort=first_seen&order=asc")) == ["1", "2"]
    utc = "since=2021-02-05T03:00Z&until=2021-02-05T05:00Z"
    assert numbers(get(viewer, f"/api/items?{utc}&sort=first_seen&order=asc")) == ["1", "2"]
    on_publish = get(viewer, "/api/items?time_field=publish_time&until=2021-02-05T00:00")
    assert numbers(on_publish) == ["1"]
    assert numbers(get(viewer, "/api/items?sort=first_seen&size=2")) == ["3", "5"]
    second = get(viewer, "/api/items?sort=first_seen&size=2&page=2")
    assert (second["total"], second["page"], second["size"], numbers(second)) == (
        5,
        2,
        2,
        ["4", "2"],
    )


def test_past_the_count_limit_the_newest_are_described_and_flagged(
    viewer: Browser, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = get(viewer, "/api/items?q=潼南&sort=first_seen&facets=1")
    assert (exact["total"], exact["total_exact"], numbers(exact)) == (4, True, ["3", "4", "2", "1"])
    monkeypatch.setattr(items_resource, "SEARCH_COUNT_LIMIT", 2)
    found = get(viewer, "/api/items?q=潼南&sort=first_seen&facets=1")
    if isinstance(store, ElasticStore):  # Elasticsearch counts every match
        assert found == exact
        return
    assert (found["total"], found["total_exact"], numbers(found)) == (2, False, ["3", "4"])
    assert sum(found["facets"]["source"].values()) == 2
    assert get(viewer, "/api/items?q=alert")["total_exact"] is True


def test_facets_by_day_source_and_rule(viewer: Browser) -> None:
    found = get(viewer, "/api/items?q=潼南&facets=1")
    assert found["facets"] == {
        "day": {"2021-02-05": 3, "2021-02-07": 1},
        "source": {"news": 3, "gov": 1},
        "rule": {"潼南火灾": 2, "潼南疫情": 1},
        "region": {},  # these items were stored without analysis
    }
    assert "facets" not in get(viewer, "/api/items?q=潼南")


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/items?page=101&size=100", "page"),
        ("/api/items?size=101", "size"),
        ("/api/items?page=0", "page"),
        ("/api/items?since=yesterday", "since"),
        ("/api/items?since=2021-02-06T00:00&until=2021-02-05T00:00", "since"),
        ("/api/items?sort=title", "sort"),
        ("/api/items?colour=red", "colour"),
        ("/api/items/export?format=pdf", "format"),
        ("/api/events?limit=0", "limit"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(viewer: Browser, url: str, field: str) -> None:
    response = viewer.get(url)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["field"] == field


@pytest.mark.parametrize(
    ("q", "position"),
    [
        ("潼南 AND (火灾", 10),
        ("火灾 OR", 5),
        ("@没有这组 火灾", 0),
        ("火灾 NEAR/S 起火", None),
        ("(" * 300 + "火灾" + ")" * 300, 32),  # the 33rd opening parenthesis
    ],
)
def test_a_bad_query_names_the_position(viewer: Browser, q: str, position: int | None) -> None:
    problem = get(viewer, f"/api/items?q={q}", 400)
    assert problem["field"] == "q"
    assert problem.get("position") == position
    assert problem["detail"]


def test_groups_of_the_live_library_expand(app: APIFlask, viewer: Browser) -> None:
    library = Library.model_validate(
        {
            "groups": [
                {"name": "潼南地名", "category": "region", "words": ["双江镇", "梓潼"]},
                {"name": "空组", "category": "event", "words": [], "enabled": False},
            ]
        }
    )
    with app.app_context():
        save_library(Acting("test", parts().store, parts().clock), library)
    assert sorted(numbers(get(viewer, "/api/items?q=@潼南地名 起火"))) == ["1", "2"]
    assert numbers(get(viewer, "/api/items?q=title:(@潼南地名) NOT 转载")) == ["1"]
    problem = get(viewer, "/api/items?q=火灾 @空组", 400)
    assert (problem["field"], problem["position"]) == ("q", 3)


def test_one_item_and_unknown_ids(viewer: Browser) -> None:
    item = get(viewer, f"/api/items/{ITEMS[0].id}")
    assert (item["title"], item["body"], item["source_id"]) == (
        ITEMS[0].title,
        ITEMS[0].body,
        "gov",
    )
    assert item["publish_time"] == "2021-02-04T10:00:00+08:00"
    assert item["first_seen"] == "2021-02-05T11:00:00+08:00"
    problem = get(viewer, "/api/items/nope", 404)
    assert problem["field"] == "id" and problem["status"] == 404


def export(browser: Browser, query: str) -> bytes:
    response = browser.get(f"/api/items/export?{query}")
    assert response.status_code == 202, response.get_data(as_text=True)
    job = job_done(browser, response.headers["Location"])
    assert (job["state"], job["download"], job["percent"]) == ("done", True, 100), job
    result = browser.get(f"{response.headers['Location']}/result")
    assert result.status_code == 200
    return bytes(result.data)


def test_csv_export_opens_in_excel_and_defuses_formulas(viewer: Browser) -> None:
    data = export(viewer, "q=潼南&sort=first_seen&order=asc")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "title", "url"]
    assert [r[1] for r in rows[1:]] == [
        ITEMS[0].title,
        ITEMS[1].title,
        ITEMS[3].title,
        "潼南疫情通报",
    ]
    columns = dict(zip(rows[0], rows[3], strict=True))
    assert columns["site_source"] == '\'=HYPERLINK("http://evil")'
    assert columns["author"] == "'@me"
    assert columns["body"] == XSS_BODY
    assert dict(zip(rows[0], rows[1], strict=True))["rules"] == "潼南火灾"


def test_xlsx_export(viewer: Browser) -> None:
    data = export(viewer, "format=xlsx&source=news&sort=first_seen&order=asc")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(rows) == 5
    columns = dict(zip(rows[0], rows[2], strict=True))
    assert columns["title"] == XSS_TITLE
    assert columns["site_source"] == '\'=HYPERLINK("http://evil")'


def test_a_bad_export_fails_before_a_job_starts(viewer: Browser) -> None:
    problem = get(viewer, "/api/items/export?q=(", 400)
    assert problem["field"] == "q"


def test_events_list_and_detail(viewer: Browser) -> None:
    events = get(viewer, "/api/events")["events"]
    assert [(e["id"], e["count"]) for e in events] == [(ITEMS[2].id, 1), (ITEMS[0].id, 2)]
    fire = events[1]
    assert fire["title"] == ITEMS[0].title and fire["item_id"] == ITEMS[0].id
    assert fire["sources"] == ["gov", "news"]
    assert (fire["first_seen"], fire["last_seen"]) == (
        "2021-02-05T11:00:00+08:00",
        "2021-02-05T12:00:00+08:00",
    )
    assert fire["rules"] == ["潼南火灾"]
    by_rule = get(viewer, "/api/events?rule=潼南火灾&order=size")["events"]
    assert [e["id"] for e in by_rule] == [ITEMS[0].id]
    assert get(viewer, "/api/events?since=2021-02-06T00:00")["events"][0]["id"] == ITEMS[2].id
    detail = get(viewer, f"/api/events/{ITEMS[0].id}")
    assert (detail["count"], detail["total"]) == (2, 2)
    assert [i["title"] for i in detail["items"]] == [ITEMS[0].title, ITEMS[1].title]
    assert get(viewer, "/api/events/nope", 404)["field"] == "id"


def test_anonymous_callers_are_refused(app: APIFlask) -> None:
    client = app.test_client()
    for url in ("/api/items", f"/api/items/{ITEMS[0].id}", "/api/items/export", "/api/events"):
        assert client.get(url).status_code == 401


def test_every_view_is_read_only_for_viewers(app: APIFlask) -> None:
    roles = {
        rule.rule: getattr(app.view_functions[rule.endpoint], "required_role", None)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api/items", "/api/events"))
    }
    assert roles and set(roles.values()) == {"viewer"}, roles
