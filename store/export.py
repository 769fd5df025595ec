"""Cells of CSV and XLSX exports: the one neutraliser every export uses.

A spreadsheet runs a cell whose text starts with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return before one) as a formula: a crawled title or an imported keyword such as
``=HYPERLINK("http://evil/", "点击")`` would run on the operator's machine (CSV
injection). :func:`cell` prefixes such text with an apostrophe, which spreadsheets show as
text and do not display; :func:`uncell` removes it again, so keyword files round-trip.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def cell(value: Any) -> str:
    """A cell's text: lists joined, times in ISO 8601, formulas defused. Text that starts
    with an apostrophe gets one more, so :func:`uncell` gives it back unchanged."""
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, datetime):
        value = value.isoformat()
    text = "" if value is None else str(value)
    return QUOTE + text if text.startswith((*FORMULA_START, QUOTE)) else text


def uncell(text: str) -> str:
    """The text :func:`cell` was given (for reading an exported file back)."""
    return text[1:] if text.startswith(QUOTE) else text
