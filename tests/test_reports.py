"""Statistics and the daily/weekly reports: figures match the stored data, every figure
links to the page that shows it, crawled titles are escaped."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from api_support import Browser, make_app
from apiflask import APIFlask

from api.context import parts
from keywords.model import Library
from keywords.operations import save_library
from monitor.alerts import stats as alert_stats
from rules.tokens import index_text
from store import Item, ItemQuery, Store
from store.acting import Acting
from store.model import Alert, CrawlRun, Source

ZONE = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 20, tzinfo=ZONE)
XSS = "<script>alert(1)</script>潼南疫情"
RULE = "潼南疫情"


def item(url: str, title: str, at: datetime, source: str, tags: list[str], **more: Any) -> Item:
    return Item(
        url=url,
        title=title,
        body="正文",
        norm_title=index_text(title),
        norm_body=index_text("正文"),
        first_seen=at,
        source_id=source,
        tags=tags,
        publish_time=at - timedelta(minutes=30),
        **more,
    )


@pytest.fixture
def app(store: Store, tmp_path: Path) -> APIFlask:
    app = make_app(store, tmp_path)
    with app.app_context():
        library = Library.model_validate(
            {
                "groups": [
                    {"name": "地名", "category": "region", "words": ["潼南"]},
                    {"name": "疫情词", "category": "event", "words": ["疫情"]},
                ],
                "rules": [
                    {"name": RULE, "expression": "@地名 @疫情词"},
                    {"name": "空方案", "expression": "潼南 火灾"},
                ],
            }
        )
        save_library(Acting("test", parts().store, parts().clock), library)
    store.sources.put(
        Source("tn", "潼南新闻", "list", ["http://a.example/"], 600, ["news"], "潼南区")
    )
    store.sources.put(
        Source("hc", "合川论坛", "list", ["http://b.example/"], 600, ["forum"], "合川区")
    )
    first = item(
        "http://a.example/1.html", XSS, DAY + timedelta(hours=9), "tn", ["news"], rules=[RULE]
    )
    first.event_id = first.id
    store.items.upsert_many(
        [
            first,
            item(
                "http://a.example/2.html",
                "潼南疫情通报",
                DAY + timedelta(hours=10),
                "tn",
                ["news"],
                rules=[RULE],
                event_id=first.id,
            ),
            item("http://a.example/3.html", "潼南天气", DAY + timedelta(hours=11), "tn", ["news"]),
            item("http://b.example/4.html", "合川帖子", DAY + timedelta(hours=12), "hc", ["forum"]),
            # the next day: in the weekly report, not in the daily one
            item(
                "http://b.example/5.html",
                "合川帖子二",
                DAY + timedelta(days=1, hours=1),
                "hc",
                ["forum"],
            ),
        ]
    )
    created = DAY + timedelta(hours=9, minutes=5)
    store.alerts.create(
        Alert(
            "a1",
            RULE,
            first.id,
            "immediate",
            "critical",
            XSS,
            first.id,
            first.url,
            "tn",
            created,
            acknowledged=created + timedelta(seconds=600),
            handling=created + timedelta(seconds=700),
            responded=created + timedelta(hours=1),
            closed=created + timedelta(hours=2),
            status="closed",
            close_reason="handled",
        )
    )
    store.alerts.create(
        Alert(
            "a2",
            RULE,
            "other",
            "immediate",
            "warning",
            "潼南疫情通报",
            "x",
            "http://a.example/9",
            "tn",
            created + timedelta(hours=1),
            acknowledged=created + timedelta(hours=1, seconds=1200),
            status="acknowledged",
        )
    )
    return app


def by_name(rows: list[dict[str, object]], key: str = "name") -> dict[object, object]:
    return {row[key]: row["value"] for row in rows}


def query_of(link: str) -> ItemQuery:
    """The item search a report link opens (the console search's parameters)."""
    params = parse_qs(urlsplit(link).query)
    assert urlsplit(link).path == "/search", link
    return ItemQuery(
        since=datetime.fromisoformat(params["since"][0]),
        until=datetime.fromisoformat(params["until"][0]),
        rules=params["rule"][0].split(",") if "rule" in params else [],
        tags=params["tag"][0].split(",") if "tag" in params else [],
        sources=params["source"][0].split(",") if "source" in params else [],
        size=1,
    )


def test_daily_report_figures_match_the_store(app: APIFlask, store: Store, viewer: Browser) -> None:
    response = viewer.get("/api/reports/daily?date=2026-11-20")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    counts = report["counts"]
    assert report["period"]["since"] == DAY.isoformat()
    assert counts["total"]["value"] == 4
    assert by_name(counts["per_rule"]) == {RULE: 2, "空方案": 0}
    assert by_name(counts["per_source"], "id") == {"tn": 3, "hc": 1}
    assert by_name(counts["per_tag"]) == {"news": 3, "forum": 1}
    assert by_name(counts["per_region"]) == {"潼南区": 3, "合川区": 1}
    assert by_name(counts["per_day"], "day") == {"2026-11-20": 4}
    # Each count's link opens a search that finds exactly that many items.
    for key in ("per_rule", "per_source", "per_tag", "per_region", "per_day"):
        for row in counts[key]:
            assert store.items.search(query_of(row["link"])).total == row["value"], row
    assert store.items.search(query_of(counts["total"]["link"])).total == 4

    alerts = report["alerts"]
    assert alerts["total"]["value"] == 2
    assert alerts["total"]["link"].startswith("/alerts?")
    assert by_name(alerts["per_severity"]) == {"critical": 1, "warning": 1}
    assert alerts["time_to_acknowledge"]["p50"]["value"] == 600
    assert alerts["time_to_acknowledge"]["p95"]["value"] == 1200
    assert alerts["time_to_respond"]["p50"]["value"] == 3600
    figures = alert_stats.report(
        store, app.extensions["yuqing"].alerts.deadlines, DAY, DAY + timedelta(days=1)
    )
    assert alerts["on_time_rate"]["value"] == figures["on_time_rate"] is not None
    assert alerts["latency"]["publish_to_first_seen"]["p50"]["value"] is None  # not recorded

    events = report["events"]
    assert [e["title"] for e in events] == [XSS, "潼南疫情通报"]  # critical first
    assert events[0]["items"]["value"] == 2
    assert events[0]["items"]["link"] == f"/events/{events[0]['event_id']}"
    assert [i["title"] for i in events[0]["first_items"]] == [XSS, "潼南疫情通报"]
    assert {s["id"] for s in report["sources"]} == {"tn", "hc"}


def test_weekly_report_and_stats(viewer: Browser) -> None:
    weekly = viewer.get("/api/reports/weekly?week=2026-W47").get_json()
    assert weekly["period"]["label"] == "2026-W47"
    assert weekly["counts"]["total"]["value"] == 5
    assert by_name(weekly["counts"]["per_day"], "day") == {"2026-11-20": 4, "2026-11-21": 1}
    stats = viewer.get(
        "/api/stats", query_string={"since": DAY.isoformat(), "until": "2026-11-22T00:00:00"}
    ).get_json()
    assert stats["total"]["value"] == 5
    assert by_name(stats["per_source"], "id") == {"tn": 3, "hc": 2}


def test_bad_periods_name_the_field(viewer: Browser) -> None:
    for url, field in [
        ("/api/reports/daily?date=2026-13-01", "date"),
        ("/api/reports/weekly?week=2026-W60", "week"),
        ("/api/reports/weekly?week=last", "week"),
        ("/api/stats?since=2026-11-22T00:00:00%2B08:00&until=2026-11-20T00:00:00%2B08:00", "since"),
    ]:
        response = viewer.get(url)
        assert response.status_code == 400, url
        assert response.get_json()["field"] == field, url
    assert viewer.get("/reports/daily?date=yesterday").status_code == 400


def test_anonymous_is_refused(app: APIFlask) -> None:
    client = app.test_client()
    assert client.get("/api/reports/daily?date=2026-11-20").status_code == 401
    assert client.get("/api/stats").status_code == 401
    assert client.get("/reports/daily?date=2026-11-20").status_code == 302


def _report_html(page: str) -> str:
    found = re.search(r'<article id="report".*?</article>', page, re.S)
    assert found
    return found.group(0)


def test_report_page_links_every_number_and_escapes_titles(viewer: Browser) -> None:
    response = viewer.get("/reports/daily?date=2026-11-20")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'id="report-download"' in page and "@media print" not in page
    html = _report_html(page)
    # Take away links, labels (row and column headings), times and markup: no figure is left.
    bare = re.sub(r"<a\b[^>]*>.*?</a>", "", html, flags=re.S)
    bare = re.sub(r"<(th|time|caption|h1)\b[^>]*>.*?</\1>", "", bare, flags=re.S)
    bare = re.sub(r"<[^>]+>", "", bare)
    assert not re.search(r"\d", bare), re.findall(r".{0,30}\d.{0,30}", bare)
    # ... and the linked figures are the report's.
    figures = re.findall(r"<a data-figure[^>]*>([^<]*)</a>", html)
    assert "4" in figures and "10 秒" not in figures and "600 秒" not in figures
    assert "10 分钟" in figures  # time to acknowledge, p50
    assert re.search(r'<a data-figure href="/events/[0-9a-f]+">2</a>', html)  # the event's items


def test_download_is_a_standalone_html_file(viewer: Browser) -> None:
    response = viewer.get("/reports/weekly?week=2026-W47&download=1")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "yuqing-weekly-2026-W47.html" in response.headers["Content-Disposition"]
    page = response.get_data(as_text=True)
    assert (
        "<style>" in page
        and "@media print" in page
        and "<script" not in page.replace("&lt;script", "")
    )
    assert 'href="http://127.0.0.1:8600/search?' in page


def test_daily_report_counts_every_run_of_its_day(store: Store, viewer: Browser) -> None:
    """111 runs in the day (more than the health window of recent runs), in the day as the
    configured zone has it: runs just before local midnight belong to the day before."""
    starts = [DAY + timedelta(minutes=3 + 13 * n) for n in range(111)]
    starts += [DAY - timedelta(minutes=m) for m in (1, 30)]  # 2026-11-19 local, same UTC day
    starts += [DAY + timedelta(days=1, minutes=1)]
    for at in starts:
        run = store.runs.start(CrawlRun("tn", "h:1", at, at + timedelta(minutes=5)))
        assert run is not None
        run.outcome, run.finished = "ok", at + timedelta(minutes=1)
        store.runs.finish(run)
    hc = store.runs.start(CrawlRun("hc", "h:1", DAY + timedelta(hours=5), DAY + timedelta(hours=6)))
    assert hc is not None

    report = viewer.get("/api/reports/daily?date=2026-11-20").get_json()
    assert report["runs"]["value"] == 112
    rows = {s["id"]: s["runs_in_period"]["value"] for s in report["sources"]}
    assert rows == {"tn": 111, "hc": 1}
    assert report["runs"]["value"] == sum(
        store.runs.started_per_source(DAY, DAY + timedelta(days=1)).values()
    )
    page = viewer.get("/reports/daily?date=2026-11-20").get_data(as_text=True)
    assert re.search(r'<a data-figure id="report-runs" href="/sources">112</a>', page)
    # Each source's count opens its page listing exactly the runs counted.
    [tn] = [s for s in report["sources"] if s["id"] == "tn"]
    listed = viewer.get(tn["runs_in_period"]["link"]).get_data(as_text=True)
    assert listed.count("<tr data-run=") == 111 and 'id="source-runs-period"' in listed
    assert "共 111 次" in listed


def test_every_alert_figure_opens_a_list_of_that_many(viewer: Browser) -> None:
    report = viewer.get("/api/reports/daily?date=2026-11-20").get_json()
    figures = [report["alerts"]["total"], *report["alerts"]["per_severity"]]
    figures += report["alerts"]["per_rule"]
    for figure in figures:
        assert figure["link"].startswith("/alerts?"), figure
        listed = viewer.get("/api" + figure["link"]).get_json()
        assert listed["total"] == figure["value"], figure


def test_backfill_of_the_day_is_counted_and_linked(store: Store, viewer: Browser) -> None:
    store.items.upsert_many(
        [
            item(
                "http://a.example/old.html",
                "旧闻",
                DAY + timedelta(hours=8),
                "tn",
                [],
                backfill=True,
            )
        ]
    )
    counts = viewer.get("/api/reports/daily?date=2026-11-20").get_json()["counts"]
    assert counts["backfill"]["value"] == 1 and counts["total"]["value"] == 5
    params = parse_qs(urlsplit(counts["backfill"]["link"]).query)
    assert params["backfill"] == ["true"]
    found = store.items.search(replace(query_of(counts["backfill"]["link"]), backfill=True))
    assert found.total == 1


def test_reports_default_to_today_so_far_with_yesterday_one_click_away(
    app: APIFlask, viewer: Browser
) -> None:
    with app.app_context():
        today = parts().now().date()
    report = viewer.get("/api/reports/daily").get_json()
    assert report["period"]["label"] == today.isoformat()
    page = viewer.get("/reports/daily").get_data(as_text=True)
    assert 'id="report-so-far"' in page
    yesterday = (today - timedelta(days=1)).isoformat()
    assert f'<a href="/reports/daily?date={yesterday}" id="report-yesterday">昨天</a>' in page
    assert 'id="report-previous"' in page and 'id="report-next"' not in page
    index = viewer.get("/reports").get_data(as_text=True)
    assert f'value="{today.isoformat()}"' in index and "今天（截至目前）" in index
    older = viewer.get(f"/reports/daily?date={yesterday}").get_data(as_text=True)
    assert 'id="report-next"' in older and 'id="report-so-far"' not in older


def test_weekly_report_has_the_rules_health_and_the_daily_one_not(
    app: APIFlask, store: Store, viewer: Browser
) -> None:
    with app.app_context():
        _, library = parts().library.current()
        data = library.model_dump(mode="json")
        for group in data["groups"]:
            if group["name"] == "疫情词":
                group["words"].append("封控")
        save_library(Acting("test", parts().store, parts().clock), Library.model_validate(data))
    weekly = viewer.get("/api/reports/weekly?week=2026-W47").get_json()
    health = weekly["rule_health"]
    assert health["days"] == 7
    rows = {r["name"]: r for r in health["rules"]}
    assert set(rows) == {RULE, "空方案"}
    assert rows[RULE]["items"]["value"] == 2
    assert rows[RULE]["per_day"] == {"2026-11-20": 2}
    assert rows[RULE]["closed"] == 1 and rows[RULE]["precision"] == 1.0
    assert rows["空方案"]["items"]["value"] == 0 and rows["空方案"]["precision"] is None
    # the figure opens the items it counts
    assert store.items.search(query_of(rows[RULE]["items"]["link"])).total == 2
    assert health["silent_words"] == {"疫情词": ["封控"]}
    assert "rule_health" not in viewer.get("/api/reports/daily?date=2026-11-20").get_json()

    page = viewer.get("/reports/weekly?week=2026-W47").get_data(as_text=True)
    section = page[page.index('id="report-rule-health"') :]
    assert "规则健康" in section and "封控" in section
    assert f'data-rule="{RULE}"' in section
    english = viewer.get("/reports/weekly?week=2026-W47&lang=en").get_data(as_text=True)
    assert "Rule health" in english and "Words not seen in this period" in english


def test_the_report_has_a_section_per_watched_region_and_township(
    store: Store, viewer: Browser
) -> None:
    """Watched regions (the sources' home regions here: 潼南区, 合川区) with their
    townships: items, negative items and share, alerts — each linked to a list of that
    many."""
    from analysis.item import default as analyzer

    later = DAY + timedelta(days=3)  # 2026-11-23: only these items
    stories = [
        ("http://a.example/r1.html", "潼南区双江镇一厂房坍塌致两人被困", 9),
        ("http://a.example/r2.html", "潼南区梓潼街道举办丰收节", 10),
        ("http://a.example/r3.html", "潼南区双江镇开展防汛演练", 11),
        ("http://b.example/r4.html", "合川区钓鱼城景区游客增多", 12),
    ]
    items = [
        analyzer().analyze(item(url, title, later + timedelta(hours=h), "tn", ["news"]))
        for url, title, h in stories
    ]
    store.items.upsert_many(items)
    assert items[0].sentiment == "negative" and items[1].sentiment != "negative"
    store.alerts.create(
        Alert("r1", RULE, items[0].id, "immediate", "critical", items[0].title, items[0].id,
              items[0].url, "tn", later + timedelta(hours=9, minutes=5), region="500152110")
    )  # fmt: skip
    report = viewer.get("/api/reports/daily?date=2026-11-23").get_json()
    regions = {r["code"]: r for r in report["regions"]}
    assert list(regions) == ["500117", "500152"]
    tongnan = regions["500152"]
    assert tongnan["name"] == "重庆市 潼南区"
    assert (tongnan["items"]["value"], tongnan["negative"]["value"]) == (3, 1)
    assert tongnan["negative_share"]["value"] == 0.333 and tongnan["alerts"]["value"] == 1
    towns = {t["code"]: t for t in tongnan["townships"]}
    assert list(towns) == ["500152110", "500152002"]  # most items first
    assert towns["500152110"]["name"] == "双江镇"
    assert [towns["500152110"][k]["value"] for k in ("items", "negative", "alerts")] == [2, 1, 1]
    assert towns["500152002"]["negative_share"]["value"] == 0.0
    assert regions["500117"]["items"]["value"] == 1

    # Every figure opens a list of exactly that many.
    for row in [tongnan, *tongnan["townships"], regions["500117"]]:
        for key in ("items", "negative"):
            params = parse_qs(urlsplit(row[key]["link"]).query)
            query = ItemQuery(
                q=params["q"][0],
                since=datetime.fromisoformat(params["since"][0]),
                until=datetime.fromisoformat(params["until"][0]),
                size=1,
            )
            assert store.items.search(query).total == row[key]["value"], (row["code"], key)
        listed = viewer.get("/api" + row["alerts"]["link"]).get_json()
        assert listed["total"] == row["alerts"]["value"], row["code"]

    # The console shows the section (and in English).
    page = viewer.get("/reports/daily?date=2026-11-23").get_data(as_text=True)
    assert 'id="report-regions"' in page and "双江镇" in page and "33%" in page
    english = viewer.get("/reports/daily?date=2026-11-23&lang=en").get_data(as_text=True)
    assert "By place" in english and "Negative share" in english and "属地情况" not in english
