"""Times as operators read them: in the configured zone, with the zone's name, everywhere
(console, emails, reports). Stored times stay in UTC; only showing them goes through
:func:`local_time`, so no page shows UTC beside UTC+8 without saying which."""

from __future__ import annotations

from datetime import datetime, tzinfo
from email.utils import parsedate_to_datetime

# Names operators know, in Chinese and English; other zones are shown by offset and key.
_NAMES: dict[str, tuple[str, str]] = {
    "Asia/Shanghai": ("北京时间", "Beijing time"),
    "Asia/Chongqing": ("北京时间", "Beijing time"),
    "Asia/Urumqi": ("乌鲁木齐时间", "Urumqi time"),
    "Asia/Hong_Kong": ("香港时间", "Hong Kong time"),
    "Asia/Taipei": ("台北时间", "Taipei time"),
    "UTC": ("协调世界时", "UTC"),
    "Etc/UTC": ("协调世界时", "UTC"),
}
UNKNOWN = {"zh": "未知", "en": "unknown"}


def zone_name(zone: tzinfo, lang: str = "zh") -> str:
    """``北京时间`` / ``Beijing time`` for Asia/Shanghai; ``UTC+09:00 (Asia/Tokyo)`` for a
    zone without a common name."""
    key = getattr(zone, "key", None) or str(zone)
    names = _NAMES.get(key)
    if names:
        return names[1] if lang == "en" else names[0]
    offset = datetime.now(zone).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]} ({key})"


def local_time(
    value: datetime | str | None,
    zone: tzinfo,
    lang: str = "zh",
    *,
    seconds: bool = False,
    named: bool = True,
) -> str:
    """``value`` (a datetime or ISO 8601 text) in ``zone``: ``2026-12-02 14:03 北京时间``;
    未知 / unknown when there is none. ``named=False`` leaves the zone's name out, for a
    column whose heading names it."""
    if value is None or value == "":
        return UNKNOWN["en" if lang == "en" else "zh"]
    if isinstance(value, str):
        try:
            t = datetime.fromisoformat(value)
        except ValueError:
            try:  # a mail header's date (RFC 5322)
                t = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return value  # not a time after all: shown as it came
    else:
        t = value
    shown = t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{shown} {zone_name(zone, lang)}" if named else shown
