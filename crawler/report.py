"""A run's tally, kept in the crawler's stats so every component adds to the same one.

The runner turns it into the stored :class:`~store.model.CrawlRun` when the crawl ends.
"""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.statscollectors import StatsCollector
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from crawler.pinning import AddressRefused

PREFIX = "yuqing/"
MAX_ERRORS = 50  # per run; a broken site repeats itself
# Statuses worth trying again next run; anything else will fail the same way again.
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504, 522, 524})
CHALLENGE_STATUS = 521


def count(stats: StatsCollector, name: str, n: int = 1) -> None:
    stats.inc_value(PREFIX + name, n)


def value(stats: StatsCollector, name: str, default: Any = 0) -> Any:
    return stats.get_value(PREFIX + name, default)


def error(stats: StatsCollector, url: str, reason: str, *, transient: bool = False) -> None:
    """Record a failure with ``url`` (the run becomes ``partial``); ``transient`` ones keep
    list validators unsaved, so the next run reads the lists again and retries them."""
    count(stats, "errors")
    if transient:
        count(stats, "transient_errors")
    _listed(stats, url, reason)


def note(stats: StatsCollector, url: str, reason: str) -> None:
    """Record something wrong with what ``url`` served that did not stop the crawl
    (an empty feed, an unreadable date)."""
    count(stats, "notes")
    _listed(stats, url, reason)


def _listed(stats: StatsCollector, url: str, reason: str) -> None:
    problems: list[dict[str, str]] = stats.get_value(PREFIX + "problems", [])
    if len(problems) < MAX_ERRORS:
        problems.append({"url": url, "reason": reason})
    stats.set_value(PREFIX + "problems", problems)


def explain(failure: Failure) -> tuple[str, bool, bool]:
    """A download failure as (reason, transient, blocked)."""
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        if status == CHALLENGE_STATUS:
            return (
                f"blocked: anti-bot JavaScript challenge (HTTP {status}), not bypassed",
                True,
                True,
            )
        return f"HTTP {status}", status in TRANSIENT_STATUS, False
    if isinstance(exc, DownloadCancelledError):
        return f"too large: {exc or 'over DOWNLOAD_MAXSIZE'}", False, False
    if isinstance(exc, AddressRefused):
        return str(exc), False, False
    if isinstance(exc, IgnoreRequest):
        text = str(exc) or type(exc).__name__
        if "redirection" in text:
            return f"redirect loop or chain: {text}", False, False
        return f"ignored: {text}", False, False
    if type(exc).__module__.startswith("playwright"):
        # A rendered page (crawler.render): its first line says what the browser met.
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if type(exc).__name__ == "TimeoutError":
            return f"render timed out: the page did not settle in time ({text})", True, False
        return f"render failed: {text}", True, False
    if isinstance(exc, TimeoutError | TCPTimedOutError):
        return "timed out", True, False
    if isinstance(exc, DNSLookupError):
        return "host name not found", True, False
    return f"{type(exc).__name__}: {exc}", True, False
