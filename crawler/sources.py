"""The source registry: loading ``sources.yaml``, validating sources, emergency crawling.

The embedded default (``crawler/sources.yaml``) seeds the store
(:func:`crawler.operations.seed_sources`); from then on the store is the registry, changed
through :mod:`crawler.operations`, so an edited source is never overwritten by the file.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import yaml
from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from crawler.urls import UrlRefused, parse_url
from store import Invalid, Store
from store.model import RobotsPolicy, Source, SourceType

SELECTOR_FIELDS = ("links", "next", "title", "body", "time")
MIN_INTERVAL = 60  # seconds; below this a source is being hammered, not watched
_REQUIRED = ("id", "name", "type", "start_urls", "interval")
_FIELDS = {f.name for f in fields(Source)} - {"version", "emergency_interval", "emergency_until"}


class SourceError(Invalid):
    """A source definition is wrong; the message names the source and the field."""

    field: str

    def __init__(self, source_id: str, field: str, problem: str) -> None:
        super().__init__(f"source {source_id!r}: {field}: {problem}", field)
        self.source_id = source_id


def is_xpath(expression: str) -> bool:
    """XPath if it starts like a path or a parenthesised path; CSS otherwise."""
    return expression.lstrip().startswith(("/", "(", "./"))


def check_selector(source_id: str, field: str, expression: str) -> None:
    """Raise :class:`SourceError` unless ``expression`` compiles as XPath or CSS."""
    if not isinstance(expression, str) or not expression.strip():
        raise SourceError(source_id, field, "must be a non-empty CSS or XPath expression")
    try:
        if is_xpath(expression):
            etree.XPath(expression)
        else:
            etree.XPath(HTMLTranslator().css_to_xpath(expression))
    except Exception as e:  # cssselect and lxml raise several unrelated types
        kind = "XPath" if is_xpath(expression) else "CSS"
        raise SourceError(source_id, field, f"not a valid {kind} expression: {e}") from e


def select(selector: Selector, expression: str) -> list[str]:
    """Texts selected by a validated CSS or XPath ``expression``."""
    found = selector.xpath(expression) if is_xpath(expression) else selector.css(expression)
    return [text.strip() for text in found.getall() if text.strip()]


def validate(source: Source) -> Source:
    """Check every field of ``source``; returns it, or raises :class:`SourceError`."""
    sid = source.id
    if not sid or not all(c.isalnum() or c in "-_." for c in sid):
        raise SourceError(sid, "id", "letters, digits, '-', '_' and '.' only")
    if source.type not in get_args(SourceType):
        raise SourceError(sid, "type", f"one of {', '.join(get_args(SourceType))}")
    if not source.start_urls:
        raise SourceError(sid, "start_urls", "at least one URL is needed")
    for n, url in enumerate(source.start_urls):
        try:
            parse_url(url, f"start_urls[{n}]")
        except UrlRefused as e:
            raise SourceError(sid, e.field, e.problem) from e
    if not isinstance(source.interval, int) or source.interval < MIN_INTERVAL:
        raise SourceError(sid, "interval", f"whole seconds, at least {MIN_INTERVAL}")
    if source.robots not in get_args(RobotsPolicy):
        raise SourceError(sid, "robots", f"one of {', '.join(get_args(RobotsPolicy))}")
    if source.encoding is not None:
        try:
            codecs.lookup(source.encoding)
        except LookupError as e:
            raise SourceError(sid, "encoding", f"unknown encoding {source.encoding!r}") from e
    for name, expression in source.selectors.items():
        if name not in SELECTOR_FIELDS:
            raise SourceError(sid, f"selectors.{name}", f"one of {', '.join(SELECTOR_FIELDS)}")
        check_selector(sid, f"selectors.{name}", expression)
    if not isinstance(source.max_pages, int) or source.max_pages < 1:
        raise SourceError(sid, "max_pages", "a whole number, at least 1")
    if not isinstance(source.tags, list) or not all(isinstance(t, str) for t in source.tags):
        raise SourceError(sid, "tags", "a list of words")
    return source


def parse_sources(data: Any, where: str) -> list[Source]:
    """Sources from the YAML document ``data`` (``sources: [...]``), each validated."""
    entries = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SourceError("-", "sources", f"{where} must hold a list under 'sources:'")
    out: dict[str, Source] = {}
    for n, entry in enumerate(entries):
        sid = str(entry.get("id", f"#{n + 1}")) if isinstance(entry, dict) else f"#{n + 1}"
        if not isinstance(entry, dict):
            raise SourceError(sid, "-", "each source is a mapping of fields")
        unknown = sorted(set(entry) - _FIELDS)
        if unknown:
            raise SourceError(sid, unknown[0], f"unknown field (expected {', '.join(_FIELDS)})")
        missing = [name for name in _REQUIRED if name not in entry]
        if missing:
            raise SourceError(sid, missing[0], "required")
        values = dict(entry)
        if isinstance(values["start_urls"], str):
            values["start_urls"] = [values["start_urls"]]
        values.setdefault("selectors", {})
        if sid in out:
            raise SourceError(sid, "id", "defined twice")
        out[sid] = validate(Source(**values))
    return list(out.values())


def load_sources(path: str | Path | None = None) -> list[Source]:
    """Sources in the YAML file ``path``, or the embedded default."""
    if path is None:
        text = resources.files("crawler").joinpath("sources.yaml").read_text("utf-8")
        where = "the embedded sources.yaml"
    else:
        text, where = Path(path).read_text("utf-8"), str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SourceError("-", "-", f"{where} is not valid YAML: {e}") from e
    return parse_sources(data, where)


def set_emergency(
    store: Store,
    *,
    interval: int,
    until: datetime,
    source_ids: Iterable[str] = (),
    tags: Iterable[str] = (),
) -> list[Source]:
    """Crawl the named sources, and those carrying any of ``tags``, every ``interval``
    seconds until ``until``; ``until`` in the past ends it. Running schedulers pick the
    change up within a minute. Part of switching emergency mode (wired in
    :func:`yuqing.wiring.build_alerting`), whose audit entry names the sources changed."""
    if until.tzinfo is None:
        raise ValueError("until needs a time zone")
    wanted, tagged = set(source_ids), set(tags)
    changed = []
    for source in store.sources.list():
        if source.id in wanted or tagged & set(source.tags):
            source.emergency_interval, source.emergency_until = interval, until
            changed.append(store.sources.put(source))
    return changed
