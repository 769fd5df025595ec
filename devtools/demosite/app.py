"""The Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask

from . import admin, bad, corpus, feeds, views
from .conditional import make_conditional
from .model import SECTIONS
from .site import Clock, DemoSite, system_clock


def create_app(clock: Clock | None = None, seed: int = 0, live: bool = False) -> Flask:
    """A demo site app; its state and ground truth is ``app.extensions["demosite"]``.

    ``clock`` (default: wall clock) stamps articles published later; ``seed`` picks the
    filler archive, the same seed always giving the same site. ``live``: an empty site for
    the demo world to fill (see :class:`DemoSite`).
    """
    app = Flask(__name__)
    site = DemoSite(clock or system_clock, seed, live)
    app.extensions["demosite"] = site
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    @app.context_processor
    def template_globals() -> dict[str, Any]:
        return {
            "site": site,
            "sections": SECTIONS,
            "corpus": corpus,
            "sidebar": site.latest(limit=10),
        }

    for blueprint in (views.bp, feeds.bp, bad.bp, admin.bp):
        app.register_blueprint(blueprint)
    app.register_error_handler(404, views.not_found)
    app.after_request(make_conditional)
    app.wsgi_app = site.requests.wrap(app.wsgi_app)  # type: ignore[method-assign, assignment]
    return app
