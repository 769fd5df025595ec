"""The operators' console: server-rendered zh-CN pages (English on request), one
blueprint per area, every asset served from ``/static``."""

from __future__ import annotations

from apiflask import APIFlask

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
    reports,
    search,
    sources,
)
from api.context import parts
from store.model import EmergencySwitch

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


def register(app: APIFlask) -> None:
    app.jinja_env.globals["_"] = i18n.gettext
    app.jinja_env.globals["lang"] = i18n.language
    app.jinja_env.globals["emergencies"] = emergencies
    channels.register_globals(app)
    for module in AREAS:
        i18n.AREA_ENGLISH[module.bp.name] = getattr(module, "ENGLISH", {})
        app.register_blueprint(module.bp)
