"""Showing where words matched: the one place untrusted text becomes HTML.

Crawled titles and bodies are untrusted. Every piece of them shown as HTML (search
fragments, alert pages, emails, chat cards, the live test box) goes through
:func:`mark`: the text is escaped piece by piece and only ``<mark>`` is added, by
offsets, never by inserting markup into the text. Plain-text channels use
:func:`bracket`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from rules.syntax import And, Near, Node, Or, Scoped, Word

Span = tuple[int, int]
FRAGMENT_CHARS = 80
MAX_FRAGMENTS = 3


def merged(spans: Iterable[Span], length: int) -> list[Span]:
    """``spans`` inside ``[0, length)``, sorted, overlapping and touching ones joined."""
    out: list[Span] = []
    for start, end in sorted({(max(0, s), min(length, e)) for s, e in spans}):
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def mark(text: str, spans: Iterable[Span]) -> Markup:
    """``text`` as escaped HTML with each span in ``<mark>``."""
    out, pos = [], 0
    for start, end in merged(spans, len(text)):
        out += [escape(text[pos:start]), Markup("<mark>%s</mark>") % text[start:end]]
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def bracket(text: str, spans: Iterable[Span]) -> str:
    """``text`` with each span in 【】, for plain-text messages."""
    out, pos = [], 0
    for start, end in merged(spans, len(text)):
        out += [text[pos:start], f"【{text[start:end]}】"]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def hit_spans(hits: Iterable[Mapping[str, Any]], field: str) -> list[Span]:
    """The original-text spans of the matcher's hits in ``field``."""
    return [
        (h["start"], h["end"])
        for h in hits
        if h.get("field") == field
        and isinstance(h.get("start"), int)
        and isinstance(h.get("end"), int)
    ]


def word_spans(text: str, words: Sequence[str]) -> list[Span]:
    """Where ``words`` occur in ``text``, case-insensitively (longest first)."""
    words = [w for w in dict.fromkeys(words) if w]
    if not text or not words:
        return []
    pattern = re.compile(
        "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE
    )
    return [m.span() for m in pattern.finditer(text)]


def fragments(text: str, spans: Iterable[Span]) -> list[Markup]:
    """Up to :data:`MAX_FRAGMENTS` pieces of ``text`` of about :data:`FRAGMENT_CHARS`
    characters around the spans, each escaped with its spans marked."""
    spans = merged(spans, len(text))
    found: list[Markup] = []
    i = 0
    while i < len(spans) and len(found) < MAX_FRAGMENTS:
        # Short texts (titles) and early matches show from the start, as a reader would.
        first = spans[i][0]
        start = 0 if first < FRAGMENT_CHARS // 2 else first - FRAGMENT_CHARS // 4
        end = min(len(text), start + FRAGMENT_CHARS)
        inside = []
        while i < len(spans) and spans[i][0] < end:
            inside.append((spans[i][0] - start, min(spans[i][1], end) - start))
            i += 1
        found.append(mark(text[start:end], inside))
    return found


def positive_words(node: Node, field: str) -> list[str]:
    """Words whose presence in ``field`` makes ``node`` match (those worth marking)."""
    found: list[str] = []

    def visit(n: Node, scope: str | None) -> None:
        if isinstance(n, Word):
            if scope in (None, field):
                found.append(n.text)
        elif isinstance(n, Scoped):
            visit(n.child, n.field)
        elif isinstance(n, Near):
            visit(n.left, scope)
            visit(n.right, scope)
        elif isinstance(n, And | Or):
            for child in n.children:
                visit(child, scope)

    visit(node, None)
    return found


def search_fragments(text: str, node: Node, field: str) -> list[Markup]:
    """The highlight fragments of a search result's ``field`` for query ``node``."""
    return fragments(text, word_spans(text, positive_words(node, field)))
