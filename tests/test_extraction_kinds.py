"""One page per kind of extraction failure seen on real Chinese sites (tests/extraction/kinds,
written for these tests): the body whole and alone, boilerplate left out, dates only where
the page gives them, the headline rather than the site's name."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from crawler.dates import SHANGHAI, parse_date_info, url_date
from crawler.extract import Article, extract
from crawler.extraction.pagination import next_page

KINDS = Path(__file__).resolve().parent / "extraction" / "kinds"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=SHANGHAI)
BOILERPLATE = (
    "版权所有",
    "免责声明",
    "责任编辑",
    "扫一扫",
    "分享到",
    "相关阅读",
    "上一篇",
    "下一篇",
)


def run(name: str, url: str = "http://127.0.0.1/news/show.html") -> Article:
    return extract((KINDS / name).read_text(encoding="utf-8"), url, now=NOW)


def paragraphs(name: str, selector: str = "p") -> list[str]:
    """The page's <p> texts that are article prose (what a careful reader would keep)."""
    html = (KINDS / name).read_text(encoding="utf-8")
    found = re.findall(rf"<{selector}>([^<]+)</{selector}>", html)
    return [p for p in found if "。" in p and not any(word in p for word in BOILERPLATE)]


def assert_no_boilerplate(body: str) -> None:
    found = [word for word in BOILERPLATE if word in body]
    assert not found, f"boilerplate {found} in body:\n{body}"


def test_large_page_whose_article_block_is_named_like_chrome() -> None:
    name = "large_page_share_named.html"
    assert (KINDS / name).stat().st_size > 200_000
    article = run(name)
    wanted = paragraphs(name)
    assert len(wanted) == 14
    assert article.body.split("\n") == wanted  # all of it, in order, nothing else
    assert "房产" not in article.body  # the hidden keyword dump


def test_article_in_a_block_named_like_comments_gets_a_second_opinion() -> None:
    name = "article_in_block_named_comment.html"
    article = run(name)
    assert article.body.split("\n") == paragraphs(name)
    assert article.method == "class-blind density"


def test_disclaimer_longer_than_the_article_is_not_the_body() -> None:
    article = run("disclaimer_longer_than_article.html")
    assert article.body.split("\n") == paragraphs("disclaimer_longer_than_article.html")[:2]
    assert_no_boilerplate(article.body)


def test_article_split_over_sibling_blocks_is_kept_whole() -> None:
    article = run("article_split_over_siblings.html")
    lines = article.body.split("\n")
    wanted = [p for p in paragraphs("article_split_over_siblings.html") if p.startswith("第")]
    assert len(wanted) == 20
    assert [line for line in lines if line.startswith("第")] == wanted
    assert "延伸阅读" not in article.body
    assert_no_boilerplate(article.body)


def test_byline_date_beats_meta_and_takes_its_year_from_the_page() -> None:
    article = run("byline_beats_meta.html", "http://127.0.0.1/news/2023/0214/c12345.html")
    # 02-14 10:05 in the byline; the URL says 2023; the meta's 2023-06-01 is another date.
    assert article.publish_time == datetime(2023, 2, 14, 10, 5, tzinfo=SHANGHAI)
    assert (article.published_source, article.published_precision) == ("byline", "minute")


def test_year_only_date_keeps_its_precision() -> None:
    article = run("year_only_date.html")
    assert article.published_precision == "year"
    assert article.publish_time == datetime(2020, 1, 1, tzinfo=SHANGHAI)  # start of the period
    assert article.published_source == "byline"


def test_yearless_date_without_any_year_on_the_page_is_unknown() -> None:
    article = run("yearless_date_alone.html")
    assert article.publish_time is None and article.published_precision is None
    assert "no publish time found" in article.notes


def test_title_is_the_headline_not_the_site_name_nor_a_cut_og_title() -> None:
    article = run("site_name_title_cut_og.html")
    assert article.title == "潼南：“菜单式”服务让群众办事更便捷"


def test_short_notice_beside_a_large_sidebar_is_the_body() -> None:
    article = run("short_notice_big_sidebar.html")
    notice = paragraphs("short_notice_big_sidebar.html")[0]
    assert notice.startswith("3月2日") and len(notice) < 90
    assert article.body.split("\n")[0] == notice
    assert "志愿" not in article.body  # the sidebar's teasers
    assert article.title == "双江镇关于发现1例确诊病例的情况通报"
    assert article.publish_time == datetime(2022, 3, 2, 21, 30, tzinfo=SHANGHAI)


# --- dates and pagination, unit by unit -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "precision"),
    [
        ("发布时间：2021年5月", datetime(2021, 5, 1, tzinfo=SHANGHAI), "month"),
        ("发布日期：2019年", datetime(2019, 1, 1, tzinfo=SHANGHAI), "year"),
        ("18-03-08 23:16", datetime(2018, 3, 8, 23, 16, tzinfo=SHANGHAI), "minute"),
        ("2021-02-05 10:30:12", datetime(2021, 2, 5, 10, 30, 12, tzinfo=SHANGHAI), "second"),
        ("2021年2月5日", datetime(2021, 2, 5, tzinfo=SHANGHAI), "day"),
    ],
)
def test_parse_date_info_precision(text: str, value: datetime, precision: str) -> None:
    found = parse_date_info(text, now=NOW, coarse=True)
    assert found is not None and (found.value, found.precision) == (value, precision)


def test_yearless_dates_need_a_year_from_the_page() -> None:
    assert parse_date_info("发布时间：09-30 22:46", now=NOW) is None
    ref = datetime(2019, 10, 2, tzinfo=SHANGHAI)
    found = parse_date_info("发布时间：09-3022:46", now=NOW, year_from=ref)
    assert found is not None and found.value == datetime(2019, 9, 30, 22, 46, tzinfo=SHANGHAI)
    assert found.kind == "yearless"


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("http://x.example/fortune/2023-11/17/c_1129981476.htm", (2023, 11, 17)),
        ("http://x.example/a/202311/17/WS6557.html", (2023, 11, 17)),
        ("http://x.example/detail/20201230001.html", (2020, 12, 30)),
        ("http://x.example/art/2019/9/7/art_1.html", (2019, 9, 7)),
        ("http://x.example/a/1234567890123.html", None),
        ("http://x.example/a/20991230.html", None),  # in the future of NOW
    ],
)
def test_url_dates(url: str, day: tuple[int, int, int] | None) -> None:
    found = url_date(url, now=NOW)
    assert (found.timetuple()[:3] if found else None) == day


@pytest.mark.parametrize(
    ("links", "url", "current", "expected"),
    [
        ("<a href='t1_2.html'>2</a><a href='t2.html'>下一篇</a>", "/a/t1.html", 1, "/a/t1_2.html"),
        ("<a href='t1_3.html'>下一页</a>", "/a/t1_2.html", 2, "/a/t1_3.html"),
        ("<a href='?id=5&amp;page=2'>第2页</a>", "/a/s.php?id=5", 1, "/a/s.php?id=5&page=2"),
        ("<a href='t_124.html'>下一页</a>", "/a/t_123.html", 1, None),  # the next article
        ("<a href='index_1.html'>下一页</a>", "/a/index.html", 1, None),  # a list's paging
        ("<a href='http://other.example/a/t1_2.html'>2</a>", "/a/t1.html", 1, None),
    ],
)
def test_next_page_of_an_article(links: str, url: str, current: int, expected: str | None) -> None:
    base = "http://x.example"
    found = next_page(links, base + url, current=current)
    assert found == (base + expected if expected else None)
