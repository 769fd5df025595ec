"""The HTTP API (``/api/...``, OpenAPI at ``/api/openapi.json``) and the operators'
console (server-rendered pages), built by :func:`create_app`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apiflask import APIFlask
from flask import Flask, Response, request

from api import auth, console, errors, resources
from api.console import i18n
from api.context import Parts

VERSION = "0.1.0"


def create_app(
    parts: Parts, *, secret_key: str, secure_cookies: bool = False, session_hours: int = 12
) -> APIFlask:
    """Build the app around ``parts`` (see :func:`yuqing.wiring.app_for`); sessions and
    links are signed with ``secret_key``; ``secure_cookies`` when served over https."""
    app = APIFlask(
        __name__,
        title="yuqing API",
        version=VERSION,
        spec_path="/api/openapi.json",
        docs_path=None,  # the console serves the docs page with local assets
        json_errors=False,
    )
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="yuqing_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=session_hours),
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        VALIDATION_ERROR_STATUS_CODE=400,
        VALIDATION_ERROR_SCHEMA=errors.PROBLEM_SCHEMA,
        HTTP_ERROR_SCHEMA=errors.PROBLEM_SCHEMA,
        SECURITY_SCHEMES={
            "token": {"type": "http", "scheme": "bearer", "description": "yuqing users token"},
            "session": {"type": "apiKey", "in": "cookie", "name": "yuqing_session"},
        },
        INFO={
            "description": "Public-opinion monitoring: keywords, items, events, alerts, "
            "sources. Errors are RFC 9457 problem documents."
        },
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["yuqing"] = parts
    app.extensions["yuqing.throttle"] = auth.LoginThrottle()
    errors.register(app)
    app.before_request(auth.protect)
    app.after_request(auth.security_headers)
    app.jinja_env.globals["csrf_token"] = auth.csrf_token
    app.jinja_env.globals["current_user"] = auth.current_user
    resources.register(app)
    console.register(app)

    @app.spec_processor
    def _complete(spec: dict[str, Any] | str) -> dict[str, Any] | str:
        if isinstance(spec, dict):
            _document_errors(spec, _public_paths(app))
            _unique_schemas(spec)
        return spec

    return app


def _unique_schemas(spec: dict[str, Any]) -> None:
    """One component per model, named by its title: the same pydantic model nested in two
    request bodies comes out as ``GroupCreate.Word`` and ``GroupUpdate.Word``, both titled
    ``Word``, and client generators (openapi-python-client) drop what they cannot name
    apart. Identical copies become one ``Word``; a title shared by different schemas is
    prefixed with the parent's name. Every ``$ref`` follows."""
    schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})
    text = json.dumps(spec)
    for unused in ("HTTPError", "ValidationError"):  # APIFlask's, replaced by Problem
        if f'"#/components/schemas/{unused}"' not in text:
            schemas.pop(unused, None)
    nested = [name for name in schemas if "." in name]
    renamed: dict[str, str] = {}
    for name in nested:
        schema = schemas[name]
        title = str(schema.get("title") or name.rsplit(".", 1)[1])
        same = [n for n in nested if schemas[n].get("title") == schema.get("title")]
        distinct = {json.dumps(schemas[n], sort_keys=True) for n in same}
        unique = title if len(distinct) == 1 and title not in schemas else name.replace(".", "")
        renamed[name] = unique
    if not renamed:
        return
    text = json.dumps(spec)
    for old, new in renamed.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    fixed = json.loads(text)
    components = fixed["components"]["schemas"]
    for old, new in renamed.items():
        schema = components.pop(old)
        components.setdefault(new, schema | {"title": new})
    spec.clear()
    spec.update(fixed)


def _public_paths(app: APIFlask) -> set[str]:
    """OpenAPI paths of views without :func:`api.auth.require` (e.g. the health check)."""
    return {
        re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if not hasattr(app.view_functions[rule.endpoint], "required_role")
    }


def _document_errors(spec: dict[str, Any], public: set[str]) -> None:
    """Say once what holds for every operation: a token or a session is needed (except
    on ``public`` paths), any 4xx answer is a problem document, and a view without a
    declared answer returns JSON."""
    spec["security"] = [{"token": []}, {"session": []}]
    # One named schema every error answer refers to (clients get one Problem type).
    spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = {
        **errors.PROBLEM_SCHEMA,
        "title": "Problem",
    }
    problem = {
        "description": "Problem (RFC 9457)",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    for name, path in spec.get("paths", {}).items():
        for operation in path.values():
            if name in public:
                operation["security"] = []
            responses = operation.setdefault("responses", {})
            if not any(code.startswith("2") for code in responses):
                responses["200"] = {"description": "OK", "content": {"application/json": {}}}
            for code in [c for c in responses if c.startswith("4")]:
                responses[code] = {**problem, "description": responses[code]["description"]}
            responses.setdefault("4XX", problem)


def create_waiting_app(reason: Callable[[], str], *, secret_key: str) -> Flask:
    """What the API port answers while the store cannot be reached at start-up: 503 with
    ``Retry-After`` everywhere (a problem document under /api/, naming the part that is
    down, and a Chinese page in the console), so a load balancer or orchestrator sees the
    outage instead of a closed port. ``reason`` says why, as of now."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secret_key, SESSION_COOKIE_NAME="yuqing_session")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.jinja_env.globals["_"] = i18n.gettext
    app.jinja_env.globals["lang"] = i18n.language
    app.after_request(auth.security_headers)

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def _down(path: str) -> Response:
        response = errors.unavailable(reason())
        if request.path == "/api/health":
            response = errors.problem(
                503, detail=reason(), status_of={"api": "ok", "store": "unavailable"}
            )
            response.headers["Retry-After"] = str(errors.RETRY_AFTER)
        return response

    return app
