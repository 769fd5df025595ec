"""The gazetteer updated from the official code list (``yuqing places import-codes``):
new divisions added, renamed ones keeping the old name as a former name (曾用名) that
recognition still resolves, missing ones marked removed; line errors in Chinese; kept in
the store as a library version, so a rebuilt gazetteer gets it again. And the curated
former names (潼南县 -> 潼南区)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from api_support import Browser
from apiflask import APIFlask
from click.testing import CliRunner

from analysis import gazetteer
from analysis.gazetteer import FORMER_NAMES, normalize_code
from analysis.item import default as default_analyzer
from analysis.places import Recognizer
from api.console.messages import chinese
from keywords import operations
from keywords.io import ImportFailed
from keywords.library import KeywordLibrary
from keywords.live import LiveMatcher
from keywords.model import Library, Rule
from keywords.places import gazetteer_of, names, plan_codes, read_codes
from store import Item, Store, open_store
from store.acting import Acting
from store.clock import ManualClock
from yuqing.cli import main

HERE = Path(__file__).parent / "places_codes"
TOWNSHIPS = HERE / "tongnan-townships.txt"


@pytest.fixture
def acting(tmp_path: Path) -> Acting:
    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    return Acting("张三", store, ManualClock(datetime(2026, 3, 1, tzinfo=UTC)))


def test_codes_are_cut_to_their_level() -> None:
    assert normalize_code("500152000000") == "500152"
    assert normalize_code("500152104000") == "500152104"
    assert normalize_code("500100000000") == normalize_code("500100") == "5001"
    assert normalize_code("500000") == "50" and normalize_code("500152") == "500152"
    assert normalize_code("500152110201") == "500152110201"  # a village stays a village


def test_a_code_list_adds_renames_and_removes_audited_once(acting: Acting) -> None:
    lines, villages = read_codes(TOWNSHIPS.read_bytes())
    assert villages == 2 and len(lines) == 23
    change, plan = operations.import_codes(acting, lines, villages=villages)
    assert plan.added == ["500152004 琼江街道"]
    assert plan.renamed == ["500152104 宝龙镇 -> 宝龙街道"]
    assert plan.removed == ["500152124 寿桥镇"] and plan.unchanged == 21
    _head, library = KeywordLibrary(acting.store).current()
    by_code = {d.code: d for d in library.divisions}
    assert by_code["500152104"].former == ["宝龙镇"] and by_code["500152124"].removed
    [entry] = acting.store.audit.list(target=f"library:{change.version.version}")
    assert entry.action == "keywords.places.codes" and entry.actor == "张三"
    assert entry.after["renamed"] == 1 and entry.after["removed"] == 1

    # Recognition: the new street, the new name, the old name (曾用名) and the removed
    # town (still under 潼南区, marked) all resolve.
    g = gazetteer_of(library)
    recognizer = Recognizer(g, names(library))
    assert g.display("500152004") == "重庆市 潼南区 琼江街道"
    found = recognizer.recognize("琼江街道开展防汛演练", "")
    assert found.primary == "500152004" and "500152" in found.codes
    old = recognizer.recognize("宝龙镇一民房起火", "")
    [mention] = old.mentions
    assert mention.code == "500152104" and mention.evidence[0] == ("former", "500152104")
    # The new name is shared (深圳 has a 宝龙街道): context decides, as for any name.
    assert recognizer.recognize("潼南区宝龙街道一民房起火", "").primary == "500152104"
    gone = recognizer.recognize("寿桥镇一民房起火", "").mentions[0]
    assert gone.code == "500152124" and ("removed", "500152124") in gone.evidence

    # Importing the same list again changes nothing more; the former name is kept.
    _change, again = operations.import_codes(acting, lines)
    assert (again.added, again.renamed, again.removed) == ([], [], [])
    _head, library = KeywordLibrary(acting.store).current()
    assert {d.code: d for d in library.divisions}["500152104"].former == ["宝龙镇"]


def test_the_import_survives_a_rebuilt_gazetteer(acting: Acting) -> None:
    lines, _villages = read_codes(TOWNSHIPS.read_bytes())
    operations.import_codes(acting, lines)
    gazetteer.default.cache_clear()  # as after `make analysis-data`: the file read afresh
    try:
        _head, library = KeywordLibrary(acting.store).current()
        assert gazetteer_of(library).places["500152104"].name == "宝龙街道"
        assert gazetteer.default().places["500152104"].name == "宝龙镇"  # the built file
    finally:
        gazetteer.default.cache_clear()


def test_the_live_matcher_takes_an_import_at_once(acting: Acting) -> None:
    operations.save_library(acting, Library(rules=[Rule(name="潼南", expression="region:500152")]))
    live = LiveMatcher(acting.store)

    def item(title: str) -> Item:
        return Item(url=f"http://x/{title}", title=title, body="", first_seen=acting.now())

    assert live.match_item(item("琼江街道一民房起火")).rules == []
    lines, _villages = read_codes(TOWNSHIPS.read_bytes())
    operations.import_codes(acting, lines)
    live.refresh()
    assert live.match_item(item("琼江街道一民房起火")).rules == ["潼南"]


def test_bad_lines_are_named_in_chinese_and_nothing_changes(acting: Acting) -> None:
    with pytest.raises(ImportFailed) as caught:
        read_codes((HERE / "bad.csv").read_bytes())
    assert [(p.line, chinese(p.message)) for p in caught.value.problems] == [
        (3, "第 3 行：代码 '50015' 应是 12 位（统计用区划代码）或 6 位（民政部行政区划代码）数字"),
        (4, "第 4 行：代码 500152002000 缺少名称"),
        (5, "第 5 行：代码 500152001000 与第 2 行重复，名称不同（桂林街道、桂林镇）"),
    ]  # in English as raised, in Chinese as the console and the CLI show them
    lines, _villages = read_codes("990101001000,无此镇\n".encode())
    with pytest.raises(ImportFailed) as caught:
        operations.import_codes(acting, lines)
    assert [chinese(p.message) for p in caught.value.problems] == [
        "第 1 行：上级代码 990101 既不在文件中也不在现有区划中"
    ]
    assert acting.store.library.head() is None


def test_a_partial_list_would_remove_too_much_unless_told(acting: Acting) -> None:
    lines, _villages = read_codes((HERE / "mca-counties.csv").read_bytes())  # GBK
    assert [(c.code, c.name) for c in lines][-1] == ("500199", "琼江新区")
    with pytest.raises(ImportFailed, match="unlike a whole code list"):
        plan_codes(Library(), lines)
    plan = plan_codes(Library(), lines, remove=False)
    assert plan.added == ["500199 琼江新区"] and plan.removed == []


def test_the_command_reports_in_chinese_and_in_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUQING_STORE", f"sqlite:///{tmp_path / 'y.db'}")
    runner = CliRunner()
    done = runner.invoke(main, ["places", "import-codes", str(TOWNSHIPS), "--author", "张三"])
    assert done.exit_code == 0, done.output
    assert "新增 1，更名 1，撤销 1" in done.output and "已读取 " in done.output
    assert "更名（旧名保留为曾用名）：500152104 宝龙镇 -> 宝龙街道" in done.output
    bad = runner.invoke(main, ["places", "import-codes", str(HERE / "bad.csv"), "--author", "张三"])
    assert bad.exit_code == 2 and "未导入，发现 3 个问题" in bad.output
    assert "第 4 行：代码 500152002000 缺少名称" in bad.output and "Traceback" not in bad.output
    partial = runner.invoke(
        main, ["places", "import-codes", str(HERE / "mca-counties.csv"), "--author", "张三"]
    )
    assert partial.exit_code == 2 and "--no-remove" in partial.output
    kept = runner.invoke(
        main,
        [
            "places",
            "import-codes",
            str(HERE / "mca-counties.csv"),
            "--author",
            "张三",
            "--no-remove",
        ],
        env={"YUQING_LANG": "en"},  # the second locale: the same report in English
    )
    assert kept.exit_code == 0 and "  added: 500199 琼江新区" in kept.output, kept.output
    assert "division(s) read" in kept.output and ": 1 added, 0 renamed, 0 removed" in kept.output


def test_curated_former_names_resolve_to_the_current_code() -> None:
    g = gazetteer.default()
    assert g.places["500152"].name == "潼南区" and "潼南县" in g.places["500152"].former
    for former, code in FORMER_NAMES.items():
        assert code in g.places, former
    recognizer = default_analyzer().recognizer
    for text, code in [
        ("潼南县双江镇发生火灾", "500152"),
        ("襄樊市今日召开会议", "4206"),
        ("原崇文区的老街坊回来了", "110101"),
    ]:
        first = recognizer.recognize(text, "").mentions[0]
        assert (first.code, first.evidence[0]) == (code, ("former", code)), text
    # A former name's short form that is a current place's name stays that place's.
    assert recognizer.recognize("思茅发布通知", "").mentions[0].code == "530802"


def test_the_console_names_an_imported_division(
    store: Store, app: APIFlask, viewer: Browser
) -> None:
    acting = Acting("张三", store, ManualClock(datetime(2026, 3, 1, tzinfo=UTC)))
    assert "琼江街道" not in viewer.get("/alerts?region=500152004").get_data(as_text=True)
    lines, _villages = read_codes(TOWNSHIPS.read_bytes())
    operations.import_codes(acting, lines)
    app.extensions.pop("yuqing.region_names", None)  # as after FRESH_SECONDS
    page = viewer.get("/alerts?region=500152004").get_data(as_text=True)
    assert '<span class="muted" id="inbox-region">琼江街道 · 潼南区</span>' in page
