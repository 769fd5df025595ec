"""Turning templates into response bytes in the encoding each page is meant to have."""

from __future__ import annotations

from typing import Any, cast

from flask import Response, current_app, render_template

from .model import Article
from .site import DemoSite


def get_site() -> DemoSite:
    """The DemoSite of the app handling the current request."""
    return cast(DemoSite, current_app.extensions["demosite"])


def html_response(
    template: str,
    *,
    encoding: str = "utf-8",
    declared: str | None = "utf-8",
    header_charset: str | None = "utf-8",
    status: int = 200,
    **context: Any,
) -> Response:
    """Render ``template`` and encode it as ``encoding``.

    ``declared`` goes into the page's ``<meta>``; ``header_charset`` into Content-Type. They
    are independent on purpose: mismatches are what the site exists to exercise. Characters
    the encoding lacks (a 䶮 in a GBK page's sidebar) become numeric references, as CMSs do;
    an article's own text is checked to be encodable when it is published.
    """
    html = render_template(template, declared=declared, **context)
    content_type = f"text/html; charset={header_charset}" if header_charset else "text/html"
    body = html.encode(encoding, errors="xmlcharrefreplace")
    return Response(body, status=status, content_type=content_type)


def article_response(article: Article, time_text: str | None = None) -> Response:
    """The page of ``article``; ``time_text`` overrides the shown time (for malformed dates)."""
    site = get_site()
    gov = article.section == "zwgk"
    # Sidebars list only what existed when the article went out, so its bytes (and ETag)
    # stay stable while newer stories arrive.
    earlier = site.latest(until=article.published)
    related = [a for a in earlier if a.section == article.section and a.id != article.id]
    response = html_response(
        "zwgk_article.html" if gov else "article.html",
        encoding=article.encoding,
        declared=article.declared_charset,
        header_charset=article.header_charset,
        gov_style=gov,
        heavy=gov,
        article=article,
        sidebar=earlier[:10],
        related=related[:8],
        time_text=time_text or article.published.strftime("%Y-%m-%d %H:%M"),
    )
    response.last_modified = article.published
    return response
