"""A pipeline that raises on an item must not leave a run reading ``ok, items 0, errors
0``: the crawl's ItemErrors extension turns Scrapy's item_error into a run error."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy import signals
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler import report
from crawler.records import Crawled, Page
from crawler.run import tally
from crawler.settings import SETTINGS
from store.model import CrawlRun


def test_an_item_a_pipeline_fails_on_is_a_run_error() -> None:
    crawler = get_crawler(settings_dict={"EXTENSIONS": SETTINGS["EXTENSIONS"]})
    crawler._apply_settings()  # builds the extension manager as a crawl does
    assert crawler.stats is not None
    page = Page("http://127.0.0.1:1/a.html", "s", 200, b"<html></html>", "text/html")
    crawled = Crawled(page, datetime(2026, 12, 2, tzinfo=UTC))
    try:
        raise FileNotFoundError("analysis/data/gazetteer.tsv")
    except FileNotFoundError:
        failure = Failure()
    crawler.signals.send_catch_log(
        signals.item_error, item=crawled, response=None, spider=None, failure=failure
    )
    report.count(crawler.stats, "pages")
    run = CrawlRun("s", "h", datetime(2026, 12, 2, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC))
    tally(run, crawler.stats.get_stats())
    assert run.outcome == "failed"
    assert run.errors == [
        {
            "url": "http://127.0.0.1:1/a.html",
            "reason": "processing failed: FileNotFoundError: analysis/data/gazetteer.tsv",
        }
    ]
