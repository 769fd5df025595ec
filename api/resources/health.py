"""``GET /api/health``: is the service up, and can it reach its store (no login needed,
for load balancers and the container health check)."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, jsonify

from api.context import parts
from api.errors import problem
from store import StoreError

bp = APIBlueprint("health", __name__, tag="health")


@bp.get("/health")
@bp.doc(summary="Service and store health", security=[])
def health() -> Response:
    try:
        return jsonify({"status": "ok", "store": parts().store.health()})
    except StoreError as e:
        return problem(503, "Service Unavailable", str(e))
