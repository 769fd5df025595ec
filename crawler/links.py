"""Finding article links and further list pages on a list page, without selectors.

Chinese portals share a few URL habits: articles carry digits (``t20210205_1234.html``,
``art_12_345.html``, ``thread-3.html``, ``?id=123``), list pages are ``index_N.html``, and
government CMSs write their paging in script: ``createPageHTML(total, current, "index",
"html")`` means ``index_1.html`` ... ``index_{total-1}.html`` exist.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from parsel import Selector

_DIGITS = re.compile(r"\d{3,}")
_LIST_PAGE = re.compile(r"(?:^|/)(?:index|list|default)(?:_\d+)?\.s?html?$|/$", re.I)
_PAGE_NAME = re.compile(r"(?:index|list)_\d+\.s?html?$", re.I)
_NEXT_WORDS = ("下一页", "下页", "后页", "next")
_SKIP_SUFFIX = re.compile(
    r"\.(?:jpe?g|png|gif|bmp|webp|pdf|docx?|xlsx?|pptx?|zip|rar|7z|mp[34]|avi|exe|apk)$", re.I
)
_CREATE_PAGE = re.compile(
    r"createPageHTML\(\s*(\d+)\s*,\s*(\d+)\s*,\s*[\"']([\w\-]+)[\"']\s*,\s*[\"'](\w+)[\"']"
)
# Article titles are whole phrases; "更多", "详细" and page numbers are not.
_MIN_TITLE_CHARS = 6


def crawlable(url: str) -> bool:
    """Whether ``url`` can be fetched: an absolute http(s) URL with a host. ``javascript:``,
    ``mailto:``, ``tel:`` and ``data:`` links (and anything unparseable) cannot."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False


def _same_site(url: str, base: str) -> bool:
    return urlsplit(url).hostname == urlsplit(base).hostname


def _folder(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}{parts.path.rsplit('/', 1)[0]}"


def article_links(selector: Selector, base_url: str) -> list[str]:
    """Absolute URLs of links that look like articles on the same site, in page order."""
    out: dict[str, None] = {}
    for anchor in selector.css("a[href]"):
        href = (anchor.attrib.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        url = urljoin(base_url, href).split("#", 1)[0]
        parts = urlsplit(url)
        text = "".join(anchor.css("::text").getall()).strip() or anchor.attrib.get("title", "")
        if (
            parts.scheme in ("http", "https")
            and _same_site(url, base_url)
            and len(text.strip()) >= _MIN_TITLE_CHARS
            and _DIGITS.search(parts.path + "?" + parts.query)
            and not _LIST_PAGE.search(parts.path)
            and not _SKIP_SUFFIX.search(parts.path)
        ):
            out[url] = None
    return list(out)


def page_links(selector: Selector, base_url: str) -> list[str]:
    """Further pages of the list at ``base_url``: ``index_N`` links, "下一页", script paging."""
    out: dict[str, None] = {}
    for match in _CREATE_PAGE.finditer(" ".join(selector.css("script::text").getall())):
        total, prefix, ext = int(match.group(1)), match.group(3), match.group(4)
        for n in range(1, total):
            out[urljoin(base_url, f"{prefix}_{n}.{ext}")] = None
    for anchor in selector.css("a[href]"):
        href = (anchor.attrib.get("href") or "").strip()
        text = "".join(anchor.css("::text").getall()).strip().lower()
        url = urljoin(base_url, href).split("#", 1)[0]
        if _folder(url) != _folder(base_url) or url == base_url:
            continue
        if _PAGE_NAME.search(urlsplit(url).path) or text in _NEXT_WORDS:
            out[url] = None
    return list(out)
