"""An article's own further pages ("分页": 下一页 / 第2页 / ``_2.html``).

Long articles on Chinese portals are cut into pages that share the first page's URL with a
page number added (``t20210205_123.html`` -> ``t20210205_123_2.html``, ``?page=2``). Only
such links count: a "下一页" that leads elsewhere is a list's paging or the next article.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urljoin, urlsplit

_ANCHOR = re.compile(r"<a\s[^>]*?href\s*=\s*[\"']?([^\"'\s>]+)[^>]*>(.*?)</a>", re.I | re.S)
_TAGS = re.compile(r"<[^>]+>")
_PAGE_PARAMS = ("page", "p", "pageno", "pn", "pg")
# What a link to a further page of the same article says: 下一页, >, 2, [2], 第2页.
_NEXT_TEXT = re.compile(r"^(?:下一页|下页|后一页|next|>|›|»|>>)$", re.I)
_NUMBER_TEXT = re.compile(r"^[\[【(（]?(?:第)?(\d{1,3})(?:页)?[\]】)）]?$")
# Neither pattern above matches a longer text ("【第123页】").
_LONGEST_SAID = 7
_NUMBERED_PATH = re.compile(r"^(.*)([_-])(\d{1,3})$")


def _split_ext(path: str) -> tuple[str, str]:
    head, dot, ext = path.rpartition(".")
    if dot and "/" not in ext and len(ext) <= 5:
        return head, "." + ext
    return path, ""


def _page_of(url: str, target: str) -> int | None:
    """The page number ``target`` has as a further page of the article at ``url``, or
    None when it is not one (another article, a list, another site)."""
    here, there = urlsplit(url), urlsplit(target)
    if here.hostname != there.hostname or target == url:
        return None
    q_here, q_there = dict(parse_qsl(here.query)), dict(parse_qsl(there.query))
    for name in _PAGE_PARAMS:
        if name in q_there and q_there[name].isdigit() and here.path == there.path:
            rest = {k: v for k, v in q_there.items() if k != name}
            if rest == {k: v for k, v in q_here.items() if k != name}:
                return int(q_there[name])
    if q_here != q_there:
        return None
    (base, ext), (other, other_ext) = _split_ext(here.path), _split_ext(there.path)
    if ext != other_ext:
        return None
    numbered = _NUMBERED_PATH.match(other)
    if numbered is None:
        return None
    stem, number = numbered[1] + numbered[2], int(numbered[3])
    first = _NUMBERED_PATH.match(base)
    if other.startswith(base + numbered[2]) and stem == base + numbered[2]:
        return number  # t123.html -> t123_2.html
    if first is not None and first[1] + first[2] == stem:
        return number  # t123_2.html -> t123_3.html
    return None


def _current_page(url: str) -> int:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for name in _PAGE_PARAMS:
        if query.get(name, "").isdigit():
            return int(query[name])
    return 1


def next_page(page_html: str, url: str, *, current: int | None = None) -> str | None:
    """The URL of the next page of the article at ``url``, if the page links one.

    ``current`` is this page's number when the caller knows it (it followed the links
    from page 1); otherwise it is read from the URL's query, else 1. The link must name
    page ``current + 1`` by its URL (``_2.html``, ``?page=2``) and say so (下一页, 2, 第2页),
    so the next article ("下一篇", ``t..._124.html``) and a list's paging are not taken.
    """
    number = current if current is not None else _current_page(url)
    for m in _ANCHOR.finditer(page_html):
        # What the link says before where it leads: most links of a page are headlines,
        # and resolving their URLs (urljoin) was most of the time this took. Tags, entities
        # and white space (str.split's set is re's \s) are only dealt with where there are.
        text = m.group(2)
        if "<" in text:
            text = _TAGS.sub("", text)
        if "&" in text:
            text = html.unescape(text)
        text = "".join(text.split())
        if len(text) > _LONGEST_SAID:
            continue
        said = _NUMBER_TEXT.match(text)
        if not (_NEXT_TEXT.match(text) or (said and int(said[1]) == number + 1)):
            continue
        href = html.unescape(m.group(1)).strip()
        if not href or href.startswith(("javascript:", "#", "mailto:")):
            continue
        target = urljoin(url, href).split("#", 1)[0]
        if _page_of(url, target) == number + 1:
            return target
    return None
