"""``POST /_admin/publish``: make a story appear now, for tests and live demos."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .model import Article, Draft
from .render import get_site

bp = Blueprint("admin", __name__, url_prefix="/_admin")


def _error(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify(error=message), status


def _original(ref: Any) -> Article | None:
    site = get_site()
    if isinstance(ref, int):
        return next((a for a in site.articles if a.id == ref), None)
    return site.find(ref) if isinstance(ref, str) else None


@bp.post("/publish")
def publish() -> tuple[Response, int]:
    """Publish a JSON article now.

    Required: ``title``, ``body`` (paragraphs separated by newlines). Optional: ``section``
    (news/shehui/zwgk), ``encoding`` (utf-8/gbk/gb18030), ``declared_charset`` (null for no
    ``<meta>``), ``repost_of`` (article id or path; shares its story id), ``author``,
    ``source``, ``kind``, ``topics``. Answers 201 with ``id``, ``path``, ``url``, ``story_id``.
    """
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _error("expected a JSON object")
    title, body = data.get("title"), data.get("body")
    if not isinstance(title, str) or not title.strip() or not isinstance(body, str):
        return _error("title and body must be strings, title non-empty")
    original = None
    if data.get("repost_of") is not None:
        original = _original(data["repost_of"])
        if original is None:
            return _error("repost_of names no article", 404)
    section = data.get("section", "news")
    encoding = data.get("encoding", "utf-8")
    gov = section == "zwgk"
    draft = Draft(
        title=title,
        body=body,
        section=section,
        author=data.get("author", None if gov else "记者 周敏"),
        source=data.get("source", "区政府办公室" if gov else "潼南区融媒体中心"),
        encoding=encoding,
        declared_charset=data.get("declared_charset", encoding),
        kind=data.get("kind", original.kind if original else "unrelated"),
        topics=tuple(data.get("topics", original.topics if original else ())),
    )
    try:
        article = get_site().publish(draft, repost_of=original)
    except ValueError as exc:
        return _error(str(exc))
    reply = jsonify(
        id=article.id,
        path=article.path,
        url=request.url_root.rstrip("/") + article.path,
        story_id=article.story_id,
        published=article.published.isoformat(),
    )
    return reply, 201
