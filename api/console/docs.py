"""``/api/docs``: the interactive API documentation, from locally served Swagger UI."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("docs", __name__)


@bp.get("/api/docs")
def docs() -> str:
    return render_template("docs.html")
