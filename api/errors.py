"""Every error as an RFC 9457 problem document under ``/api/``, an HTML page in the
console; never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import Response, jsonify, render_template, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from monitor.alerts.tickets import TicketError
from store import ConflictError, Invalid, NotFound, QueryError, StoreUnavailable
from store.errors import as_unavailable

log = logging.getLogger(__name__)

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "the input that is wrong, if one is"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "location": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "required": ["type", "title", "status"],
}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


M = TypeVar("M", bound=BaseModel)


def first_problem(e: ValidationError) -> tuple[str, str]:
    """The field (dotted path) and message of a validation error's first problem."""
    first = e.errors()[0]
    return ".".join(str(x) for x in first["loc"]), first["msg"]


def describe(e: ValidationError) -> str:
    """``field: message`` of a validation error's first problem, for a form's error line."""
    return "{}: {}".format(*first_problem(e))


def validated(model: type[M], data: dict[str, Any]) -> M:
    """``model`` from form ``data``; a 400 naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ApiError(400, describe(e), field=first_problem(e)[0]) from e


class ApiError(Exception):
    """Raise in a view to answer with a problem document (``field`` names the bad input)."""

    def __init__(
        self,
        status: int,
        detail: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field, self.extra = status, detail, field, extra
        self.headers = headers or {}


Refusal = Invalid | NotFound | ConflictError


def refusal(e: Refusal) -> ApiError:
    """The answer to an operation's refusal: 400 (bad input), 404 or 409, naming the field."""
    if isinstance(e, Invalid):
        return ApiError(400, e.message, field=e.field, **e.details)
    if isinstance(e, NotFound):
        return ApiError(404, str(e), field=e.field)
    # A conflict the store found (no field) did not say what to do about it.
    detail = str(e) if e.field else f"{e}; reload and try again"
    return ApiError(409, detail, field=e.field)


@contextmanager
def refusals() -> Iterator[None]:
    """Raise an operation's refusal as :class:`ApiError`, for views that show it on their
    own page (the console) instead of letting the app answer with it."""
    try:
        yield
    except (Invalid, NotFound, ConflictError) as e:
        raise refusal(e) from e


def problem(status: int, title: str = "", detail: str = "", **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body |= {k: v for k, v in extra.items() if v is not None}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _wants_html() -> bool:
    return not request.path.startswith("/api/")


def _answer(status: int, detail: str, **extra: Any) -> Response:
    if _wants_html():
        html = render_template("error.html", status=status, title=TITLES.get(status), detail=detail)
        return Response(html, status=status, mimetype="text/html")
    return problem(status, detail=detail, **extra)


def register(app: APIFlask) -> None:
    @app.error_processor
    def _validation(error: HTTPError) -> Response:
        extra: dict[str, Any] = {}
        detail = str(error.message or "")
        if isinstance(error.detail, dict) and error.detail:
            # {location: {field: [messages]}} from the request schemas
            errors = [
                {"field": field, "location": location, "message": message}
                for location, fields in error.detail.items()
                for field, messages in fields.items()
                for message in messages
            ]
            first = errors[0]
            extra = {"field": first["field"], "errors": errors}
            detail = f"{first['field']}: {first['message']}"
        response = _answer(error.status_code, detail, **extra)
        response.headers.extend(error.headers or {})
        return response

    @app.errorhandler(ApiError)
    def _api(e: ApiError) -> Response:
        response = _answer(e.status, e.detail, field=e.field, **e.extra)
        response.headers.update(e.headers)
        return response

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException) -> Response:
        response = _answer(e.code or 500, e.description or "")
        for name, value in e.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(QueryError)
    def _query(e: QueryError) -> Response:
        return _answer(400, e.message, field=e.field, position=e.position)

    @app.errorhandler(TicketError)
    def _ticket(e: TicketError) -> Response:
        text = str(e)
        if text.startswith("no alert"):
            return _answer(404, text, field="id")
        field = text.split(":", 1)[0] if ":" in text and " " not in text.split(":", 1)[0] else None
        return _answer(409, text, field=field)

    @app.errorhandler(Invalid)
    @app.errorhandler(NotFound)
    @app.errorhandler(ConflictError)
    def _refused(e: Refusal) -> Response:
        return _api(refusal(e))

    @app.errorhandler(StoreUnavailable)
    def _unavailable(e: StoreUnavailable) -> Response:
        return unavailable(str(e))

    @app.errorhandler(RecursionError)
    def _too_deep(e: RecursionError) -> Response:
        # Only input nested beyond any real payload gets here (JSON parsed recursively).
        return _answer(400, "the request body is nested too deeply")

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Response:
        outage = as_unavailable(e)
        if outage is not None:
            log.warning("store unavailable: %s", outage)
            return unavailable(str(outage))
        log.exception("unhandled error")
        return _answer(500, "an internal error was logged")


RETRY_AFTER = 30  # seconds: how soon to try again while the store is unreachable


def unavailable(detail: str) -> Response:
    """503 with ``Retry-After``: the store cannot be reached (a problem document under
    /api/, a Chinese page in the console)."""
    if _wants_html():
        html = render_template("unavailable.html", detail=detail, retry=RETRY_AFTER)
        response = Response(html, status=503, mimetype="text/html")
    else:
        response = problem(503, detail=detail, part="store")
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response
