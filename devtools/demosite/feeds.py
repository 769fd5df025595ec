"""Machine-readable entry points: RSS, Atom, sitemap and robots.txt."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from email.utils import format_datetime

from flask import Blueprint, Response, request

from .render import get_site

bp = Blueprint("feeds", __name__)

FEED_SIZE = 40
ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _root() -> str:
    return request.url_root.rstrip("/")


def _xml(root: ET.Element, content_type: str) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, content_type=f"{content_type}; charset=utf-8")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


@bp.get("/rss.xml")
def rss() -> Response:
    """RSS 2.0 of all sections (``?section=`` one), dates in RFC 822 with +0800."""
    site, root = get_site(), _root()
    section = request.args.get("section") or None
    rss = ET.Element("rss", version="2.0")
    channel = _sub(rss, "channel")
    _sub(channel, "title", "潼南新闻网")
    _sub(channel, "link", root + "/")
    _sub(channel, "description", "潼南区新闻、民生与政务公开信息")
    _sub(channel, "language", "zh-cn")
    _sub(channel, "lastBuildDate", format_datetime(site.last_change))
    for article in site.latest(section, limit=FEED_SIZE):
        item = _sub(channel, "item")
        _sub(item, "title", article.title)
        _sub(item, "link", root + article.path)
        _sub(item, "guid", root + article.path, isPermaLink="true")
        _sub(item, "pubDate", format_datetime(article.published))
        _sub(item, "category", article.section)
        if article.author:
            _sub(item, "author", article.author)
        _sub(item, "description", article.paragraphs[0])
    return _xml(rss, "application/rss+xml")


@bp.get("/atom.xml")
def atom() -> Response:
    """Atom of all sections with zone-less timestamps meaning Asia/Shanghai local time.

    That is invalid Atom, and exactly what several Chinese CMSs emit.
    """
    site, root = get_site(), _root()
    naive = "%Y-%m-%dT%H:%M:%S"
    # Children stay unqualified: the default namespace declared here covers them.
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _sub(feed, "title", "潼南区政务公开")
    _sub(feed, "id", root + "/atom.xml")
    _sub(feed, "link", href=root + "/", rel="alternate")
    _sub(feed, "link", href=root + "/atom.xml", rel="self")
    _sub(feed, "updated", site.last_change.strftime(naive))
    for article in site.latest(limit=FEED_SIZE):
        entry = _sub(feed, "entry")
        _sub(entry, "title", article.title)
        _sub(entry, "id", root + article.path)
        _sub(entry, "link", href=root + article.path, rel="alternate")
        _sub(entry, "published", article.published.strftime(naive))
        _sub(entry, "updated", article.published.strftime(naive))
        _sub(_sub(entry, "author"), "name", article.author or article.source)
        _sub(entry, "summary", article.paragraphs[0])
    return _xml(feed, "application/atom+xml")


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    """Every article and forum thread with its W3C-datetime lastmod."""
    site, root = get_site(), _root()
    urlset = ET.Element("urlset", xmlns=SITEMAP_NS)
    pages = [(a.path, a.published) for a in site.latest()]
    pages += [(t.path, t.updated) for t in site.threads]
    for path, modified in pages:
        url = _sub(urlset, "url")
        _sub(url, "loc", root + path)
        _sub(url, "lastmod", modified.isoformat())
    return _xml(urlset, "application/xml")


@bp.get("/robots.txt")
def robots() -> Response:
    lines = ["User-agent: *", "Disallow: /private/", "", f"Sitemap: {_root()}/sitemap.xml", ""]
    return Response("\n".join(lines), content_type="text/plain; charset=utf-8")
