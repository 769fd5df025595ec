"""The operators' console: server-rendered zh-CN pages (English on request), one
blueprint per area, every asset served from ``/static``."""

from __future__ import annotations

from datetime import datetime

from apiflask import APIFlask
from flask import g

from api.console import (
    admin,
    alerts,
    audit,
    channels,
    dashboard,
    discovery,
    docs,
    i18n,
    keywords,
    login,
    mail,
    messages,
    reports,
    search,
    sources,
)
from api.context import parts
from store.localtime import local_time, zone_name
from store.model import HEALTH_KINDS, EmergencySwitch

# Each area module has a blueprint ``bp`` and may have ``ENGLISH``: its strings' English.
AREAS = (
    login, docs, dashboard, alerts, channels, search, keywords, sources, reports, admin, audit,
    mail, discovery,
)  # fmt: skip


def emergencies() -> list[EmergencySwitch]:
    """Emergency switches that are on, for the banner on every page."""
    now = parts().now()
    return [
        s for s in parts().store.emergencies.list() if s.on and (s.until is None or s.until > now)
    ]


def shown_time(value: datetime | str | None, seconds: bool = False, named: bool = True) -> str:
    """The ``local`` template filter: a time in the configured zone with its name, in the
    page's language (store.localtime, as emails and reports show times)."""
    return local_time(value, parts().zone, i18n.language(), seconds=seconds, named=named)


# A crawl run's outcome as operators read it (the stored value stays the API's).
OUTCOME_LABELS = {
    "running": "运行中",
    "ok": "成功",
    "partial": "部分成功",
    "failed": "失败",
    "blocked": "被拦截",
    "lost": "中断",
    "abandoned": "已停止",
}
i18n.ENGLISH.update(
    {
        "运行中": "running",
        "成功": "ok",
        "部分成功": "partial",
        "失败": "failed",
        "被拦截": "blocked",
        "中断": "lost",
        "已停止": "stopped",
        "连续采集失败": "failing",
        "被反爬拦截": "blocked",
        "长时间无新信息": "silent",
        "页面解析失败": "parse failures",
        "乱码": "garbled text",
        "已恢复": "recovered",
    }
)


def outcome_label(outcome: str | None) -> str:
    return i18n.gettext(OUTCOME_LABELS.get(outcome or "", outcome or "-"))


def health_kind(kind: str) -> str:
    """A source health problem's name (failing, silent, ...) in the page's language."""
    return i18n.gettext(HEALTH_KINDS.get(kind, kind))


def rule_label(rule: str) -> str:
    """An alert's rule as shown: a source health alert's ``source:ID`` reads 采集源 ID."""
    kind, _sep, source = rule.partition(":")
    return f"{i18n.gettext('采集源')} {source}" if kind == "source" and source else rule


def source_name(source_id: str | None) -> str:
    """A source as operators know it: its name (the id when it has none or is gone).
    The sources are read once per request."""
    if not source_id:
        return ""
    names = g.get("source_names")
    if names is None:
        names = g.source_names = {s.id: s.name for s in parts().store.sources.list()}
    return names.get(source_id) or source_id


def register(app: APIFlask) -> None:
    app.jinja_env.filters["local"] = shown_time
    app.jinja_env.filters["source_name"] = source_name
    # A refusal from the layers below, in Chinese on Chinese pages (api/console/messages.py).
    app.jinja_env.filters["refusal"] = messages.shown
    app.jinja_env.globals["zone_name"] = lambda: zone_name(parts().zone, i18n.language())
    app.jinja_env.globals["_"] = i18n.gettext
    app.jinja_env.globals["role_label"] = i18n.role_label
    app.jinja_env.globals["rule_label"] = rule_label
    app.jinja_env.globals["outcome_label"] = outcome_label
    app.jinja_env.globals["health_kind"] = health_kind
    app.jinja_env.globals["notice_kind"] = alerts.notice_kind
    # Globals, not context: the keyword macros (imported without context) use it too.
    app.jinja_env.globals["change_note"] = keywords.change_note
    app.jinja_env.globals["diff_line"] = keywords.diff_line
    app.jinja_env.globals["lang"] = i18n.language
    app.jinja_env.globals["emergencies"] = emergencies
    channels.register_globals(app)
    for module in AREAS:
        i18n.AREA_ENGLISH[module.bp.name] = getattr(module, "ENGLISH", {})
        app.register_blueprint(module.bp)
