"""Import and export of the keyword library (keywords.io)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import time
import zipfile
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keywords.io import (
    FORMATS,
    Format,
    ImportFailed,
    Problem,
    detect_format,
    merge,
    read_library,
    write_library,
)
from keywords.model import CATEGORIES, Group, Library, Rule, Word

# --- strategies -------------------------------------------------------------------------------

# Characters that trouble CSV, Excel, YAML and the alias separator, among Chinese text.
WORD_CHARS = "潼南区双江镇火灾爆炸上访维权新冠疫情abcXYZ0189 ,;\"'|#=@+-。，“”（）《》\\/"
NAME_CHARS = "潼南区地名事件词组abcXYZ019_-,;'|#=+。，、《》"


def _texts(alphabet: str, max_size: int = 20) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=1, max_size=max_size).map(str.strip).filter(bool)


words = st.builds(
    Word,
    text=_texts(WORD_CHARS),
    weight=st.just(1.0) | st.floats(0, 100),
    level=st.none() | st.integers(0, 9),
    aliases=st.lists(_texts(WORD_CHARS.replace("|", "")), max_size=3),
)
groups = st.builds(
    Group,
    name=st.text(alphabet=NAME_CHARS, min_size=1, max_size=64),
    category=st.sampled_from([*CATEGORIES, "其他", "custom-1"]),
    words=st.lists(words, min_size=1, max_size=6, unique_by=lambda w: w.text),
    enabled=st.booleans(),
    description=st.text(max_size=10),
)
rules = st.builds(
    Rule,
    name=st.text(min_size=1, max_size=20),
    expression=st.text(min_size=1, max_size=40),
    scope=st.sampled_from(["title", "body", "both"]),
    severity=st.sampled_from(["info", "warning", "critical"]),
    enabled=st.booleans(),
    owner=st.text(max_size=10),
    description=st.text(max_size=40),
    must_match=st.lists(st.text(max_size=20), max_size=2),
)
group_lists = st.lists(groups, max_size=4, unique_by=lambda g: g.name)
libraries = st.builds(Library, groups=group_lists, rules=st.lists(rules, max_size=3))


def words_only(library: Library) -> Library:
    """What csv and xlsx carry: the words of each group that has some."""
    return Library(
        groups=[Group(name=g.name, category=g.category, words=g.words) for g in library.groups]
    )


def problems_of(data: bytes, fmt: Format, **kwargs: Any) -> list[Problem]:
    with pytest.raises(ImportFailed) as failed:
        read_library(data, fmt, **kwargs)
    return failed.value.problems


def where(problems: list[Problem]) -> list[tuple[int | None, str | None]]:
    return [(p.line, p.column) for p in problems]


# --- round trips ------------------------------------------------------------------------------


@given(libraries)
def test_yaml_and_json_round_trip_whole_libraries(library: Library) -> None:
    for fmt in ("yaml", "json"):
        assert read_library(write_library(library, fmt), fmt) == library


@given(st.builds(Library, groups=group_lists))
def test_csv_round_trips_the_words_of_each_group(library: Library) -> None:
    assert read_library(write_library(library, "csv"), "csv") == words_only(library)


@settings(max_examples=25, deadline=None)
@given(st.builds(Library, groups=group_lists))
def test_xlsx_round_trips_the_words_of_each_group(library: Library) -> None:
    assert read_library(write_library(library, "xlsx"), "xlsx") == words_only(library)


@given(groups)
def test_txt_round_trips_one_group_of_plain_words(group: Group) -> None:
    plain = [Word(text=w.text) for w in group.words if not w.text.startswith("#")]
    library = Library(groups=[Group(name=group.name, category=group.category, words=plain)])
    data = write_library(library, "txt", group=group.name)
    assert read_library(data, "txt", group=group.name, category=group.category) == library


@settings(deadline=None)
@given(
    text=st.text(min_size=1, max_size=100),
    aliases=st.lists(st.text(max_size=10), max_size=2),
    fmt=st.sampled_from(["csv", "xlsx", "txt"]),
)
def test_an_export_reads_back_the_same_or_is_refused(
    text: str, aliases: list[str], fmt: Format
) -> None:
    word = Word(text=text, aliases=aliases if fmt != "txt" else [])
    library = Library(groups=[Group(name="g", words=[word])])
    try:
        data = write_library(library, fmt, group="g")
    except ValueError:
        return
    assert read_library(data, fmt, group="g" if fmt == "txt" else None) == library


def test_a_bar_in_a_word_is_kept_but_an_alias_cannot_contain_one() -> None:
    library = Library(groups=[Group(name="g", words=[Word(text="a|b", aliases=["c", "d"])])])
    data = write_library(library, "csv")
    assert data.decode("utf-8-sig").splitlines()[1] == "g,subject,a|b,1,,c|d"
    assert read_library(data, "csv") == library
    bad = Library(groups=[Group(name="g", words=[Word(text="a", aliases=["c|d"])])])
    for fmt in ("csv", "xlsx"):
        with pytest.raises(ValueError, match="separator"):
            write_library(bad, fmt)


def test_words_excel_would_take_for_formulas_stay_text_in_xlsx() -> None:
    texts = ["=1+1", "@人民日报", "+86", "-", "110", "2024-01-01", "TRUE"]
    library = Library(groups=[Group(name="=g", words=[Word(text=t) for t in texts])])
    assert read_library(write_library(library, "xlsx"), "xlsx") == library


def test_csv_export_defuses_formulas_and_reads_back_unchanged() -> None:
    texts = ['=HYPERLINK("http://evil.example/","点击")', "+cmd|' /C calc'!A0", "@SUM(1,2)",
             "-1+2", "'已引用", "''两个"]  # fmt: skip
    library = Library(
        groups=[Group(name="=g", words=[Word(text=t, aliases=["=a"]) for t in texts])]
    )
    for fmt in ("csv", "xlsx"):
        data = write_library(library, fmt)
        assert read_library(data, fmt) == library
    rows = list(csv.reader(io.StringIO(write_library(library, "csv").decode("utf-8-sig"))))
    # No cell a spreadsheet would run: each starts with the apostrophe it shows as text.
    for row in rows[1:]:
        assert all(not c.startswith(("=", "+", "-", "@")) for c in row), row
    assert rows[1][0] == "'=g" and rows[1][2].startswith("'=HYPERLINK")


def test_exports_refuse_words_that_would_read_back_changed() -> None:
    padded = Library(groups=[Group(name="g", words=[Word(text=" 潼南")])])
    with pytest.raises(ValueError, match="whitespace"):
        write_library(padded, "csv")
    hashtag = Library(groups=[Group(name="g", words=[Word(text="#潼南火灾#")])])
    with pytest.raises(ValueError, match="comment"):
        write_library(hashtag, "txt", group="g")
    assert read_library(write_library(hashtag, "csv"), "csv") == hashtag


def test_csv_export_is_excel_friendly_and_can_select_a_group() -> None:
    library = Library(
        groups=[
            Group(name="地名", category="region", words=[Word(text="潼南", weight=2.5, level=3)]),
            Group(name="事件", words=[Word(text="火灾")]),
        ]
    )
    data = write_library(library, "csv", group="地名")
    assert data.startswith(codecs.BOM_UTF8)
    assert data.decode("utf-8-sig") == (
        "group,category,word,weight,level,aliases\r\n地名,region,潼南,2.5,3,\r\n"
    )
    with pytest.raises(ValueError, match="no group"):
        write_library(library, "csv", group="missing")
    with pytest.raises(ValueError, match="one group"):
        write_library(library, "txt")


def test_yaml_export_is_readable_and_in_model_order() -> None:
    library = Library(
        groups=[Group(name="地名", category="region", words=[Word(text="潼南")])],
        rules=[Rule(name="火灾", expression="@地名 AND 火灾")],
    )
    assert write_library(library, "yaml").decode() == (
        "groups:\n- name: 地名\n  category: region\n  words:\n  - 潼南\n"
        "rules:\n- name: 火灾\n  expression: '@地名 AND 火灾'\n"
    )
    assert json.loads(write_library(library, "json")) == library.to_data()


# --- encodings and headers --------------------------------------------------------------------

CSV_TEXT = (
    "词组,分类,关键词,权重,级别,别名\n潼南地名,地域词,潼南,5,2,潼南区|潼南县\n潼南地名,,双江\n"
)
EXPECTED = Library(
    groups=[
        Group(
            name="潼南地名",
            category="region",
            words=[
                Word(text="潼南", weight=5, level=2, aliases=["潼南区", "潼南县"]),
                Word(text="双江"),
            ],
        )
    ]
)


@pytest.mark.parametrize(
    "data",
    [
        CSV_TEXT.encode(),
        codecs.BOM_UTF8 + CSV_TEXT.encode(),
        CSV_TEXT.encode("utf-16"),
        codecs.BOM_UTF16_BE + CSV_TEXT.encode("utf-16-be"),
        CSV_TEXT.replace("\n", "\r\n").encode("gbk"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "gbk-crlf"],
)
def test_csv_in_every_supported_encoding_with_chinese_headers_and_labels(data: bytes) -> None:
    assert read_library(data, "csv") == EXPECTED


def test_gb18030_characters_outside_gbk_are_read() -> None:
    text = "group,word\n姓名,𠮷\n"
    assert read_library(text.encode("gb18030"), "csv").groups[0].words[0].text == "𠮷"


@pytest.mark.parametrize(
    "data",
    [
        "group,word\n潼南,火灾\n".encode("utf-16-le"),  # no BOM
        b"group,word\n\x80\x80\xff\n",
        b"\x89PNG\r\n\x1a\n\x00\x00",
        write_library(EXPECTED, "xlsx"),
    ],
    ids=["utf-16-without-bom", "garbage", "binary", "xlsx-as-csv"],
)
def test_a_file_in_no_supported_encoding_is_one_clear_error(data: bytes) -> None:
    (problem,) = problems_of(data, "csv")
    assert "UTF-8" in problem.message or "xlsx" in problem.message


def test_header_problems_are_reported_once() -> None:
    data = "group,备注,category,分类\n潼南,x,region,region\n双江,y,region,region\n".encode()
    problems = problems_of(data, "csv")
    assert where(problems) == [(1, "备注"), (1, "分类"), (1, "word")]
    assert "missing required column" in problems[2].message


def test_header_may_follow_blank_lines_and_use_any_case() -> None:
    data = b"\n,,\nGroup, WORD \ng,a\n"
    assert read_library(data, "csv") == Library(groups=[Group(name="g", words=[Word(text="a")])])


# --- line-level problems ----------------------------------------------------------------------


def test_every_bad_line_is_reported_together() -> None:
    data = "\n".join(
        [
            "group,category,word,weight,level,aliases",
            "潼南,region,潼南区,1,0,",
            "潼南,region,,1,,",  # 3: empty word
            "潼南 地名,region,双江,,,",  # 4: group name with a space
            "潼南,region,太安,abc,12,",  # 5: weight and level
            "潼南,region," + "长" * 101 + ",,,",  # 6: too long
            "潼南,region,潼南区,,,",  # 7: duplicate of line 2
            "潼南,event,柏梓,,,",  # 8: conflicting category
            "潼南,region,桂林,,,a|" + "b" * 101,  # 9: alias too long
            "潼南,custom!,龙形,,,",  # 10: bad category
            '潼南,region,"塘坝\n镇",,,',  # 11: line break inside a word
            "潼南,region,宝龙,,,,extra",  # 13: value past the header
        ]
    ).encode()
    problems = problems_of(data, "csv")
    assert where(problems) == [
        (3, "word"),
        (4, "group"),
        (5, "weight"),
        (5, "level"),
        (6, "word"),
        (7, "word"),
        (8, "category"),
        (9, "aliases"),
        (10, "category"),
        (11, "word"),
        (13, "7"),
    ]
    assert str(problems[0]) == "line 3, column word: empty word"
    assert "first on line 2" in problems[5].message
    assert "line 2" in problems[6].message and "region" in problems[6].message


def test_a_file_with_three_bad_lines_gives_three_problems_named_by_chinese_columns() -> None:
    rows = ["词组,关键词,权重"] + [f"潼南,词{i},1" for i in range(100)]
    rows[10], rows[50], rows[99] = "潼南,,1", "潼南,词5,1", "潼南,词99x,101"
    problems = problems_of("\n".join(rows).encode("gbk"), "csv")
    assert where(problems) == [(11, "关键词"), (51, "关键词"), (100, "权重")]


def test_scattered_rows_form_one_group_in_file_order() -> None:
    data = b"group,word\na,1\nb,2\na,3\n"
    library = read_library(data, "csv", category="event")
    assert [(g.name, g.category, [w.text for w in g.words]) for g in library.groups] == [
        ("a", "event", ["1", "3"]),
        ("b", "event", ["2"]),
    ]


def test_line_numbers_count_physical_lines_and_bad_quoting_is_reported() -> None:
    data = b'group,word\ng,"multi\nline"\ng,"x"y\ng,\n'
    problems = problems_of(data, "csv")
    assert where(problems) == [(2, "word"), (4, None), (5, "word")]
    assert problems_of(b'group,word\ng,"open\ng,b\n', "csv")[0].message.startswith("unclosed")


# --- xlsx -------------------------------------------------------------------------------------


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _edit_sheet(data: bytes, pattern: str, replacement: str) -> bytes:
    """``data`` with the first sheet's XML edited, as Excel would have written it."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    edited, count = re.subn(pattern, replacement, sheet)
    assert count == 1
    parts["xl/worksheets/sheet1.xml"] = edited.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name, content in parts.items():
            dst.writestr(name, content)
    return out.getvalue()


def test_xlsx_numbers_become_words_and_lines_are_excel_row_numbers() -> None:
    data = _xlsx(
        [
            ["关键词", "词组", "权重", "级别"],
            [110, "号码", 5, 3.0],
            [12.5, "号码", "2.5", None],
            [],
            [None, "号码", None, None],
            ["119", "号码", 101, None],
        ]
    )
    assert where(problems_of(data, "xlsx")) == [(5, "关键词"), (6, "权重")]
    fixed = _xlsx([["词组", "关键词", "级别"], ["号码", 110, 3.0], ["号码", 12.5, None]])
    assert read_library(fixed, "xlsx") == Library(
        groups=[Group(name="号码", words=[Word(text="110", level=3), Word(text="12.5")])]
    )


def test_xlsx_formula_cells_give_their_value() -> None:
    data = _xlsx([["group", "word"], ["地名", '="潼"&"南"']])
    # openpyxl saves no result for a formula; without one the cell is empty.
    assert problems_of(data, "xlsx")[0].message == "empty word"
    # Excel saves the last result next to the formula.
    cached = _edit_sheet(
        data, r'<c r="B2"><f>(.*?)</f><v></v></c>', r'<c r="B2" t="str"><f>\1</f><v>潼南</v></c>'
    )
    assert read_library(cached, "xlsx") == Library(
        groups=[Group(name="地名", words=[Word(text="潼南")])]
    )


def test_xlsx_rows_beyond_a_stale_stored_size_are_read() -> None:
    data = _xlsx([["group", "word"], ["g", "a"], ["g", "b"], ["g", "c"]])
    stale = _edit_sheet(data, r'<dimension ref="A1:B4"/>', '<dimension ref="A1:B2"/>')
    assert len(read_library(stale, "xlsx").groups[0].words) == 3


def test_a_damaged_xlsx_is_one_clear_error() -> None:
    (problem,) = problems_of(b"PK\x03\x04 not really a zip", "xlsx")
    assert "xlsx" in problem.message


# --- plain text -------------------------------------------------------------------------------


def test_txt_skips_blanks_and_comments_and_strips_whitespace() -> None:
    data = "# 潼南地名\n\n  潼南区 \r\n\u3000双江镇\n#注释\n".encode("gbk")
    assert read_library(data, "txt", group="地名", category="地域词") == Library(
        groups=[
            Group(name="地名", category="region", words=[Word(text="潼南区"), Word(text="双江镇")])
        ]
    )


def test_txt_problems() -> None:
    data = ("潼南\n" + "长" * 101 + "\n双江\n潼南\n").encode()
    assert where(problems_of(data, "txt", group="地名")) == [(2, None), (4, None)]
    assert problems_of(b"a\n", "txt")[0].message == "a plain-text import needs a group name"
    assert "invalid group name" in problems_of(b"a\n", "txt", group="a:b")[0].message
    assert "unknown category" in problems_of(b"a\n", "txt", group="g", category="a b")[0].message


# --- yaml and json ----------------------------------------------------------------------------


def test_yaml_problems_have_readable_locations_and_lines() -> None:
    data = """\
groups:
- name: 潼南地名
  words:
  - 潼南
  - text: 双江
    weight: 200
- name: bad name
  words: []
rules:
- name: 火灾
  expression: '@潼南地名'
  colour: red
""".encode()
    problems = problems_of(data, "yaml")
    assert [str(p) for p in problems] == [
        "line 6: groups[0] (name 潼南地名).words[1] (text 双江).weight: "
        "Input should be less than or equal to 100",
        "line 7: groups[1] (name bad name).name: invalid group name 'bad name': "
        "1-64 characters without spaces, parentheses, quotes, @ or colon",
        "line 12: rules[0] (name 火灾).colour: Extra inputs are not permitted",
    ]


def test_yaml_words_that_are_not_text_ask_for_quotes() -> None:
    data = b"groups:\n- name: g\n  words:\n  - '110'\n  - 110\n  - 2024-01-01\n"
    problems = problems_of(data, "yaml")
    assert where(problems) == [(5, None), (6, None)]
    assert (
        problems[0].message
        == "groups[0] (name g).words[1]: 110 is not text: put the word in quotes"
    )


def test_yaml_and_json_syntax_errors_have_lines() -> None:
    assert where(problems_of(b"groups:\n- name: a\n  words: [x\n", "yaml")) == [(4, None)]
    assert where(problems_of(b'{"groups": [\n  {"name": }]}', "json")) == [(2, None)]
    assert "mapping" in problems_of(b"- a\n", "yaml")[0].message
    assert problems_of(b"", "yaml")[0].line is None


def test_json_problems_have_locations() -> None:
    data = json.dumps({"groups": [{"name": "g", "words": ["", "b"]}]}).encode()
    (problem,) = problems_of(data, "json")
    assert problem.message.startswith("groups[0] (name g).words[0].text: String should")


# --- all or nothing, progress, size -----------------------------------------------------------


def test_one_bad_line_at_the_end_refuses_the_whole_file() -> None:
    data = ("group,word\n" + "".join(f"g,w{i}\n" for i in range(1000)) + "g,\n").encode()
    with pytest.raises(ImportFailed) as failed:
        read_library(data, "csv")
    assert where(failed.value.problems) == [(1002, "word")]
    assert isinstance(failed.value, ValueError)


def test_100k_line_csv_imports_with_progress() -> None:
    lines = 100_000
    data = (
        "group,category,word,weight\n"
        + "".join(f"组{i % 100},event,关键词{i},{i % 100}\n" for i in range(lines))
    ).encode("gbk")
    calls: list[tuple[int, int]] = []
    started = time.perf_counter()
    library = read_library(data, "csv", progress=lambda done, total: calls.append((done, total)))
    elapsed = time.perf_counter() - started
    assert sum(len(g.words) for g in library.groups) == lines
    assert elapsed < 60  # about 3 s here: the bound catches quadratic slips, not load
    total = lines + 1
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    counts = [done for done, _ in calls]
    assert counts == sorted(set(counts)) and len(counts) > 10


def test_progress_for_every_format() -> None:
    library = Library(groups=[Group(name="g", words=[Word(text=f"w{i}") for i in range(300)])])
    calls: list[tuple[int, int]] = []
    for fmt in FORMATS:
        group = "g" if fmt == "txt" else None
        calls.clear()
        data = write_library(library, fmt, group=group)
        read_library(
            data, fmt, group=group, progress=lambda done, total: calls.append((done, total))
        )
        done, total = calls[-1]
        assert done == total > 0, fmt


# --- merge ------------------------------------------------------------------------------------


BASE = Library(
    groups=[
        Group(name="地名", category="region", words=[Word(text="潼南"), Word(text="双江")]),
        Group(name="事件", category="event", words=[Word(text="火灾")], description="keep"),
    ],
    rules=[Rule(name="r1", expression="@地名"), Rule(name="r2", expression="@事件")],
)
INCOMING = Library(
    groups=[
        Group(
            name="事件", category="event", words=[Word(text="爆炸"), Word(text="火灾", weight=9)]
        ),
        Group(name="主体", words=[Word(text="区政府")]),
    ],
    rules=[Rule(name="r2", expression="@事件 AND @地名"), Rule(name="r3", expression="x")],
)


def test_merge_add_appends_missing_words_and_new_groups() -> None:
    before = BASE.model_copy(deep=True)
    merged = merge(BASE, INCOMING)
    assert before == BASE
    event = merged.group("事件")
    assert event is not None and event.description == "keep"
    assert [(w.text, w.weight) for w in event.words] == [("火灾", 1.0), ("爆炸", 1.0)]
    assert [g.name for g in merged.groups] == ["地名", "事件", "主体"]
    assert [(r.name, r.expression) for r in merged.rules] == [
        ("r1", "@地名"),
        ("r2", "@事件 AND @地名"),
        ("r3", "x"),
    ]


def test_merge_replace_swaps_whole_groups() -> None:
    merged = merge(BASE, INCOMING, mode="replace")
    assert merged.groups == [BASE.groups[0], INCOMING.groups[0], INCOMING.groups[1]]
    assert [r.name for r in merged.rules] == ["r1", "r2", "r3"]


def test_merge_result_shares_nothing_with_its_inputs() -> None:
    merged = merge(BASE, INCOMING)
    merged.groups[0].words.append(Word(text="新词"))
    merged.groups[2].words.clear()
    assert len(BASE.groups[0].words) == 2 and INCOMING.groups[1].words
    with pytest.raises(ValueError, match="mode"):
        merge(BASE, INCOMING, mode="upsert")  # type: ignore[arg-type]


# --- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("词库.csv", "csv"),
        ("词库.XLSX", "xlsx"),
        ("list.txt", "txt"),
        ("lib.yml", "yaml"),
        ("lib.yaml", "yaml"),
        ("/tmp/x.json", "json"),
    ],
)
def test_detect_format(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


@pytest.mark.parametrize(
    ("name", "match"), [("词库.doc", "unknown"), ("a.xls", "xlsx"), ("a", "none")]
)
def test_detect_format_refuses_unknown_extensions(name: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        detect_format(name)


def test_group_argument_only_applies_to_plain_text() -> None:
    with pytest.raises(ValueError, match="txt"):
        read_library(b"group,word\n", "csv", group="g")
    with pytest.raises(ValueError, match="whole library"):
        write_library(Library(), "yaml", group="g")
