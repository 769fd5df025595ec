"""The JSON API: one blueprint per resource, all under ``/api``."""

from __future__ import annotations

from apiflask import APIFlask

from api.resources import (
    alerts,
    audit,
    channels,
    discovery,
    events,
    health,
    items,
    jobs,
    keywords,
    reports,
    sources,
    stats,
    users,
)

BLUEPRINTS = (
    health, jobs, keywords, items, events, alerts, channels, sources, stats, reports, users,
    audit, discovery,
)  # fmt: skip


def register(app: APIFlask) -> None:
    for module in BLUEPRINTS:
        app.register_blueprint(module.bp, url_prefix="/api")
