"""``/bad/``: inputs a robust crawler must survive without crashing, hanging or bloating."""

from __future__ import annotations

import hashlib
import itertools
import struct
import time
import zlib
from collections.abc import Iterator

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from .model import BASE_TIME, Article
from .render import article_response, get_site, html_response

bp = Blueprint("bad", __name__, url_prefix="/bad")

HUGE_DEFAULT = 50 * 1024 * 1024
SLOW_DEFAULT = 5.0
SLOW_MAX = 120.0
CHALLENGE_COOKIE = "__jsl_clearance_demo"
# Lead byte with a bad trail byte, then bytes no GB encoding ever uses.
INVALID_GBK = b"\x81\x7f\xff\xfe\x80"

PAGES = {
    "truncated.html": "HTML cut off mid-character, mid-element",
    "binary.html": "PNG bytes served as text/html",
    "huge.html?size=5000000": "streamed page of `size` bytes (default 50 MB)",
    "loop-a.html": "redirect loop a -> b -> a",
    "gbk-invalid.html": "GBK page with invalid byte sequences",
    "empty.rss": "RSS channel without items",
    "dates.rss": "RSS with malformed dates",
    "dates.html": "article page with an impossible publish time",
    "521.html": "anti-bot JavaScript challenge (HTTP 521)",
    "500.html": "server error",
    "slow.html?delay=2": "answers after `delay` seconds (default 5)",
}


def _sample(encoding: str, declared_charset: str | None = None) -> Article:
    """The newest unrelated article in ``encoding``, a stable donor for broken variants."""
    return next(
        a
        for a in get_site().latest()
        if a.kind == "unrelated"
        and a.encoding == encoding
        and a.section != "zwgk"
        and (declared_charset is None or a.declared_charset == declared_charset)
    )


@bp.get("/")
def index() -> Response:
    links = [(f"/bad/{target}", label) for target, label in PAGES.items()]
    return html_response(
        "message.html", heading="异常页面", text="抓取健壮性测试用页面。", links=links
    )


@bp.get("/truncated.html")
def truncated() -> Response:
    article = _sample("utf-8")
    page = article_response(article)
    data = page.get_data()
    paragraph = article.paragraphs[1]
    # Cut one byte into the character after the middle of the second paragraph.
    cut = data.index(paragraph.encode()) + len(paragraph[: len(paragraph) // 2].encode()) + 1
    return Response(data[:cut], content_type=page.content_type)


def _png(width: int = 16, height: int = 16) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xb3\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@bp.get("/binary.html")
def binary() -> Response:
    return Response(_png(), content_type="text/html")


@bp.get("/huge.html")
def huge() -> Response:
    """``size`` bytes of HTML, generated chunk by chunk; ``declare=1`` sends Content-Length."""
    size = max(0, request.args.get("size", HUGE_DEFAULT, type=int))
    block = ("<p>潼南新闻网超大页面测试内容，用于检验抓取端的大小限制。</p>\n" * 1200).encode()

    head = b'<!DOCTYPE html><html><head><meta charset="utf-8"><title>huge</title></head><body>'

    def chunks() -> Iterator[bytes]:
        sent = 0
        for piece in itertools.chain([head], itertools.repeat(block)):
            chunk = piece[: size - sent]
            if not chunk:
                return
            sent += len(chunk)
            yield chunk

    response = Response(chunks(), content_type="text/html; charset=utf-8", direct_passthrough=True)
    if request.args.get("declare") == "1":
        response.content_length = size
    response.set_etag(f"huge-{size}")
    response.last_modified = BASE_TIME
    return response


@bp.get("/loop-a.html")
def loop_a() -> BaseResponse:
    return redirect("/bad/loop-b.html", code=302)


@bp.get("/loop-b.html")
def loop_b() -> BaseResponse:
    return redirect("/bad/loop-a.html", code=302)


@bp.get("/gbk-invalid.html")
def gbk_invalid() -> Response:
    article = _sample("gbk", "gbk")
    page = article_response(article)
    marker = article.paragraphs[1].encode("gbk")
    data = page.get_data().replace(marker, INVALID_GBK + marker, 1)
    return Response(data, content_type="text/html")


def _rss(items: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>潼南新闻网</title><link>{request.url_root}</link>"
        f"<description>测试频道</description>{items}</channel></rss>\n"
    )
    return Response(body, content_type="application/rss+xml; charset=utf-8")


@bp.get("/empty.rss")
def empty_rss() -> Response:
    return _rss("")


MALFORMED_DATES = (
    "2021-02-30 10:30",
    "Fri, 31 Feb 2021 25:61:00 +0800",
    "昨天 10:30",
    "3小时前",
    "2021年2月5日",
    "1612492200",
    "",
    "0000-00-00 00:00:00",
)


@bp.get("/dates.rss")
def dates_rss() -> Response:
    root = request.url_root.rstrip("/")
    items = "".join(
        f"<item><title>日期格式异常的条目{i}</title><link>{root}/bad/dates.html?n={i}</link>"
        f"<pubDate>{date}</pubDate><description>第{i}条</description></item>"
        for i, date in enumerate(MALFORMED_DATES, 1)
    )
    return _rss(items)


@bp.get("/dates.html")
def dates_html() -> Response:
    return article_response(_sample("utf-8"), time_text="2021年2月30日 25:61")


def _challenge_token() -> str:
    return hashlib.sha1(f"demosite-{get_site().seed}".encode()).hexdigest()[:24]


@bp.get("/521.html")
def challenge() -> Response:
    """Status 521 with a script that sets a cookie and reloads; with the cookie, the page."""
    token = _challenge_token()
    if request.cookies.get(CHALLENGE_COOKIE) == token:
        return html_response("message.html", heading="验证通过", text="这是验证之后的正文页面。")
    shift = 7 + get_site().seed % 5
    html = html_response(
        "challenge.html",
        declared=None,
        status=521,
        codes=[ord(c) + shift for c in token],
        shift=shift,
        cookie=CHALLENGE_COOKIE,
    )
    html.headers["Cache-Control"] = "no-cache"
    return html


@bp.get("/500.html")
def server_error() -> Response:
    return html_response(
        "message.html", status=500, heading="服务器错误", text="服务器暂时无法处理您的请求。"
    )


@bp.get("/slow.html")
def slow() -> Response:
    delay = min(SLOW_MAX, max(0.0, request.args.get("delay", SLOW_DEFAULT, type=float)))
    time.sleep(delay)
    return html_response("message.html", heading="慢速页面", text=f"本页面延迟 {delay} 秒返回。")
