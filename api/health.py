"""``GET /api/health``: is the service up, and can it reach its store."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from api.errors import problem
from store import StoreError

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Response:
    store = current_app.extensions["yuqing"]["store"]
    try:
        return jsonify({"status": "ok", "store": store.health()})
    except StoreError as e:
        return problem(503, "Service Unavailable", str(e))
