"""Conditions on what analysis found about an item rather than on its words:
``region:500152`` (the item mentions 潼南区 or a place under it), ``region.primary:500152``
(its primary region is there), ``sentiment:negative`` and ``negative>=0.7``.

Each condition is a *fact* an item has or lacks. :func:`facts` lists an item's facts once;
the matcher, SQLite and Elasticsearch then only test whether a fact is in the list, so the
three cannot disagree on what a condition means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SENTIMENTS = ("negative", "neutral", "positive")
# One decimal: a threshold is a judgement (0.7 = "clearly negative"), not a measurement,
# and a short list of thresholds is what lets a stored item carry its facts as terms.
FACT = re.compile(
    r"(?:(region|region\.primary):(\d{2,12}(?:-\d{1,6})?)"
    r"|sentiment:(negative|neutral|positive)"
    r"|negative>=(0(?:\.\d)?|1(?:\.0)?))(?![\w.])"
)
STARTS = ("region:", "region.primary:", "sentiment:", "negative>=")


def threshold_steps(negative: float) -> int:
    """How many tenths ``negative`` reaches (0.73 -> 7), on its two-decimal value."""
    return min(10, round(negative * 100) // 10)


def facts(
    regions: Iterable[str], primary: Iterable[str], sentiment: str, negative: float
) -> list[str]:
    """Every fact of an item: its region codes (each with the codes above it), its primary
    region's codes, its sentiment class and each ``negative>=`` threshold it reaches."""
    out = [f"region:{c}" for c in regions]
    out += [f"region.primary:{c}" for c in primary]
    if sentiment:
        out.append(f"sentiment:{sentiment}")
    out += [f"negative>={_tenths(k)}" for k in range(threshold_steps(negative) + 1)]
    return out


def normal(text: str) -> str | None:
    """The fact ``text`` names, written the way :func:`facts` writes it (``negative>=0.70``
    is not accepted, ``negative>=1`` becomes ``negative>=1.0``); None if it names none."""
    m = FACT.fullmatch(text)
    if m is None:
        return None
    if m.group(1):
        return f"{m.group(1)}:{m.group(2)}"
    if m.group(3):
        return f"sentiment:{m.group(3)}"
    return f"negative>={_tenths(round(float(m.group(4)) * 10))}"


def _tenths(k: int) -> str:
    return f"{k // 10}.{k % 10}"
