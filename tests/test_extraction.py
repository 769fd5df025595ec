"""Behaviour of the page-extraction layer: encodings, Chinese dates, article extraction."""

from __future__ import annotations

import codecs
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.dates import SHANGHAI, _nfkc_by_line, find_gov_dates, normalize_text, parse_date
from crawler.encoding import decode_body, normalize_label
from crawler.evaluate import Case, char_f1, evaluate, load_cases, page_text, run_yuqing
from crawler.extract import MAX_HTML_CHARS, extract, extract_bytes

CASES = load_cases()
NOW = datetime(2021, 3, 1, 12, 0, tzinfo=SHANGHAI)
CST = timezone(timedelta(hours=8))


def _iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# --- evaluation set ---------------------------------------------------------------------------


def test_evaluation_set_covers_the_hard_cases() -> None:
    names = {case.name for case in CASES}
    assert len(names) >= 12
    assert {"gbk_no_charset", "utf8_declares_gb2312", "gb18030_only_chars", "forum_thread"} <= names
    big = [case for case in CASES if len(case.raw) >= 30_000]
    assert len(big) >= 3


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case(case: Case) -> None:
    article = extract_bytes(case.raw, case.url, now=case.now, content_type=case.content_type)
    expected = case.expected
    assert article.encoding == expected["encoding"]
    assert article.title == expected["title"]
    f1 = char_f1(article.body, expected["body"])
    assert f1 >= case.min_body_f1, f"body F1 {f1:.3f} < {case.min_body_f1}\n{article.body}"
    assert article.publish_time == _iso(expected["publish_time"])
    if article.publish_time is not None:
        assert article.publish_time.utcoffset() is not None
    assert article.written_time == _iso(expected["written_time"])
    assert article.author == expected["author"]
    assert article.site_source == expected["site_source"]


def test_publish_time_is_reported_in_china_time_when_the_page_has_no_zone() -> None:
    case = next(c for c in CASES if c.name == "gbk_no_charset")
    article = extract(page_text(case), case.url, now=case.now)
    assert article.publish_time is not None
    assert article.publish_time.utcoffset() == timedelta(hours=8)


def test_utc_meta_time_is_the_same_instant_as_the_visible_china_time() -> None:
    case = next(c for c in CASES if c.name == "news_heavy_nav")
    article = extract(page_text(case), case.url, now=case.now)
    assert article.publish_time == datetime(2021, 3, 10, 17, 15, tzinfo=CST)
    assert article.published_precision == "second"


def test_forum_thread_keeps_every_post() -> None:
    case = next(c for c in CASES if c.name == "forum_thread")
    article = extract(page_text(case), case.url, now=case.now)
    assert article.method == "posts"
    assert len(article.body.split("\n")) == 6
    assert "只看该作者" not in article.body and "发表于" not in article.body


def test_comments_after_the_article_are_not_body() -> None:
    case = next(c for c in CASES if c.name == "comments_longer_than_article")
    article = extract(page_text(case), case.url, now=case.now)
    assert "膝盖" not in article.body
    assert "维保单位加快维修进度" in article.body


def test_whole_evaluation_set_score_floor() -> None:
    summary = evaluate(run_yuqing, CASES)
    assert summary.title_accuracy >= 0.95
    assert summary.body_f1 >= 0.95
    assert summary.date_accuracy >= 0.95


# --- scoring ----------------------------------------------------------------------------------


def test_char_f1() -> None:
    assert char_f1("火灾 扑灭", "火灾扑灭") == 1.0
    assert char_f1("", "") == 1.0
    assert char_f1("abc", "") == 0.0
    assert char_f1("火灾", "火灾扑灭") == pytest.approx(2 / 3)


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021年2月5日", datetime(2021, 2, 5, tzinfo=CST)),
        ("2021年02月05日 10:30", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("发布时间：2021-02-05 10:30", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("发布时间：２０２１－０２－０５　１０：３０", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("2021/2/5", datetime(2021, 2, 5, tzinfo=CST)),
        ("2021.02.05", datetime(2021, 2, 5, tzinfo=CST)),
        ("2021-02-05-10:30:00", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("二〇二一年二月五日", datetime(2021, 2, 5, tzinfo=CST)),
        ("二〇二〇年十二月三十一日", datetime(2020, 12, 31, tzinfo=CST)),
        ("二O二一年二月五日 十时三十分", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("2月5日", datetime(2021, 2, 5, tzinfo=CST)),
        ("2月5日 10:30", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("12月30日 16:40", datetime(2020, 12, 30, 16, 40, tzinfo=CST)),
        ("02-05 10:30", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("发表于 2021-2-5 下午3:05", datetime(2021, 2, 5, 15, 5, tzinfo=CST)),
        ("3小时前", datetime(2021, 3, 1, 9, 0, tzinfo=CST)),
        ("5分钟前", datetime(2021, 3, 1, 11, 55, tzinfo=CST)),
        ("半小时前", datetime(2021, 3, 1, 11, 30, tzinfo=CST)),
        ("两天前", datetime(2021, 2, 27, 12, 0, tzinfo=CST)),
        ("昨天 10:30", datetime(2021, 2, 28, 10, 30, tzinfo=CST)),
        ("前天", datetime(2021, 2, 27, tzinfo=CST)),
        ("刚刚", NOW),
        ("2021-02-05T02:30:00Z", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("2021-02-05T10:30:00+08:00", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("2021-02-05T10:30:00-05:00", datetime(2021, 2, 5, 23, 30, tzinfo=CST)),
        ("2021-02-05 10:30", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("Fri, 05 Feb 2021 10:30:00 +0800", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("Fri, 05 Feb 2021 02:30:00 GMT", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("Fri, 05 Feb 2021 10:30:00 CST", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("Fri, 05 Feb 2021 10:30:00", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
        ("Fri, 05 Feb 2021 10:30:00 -0000", datetime(2021, 2, 5, 10, 30, tzinfo=CST)),
    ],
)
def test_parse_date(text: str, expected: datetime) -> None:
    value = parse_date(text, now=NOW)
    assert value == expected
    assert value is not None and value.utcoffset() is not None


def test_explicit_zone_is_kept() -> None:
    value = parse_date("2021-02-05T10:30:00-05:00", now=NOW)
    assert value is not None and value.utcoffset() == timedelta(hours=-5)


def test_year_less_date_in_the_future_means_last_year() -> None:
    assert parse_date("3月5日", now=NOW) == datetime(2020, 3, 5, tzinfo=CST)
    assert parse_date("2月29日", now=NOW) == datetime(2020, 2, 29, tzinfo=CST)


@pytest.mark.parametrize(
    "text",
    ["", "abc", "2021-13-45", "2021年2月30日", "3021年1月1日", "请于5日前报名", "第99楼", "25:99"],
)
def test_malformed_dates_are_none(text: str) -> None:
    assert parse_date(text, now=NOW) is None


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_parse_date_never_raises(text: str) -> None:
    parse_date(text, now=NOW)


# Line breaks, full-width forms, compatibility characters, combining marks and Hangul jamo
# (which compose with the character before them), in any order.
_FOLDING = "\n\n\r 　ａＡ１，：（ﾀﾞ①㍻ﬁ\u0301\u0308\u0327e\u1100\u1161\u11a8가潼南。年月日"


@given(st.text(alphabet=st.sampled_from(_FOLDING), max_size=200))
@settings(max_examples=400, deadline=None)
def test_page_text_folds_by_line_as_nfkc_would_whole(text: str) -> None:
    # A page's text is folded for dates line by line, skipping lines already in NFKC.
    assert _nfkc_by_line(text) == unicodedata.normalize("NFKC", text)
    long = "\n".join([text, "发布时间：２０２１年二月三日", text] * 40)
    assert "2021年2月3日" in normalize_text(long)


def test_government_written_and_published_dates() -> None:
    text = "索引号：115002 成文日期： 2021年02月03日\n发布日期：\n2021-02-05"
    dates = find_gov_dates(text, now=NOW)
    assert dates.written == datetime(2021, 2, 3, tzinfo=CST)
    assert dates.published == datetime(2021, 2, 5, tzinfo=CST)
    assert find_gov_dates("没有日期", now=NOW).written is None


# --- encodings --------------------------------------------------------------------------------

TEXT = "潼南区疫情防控工作会议召开，强调做好春节期间各项工作。"


def _page(charset: str | None, body: str = TEXT) -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return f"<html><head>{meta}<title>通知</title></head><body><p>{body}</p></body></html>"


def test_http_charset_is_used() -> None:
    decoded = decode_body(_page(None).encode("gbk"), "text/html; charset=GBK")
    assert decoded.text == _page(None)
    assert (decoded.encoding, decoded.method) == ("gb18030", "http")


def test_meta_charset_is_used() -> None:
    decoded = decode_body(_page("gb2312").encode("gbk"))
    assert TEXT in decoded.text
    assert (decoded.encoding, decoded.method) == ("gb18030", "meta")


def test_gbk_without_any_declaration_is_detected() -> None:
    decoded = decode_body(_page(None).encode("gbk"))
    assert TEXT in decoded.text
    assert decoded.encoding == "gb18030"


@pytest.mark.parametrize("declared", ["gb2312", "gbk", "iso-8859-1"])
def test_utf8_page_declaring_a_legacy_charset_is_utf8(declared: str) -> None:
    raw = _page(declared).encode("utf-8")
    decoded = decode_body(raw, f"text/html; charset={declared}")
    assert TEXT in decoded.text
    assert decoded.encoding == "utf-8"


def test_utf8_cut_inside_a_character_is_still_utf8() -> None:
    raw = _page("gbk").encode("utf-8")
    cut = raw[: raw.index("春".encode()) + 1]
    decoded = decode_body(cut)
    assert decoded.encoding == "utf-8"
    assert "潼南区疫情防控" in decoded.text


def test_gb18030_only_characters_survive_a_gb2312_declaration() -> None:
    body = "𠮷祥火锅店、䶮记小面馆接受检查。"
    with pytest.raises(UnicodeEncodeError):
        body.encode("gbk")
    decoded = decode_body(_page("gb2312", body).encode("gb18030"))
    assert body in decoded.text
    assert decoded.replacement_share == 0.0


def test_latin1_header_does_not_override_a_chinese_meta_charset() -> None:
    decoded = decode_body(_page("gbk").encode("gbk"), "text/html; charset=ISO-8859-1")
    assert TEXT in decoded.text


def test_bom_wins_over_declarations() -> None:
    raw = codecs.BOM_UTF8 + _page("gbk").encode("utf-8")
    decoded = decode_body(raw, "text/html; charset=gbk")
    assert (decoded.encoding, decoded.method) == ("utf-8", "bom")
    assert decoded.text.startswith("<html>")
    utf16 = decode_body(codecs.BOM_UTF16_LE + _page(None).encode("utf-16-le"))
    assert utf16.is_text and TEXT in utf16.text


def test_invalid_bytes_are_replaced_and_measured() -> None:
    raw = _page("gbk").encode("gbk")
    broken = raw.replace("春".encode("gbk"), b"\xff\xfe\xff")
    decoded = decode_body(broken)
    assert decoded.is_text
    assert decoded.replacement_share > 0
    assert "潼南区疫情防控" in decoded.text


def test_declared_utf8_that_is_really_gbk_falls_back_to_detection() -> None:
    decoded = decode_body(_page(None, TEXT * 5).encode("gbk"), "text/html; charset=utf-8")
    assert TEXT in decoded.text
    assert decoded.method == "detected"


@pytest.mark.parametrize(
    "raw",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)),
        b"GIF89a" + bytes(100),
        b"<html>" + bytes(range(256)) * 20,
    ],
)
def test_binary_is_not_text(raw: bytes) -> None:
    decoded = decode_body(raw, "text/html")
    assert not decoded.is_text
    assert decoded.text == ""
    assert decoded.method.startswith("binary:")


def test_empty_body() -> None:
    decoded = decode_body(b"")
    assert decoded.is_text and decoded.text == ""


def test_labels() -> None:
    assert normalize_label("GB2312") == "gb18030"
    assert normalize_label("x-gbk") == "gb18030"
    assert normalize_label("big5") == "big5hkscs"
    assert normalize_label("utf-16") == "utf-8"
    assert normalize_label("no-such-charset") is None


@given(st.binary(max_size=400), st.sampled_from([None, "text/html; charset=gbk", "charset=x"]))
@settings(max_examples=200, deadline=None)
def test_decode_never_raises(raw: bytes, content_type: str | None) -> None:
    decoded = decode_body(raw, content_type)
    assert 0.0 <= decoded.replacement_share <= 1.0


# --- extraction robustness --------------------------------------------------------------------


@pytest.mark.parametrize("html", ["", "   \n", "<", "<<<>>>", "\x00"])
def test_degenerate_documents_do_not_raise(html: str) -> None:
    article = extract(html, "http://x.example/", now=NOW)
    assert article.body == ""
    assert article.notes


def test_xml_declaration_in_a_str_is_accepted() -> None:
    html = '<?xml version="1.0" encoding="gbk"?>' + _page(None)
    assert extract(html, "http://x.example/", now=NOW).body == TEXT


def test_giant_page_is_capped() -> None:
    filler = "<div><a href='/x'>导航链接</a></div>" * (MAX_HTML_CHARS // 30)
    head = "<html><head><title>潼南区防汛通知_潼南区人民政府</title></head>"
    html = f"{head}<body><h1>潼南区防汛通知</h1><p>{TEXT}</p>{filler}"
    article = extract(html, "http://x.example/", now=NOW)
    assert article.title == "潼南区防汛通知"
    assert TEXT in article.body
    assert any("truncated" in note for note in article.notes)


def test_binary_body_is_reported_not_extracted() -> None:
    article = extract_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500), "http://x.example/a.html", now=NOW)
    assert article.body == "" and article.title is None
    assert article.notes == ["not text (binary:png)"]


@given(st.text(alphabet=st.sampled_from("<>/p divah1=\"'潼南火灾。：2021-年月日"), max_size=300))
@settings(max_examples=150, deadline=None)
def test_extract_never_raises(html: str) -> None:
    extract(html, "http://x.example/", now=NOW)
