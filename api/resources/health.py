"""``GET /api/health``: is the service up, and can it reach its store (no login needed,
for load balancers and the container health check). ``parts`` says which part is down."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, jsonify

from api.context import parts
from api.errors import RETRY_AFTER, problem
from store import StoreError
from store.errors import as_unavailable

bp = APIBlueprint("health", __name__, tag="health")


@bp.get("/health")
@bp.doc(summary="Service and store health", security=[])
def health() -> Response:
    try:
        store = parts().store.health()
    except Exception as e:
        outage = as_unavailable(e) or (e if isinstance(e, StoreError) else None)
        if outage is None:
            raise
        response = problem(503, detail=str(outage), status_of={"api": "ok", "store": "unavailable"})
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    return jsonify({"status": "ok", "status_of": {"api": "ok", "store": "ok"}, "store": store})
