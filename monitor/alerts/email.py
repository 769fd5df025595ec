"""Email templates: zh-CN Jinja2 (HTML and plain text, no remote images), apart from the
transport (:mod:`monitor.alerts.channels.email`). Crawled text is untrusted: the HTML
templates escape everything, and matched words are highlighted by offsets over escaped
pieces (:mod:`rules.highlight`), never by inserting markup."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from monitor.alerts.notice import SEVERITY_LABELS, Notice
from rules.highlight import bracket, hit_spans, mark

EXCERPT = 80  # characters of body shown either side of the first body hit

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def highlight_html(text: str, hits: list[dict[str, Any]], field: str) -> Markup:
    """``text`` escaped, its hits in ``field`` wrapped in <mark>."""
    return mark(text, hit_spans(hits, field))


def highlight_text(text: str, hits: list[dict[str, Any]], field: str) -> str:
    """``text`` with its hits in ``field`` in 【】."""
    return bracket(text, hit_spans(hits, field))


def excerpt(body: str, hits: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The part of ``body`` around its first hit, with the hits moved to its offsets."""
    starts = [h["start"] for h in hits if h.get("field") == "body"]
    first = min(starts, default=0)
    lo, hi = max(0, first - EXCERPT), min(len(body), first + EXCERPT)
    moved = [
        h | {"start": h["start"] - lo, "end": h["end"] - lo}
        for h in hits
        if h.get("field") == "body" and lo <= h["start"] and h["end"] <= hi
    ]
    return body[lo:hi], moved


def render(template: str, **context: Any) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of ``template`` (.txt and .html; the first text line
    is the subject)."""
    context |= {"severity_label": SEVERITY_LABELS, "hl_html": highlight_html}
    context |= {"hl_text": highlight_text}
    text = _env.get_template(f"{template}.txt").render(**context)
    subject, _, body = text.partition("\n")
    html = _env.get_template(f"{template}.html").render(subject=subject, **context)
    return subject.strip(), body.lstrip("\n"), html


def render_notice(notice: Notice, ack_url: str) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the alert email for ``notice``."""
    # The templates were written against the alert; the notice carries what they use.
    alert = SimpleNamespace(
        title=notice.title,
        hits=notice.hits,
        rule=notice.rule,
        severity=notice.severity,
        source_id=notice.source,
        items=notice.items,
        url=notice.url,
    )
    return render(
        "alert",
        alert=alert,
        kind=notice.kind,
        emergency=notice.emergency,
        publish_time=notice.published,
        first_seen=notice.first_seen,
        similar=notice.items - 1,
        body=notice.body,
        body_hits=notice.body_hits,
        console_url=notice.console_url,
        ack_url=ack_url,
        more=notice.more,
        step_label=notice.step_label,
        deadline=notice.deadline,
        zone=notice.zone_name or notice.zone,
        backfill=notice.backfill,
    )
