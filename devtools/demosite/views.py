"""Routes of the browsable site: home, section lists, articles, forum, private area."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from .model import SECTIONS, Thread
from .render import article_response, get_site, html_response
from .site import DemoSite

bp = Blueprint("pages", __name__)

THREADS_LISTED = 40
SECTION = "<any(" + ", ".join(SECTIONS) + "):section>"


@bp.get("/")
@bp.get("/index.html")
def home() -> Response:
    site = get_site()
    report = next((a for a in site.articles if a.kind == "report"), None)
    return html_response("home.html", heavy=True, report=report, threads=recent_threads(site))


@bp.get(f"/{SECTION}/")
@bp.get(f"/{SECTION}/index.html")
@bp.get(f"/{SECTION}/index_<int:number>.html")
def section_list(section: str, number: int = 0) -> Response:
    site = get_site()
    pages = site.page_count(section)
    # index_0.html does not exist on real sites either: page one is index.html.
    if request.path.endswith("index_0.html") or number >= pages:
        abort(404)
    gov = section == "zwgk"
    return html_response(
        "zwgk_list.html" if gov else "news_list.html",
        gov_style=gov,
        heavy=gov,
        section=section,
        items=site.page(section, number),
        pages=pages,
        current=number,
    )


@bp.get(f"/{SECTION}/<int:month>/<name>.html")
def article(section: str, month: int, name: str) -> Response:
    found = get_site().find(request.path)
    if found is None:
        abort(404)
    return article_response(found)


@bp.get("/bbs/")
@bp.get("/bbs/index.html")
def bbs_index() -> Response:
    site = get_site()
    return html_response(
        "bbs_index.html",
        encoding="gbk",
        declared="gbk",
        header_charset=None,
        gov_style=True,
        threads=recent_threads(site),
    )


@bp.get("/bbs/thread-<int:ident>.html")
def bbs_thread(ident: int) -> Response:
    site = get_site()
    thread = site.thread(ident)
    if thread is None:
        abort(404)
    response = html_response(
        "bbs_thread.html",
        encoding=thread.encoding,
        declared=thread.encoding,
        header_charset=None,
        gov_style=True,
        thread=thread,
        sidebar=site.latest(limit=10, until=thread.updated),
    )
    response.last_modified = thread.updated
    return response


@bp.get("/private/")
@bp.get("/private/<path:rest>")
def private(rest: str = "") -> Response:
    return html_response(
        "message.html",
        heading="内部资料",
        text="本栏目仅供内部工作人员查阅，robots.txt 已禁止抓取。",
    )


def recent_threads(site: DemoSite) -> tuple[Thread, ...]:
    """The threads a board lists: all of the fixed ones; the demo world's latest active
    first (it keeps adding threads for hours)."""
    if not site.live:
        return site.threads
    return tuple(sorted(site.threads, key=lambda t: t.updated, reverse=True)[:THREADS_LISTED])


def not_found(_error: Exception) -> Response:
    """Friendly 404 page, as portals serve instead of a bare status."""
    return html_response(
        "message.html", status=404, heading="页面不存在", text="您访问的页面不存在或已被删除。"
    )
