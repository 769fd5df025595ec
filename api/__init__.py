"""The HTTP API and the operators' console (Flask app factory)."""

from __future__ import annotations

import secrets

from flask import Flask

from api import errors, health
from store import Store
from yuqing.config import Config


def create_app(config: Config, store: Store) -> Flask:
    """Build the app around an open ``store``; the caller owns its lifetime."""
    app = Flask(__name__)
    # Without a configured key, sessions last as long as the process: safe, if forgetful.
    app.config["SECRET_KEY"] = config.api.secret_key or secrets.token_hex(32)
    app.config["JSON_AS_ASCII"] = False
    app.extensions["yuqing"] = {"config": config, "store": store}
    errors.register(app)
    app.register_blueprint(health.bp, url_prefix="/api")
    return app
