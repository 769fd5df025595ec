"""Every error as an RFC 9457 problem document, never an HTML page or a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from store import QueryError, StoreUnavailable

log = logging.getLogger(__name__)


def problem(status: int, title: str, detail: str = "", **extra: object) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, **extra}
    if detail:
        body["detail"] = detail
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(e: HTTPException) -> Response:
        return problem(e.code or 500, e.name, e.description or "")

    @app.errorhandler(QueryError)
    def _query(e: QueryError) -> Response:
        extra: dict[str, object] = {"field": e.field}
        if e.position is not None:
            extra["position"] = e.position
        return problem(400, "Bad Request", e.message, **extra)

    @app.errorhandler(StoreUnavailable)
    def _unavailable(e: StoreUnavailable) -> Response:
        return problem(503, "Service Unavailable", str(e))

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Response:
        log.exception("unhandled error")
        return problem(500, "Internal Server Error", "an internal error was logged")
