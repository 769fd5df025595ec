"""Operators' own places: imported from CSV/XLSX with every problem named by its line,
filed under a gazetteer code (``<parent>-<n>``), saved as a library version and audited
once; place recognition then finds them and puts them under their district."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from analysis.gazetteer import default, with_operator_places
from analysis.places import Recognizer
from keywords import operations
from keywords.io import ImportFailed
from keywords.library import KeywordLibrary
from keywords.model import Library, Rule
from keywords.places import divisions, names, read_places
from keywords.validate import InvalidLibrary
from store import open_store
from store.acting import Acting
from store.clock import ManualClock

CSV = "名称,上级代码,类型,别名\n潼南中学,500152,school,潼南一中\n潼南高新区,500152,park,\n"


@pytest.fixture
def acting(tmp_path: Path) -> Acting:
    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    return Acting("张三", store, ManualClock(datetime(2026, 3, 1, tzinfo=UTC)))


def test_import_gives_codes_saves_a_version_and_audits_once(acting: Acting) -> None:
    places = read_places(CSV.encode(), "csv", default())
    change = operations.import_places(acting, places, details={"file": "places.csv"})
    _head, library = KeywordLibrary(acting.store).current()
    assert [(p.code, p.name) for p in library.places] == [
        ("500152-1", "潼南中学"),
        ("500152-2", "潼南高新区"),
    ]
    entries = acting.store.audit.list(target=f"library:{change.version.version}")
    assert [e.action for e in entries] == ["keywords.places.import"]
    assert entries[0].after["places"] == ["500152-1 潼南中学", "500152-2 潼南高新区"]
    # A second import of the same place keeps its code; a new one gets the next number.
    again = read_places(
        "name,parent,aliases\n潼南中学,500152,潼南一中\n潼南区人民医院,500152,\n".encode(),
        "csv",
        default(),
    )
    operations.import_places(acting, again)
    _head, library = KeywordLibrary(acting.store).current()
    assert [p.code for p in library.places] == ["500152-1", "500152-2", "500152-3"]

    # Recognition finds an operator's place (and its alias) and files it under 潼南区.
    gazetteer = with_operator_places(default(), divisions(library))
    recognizer = Recognizer(gazetteer, names(library))
    found = recognizer.recognize("潼南一中门口发生交通事故", "")
    assert found.primary == "500152-1"
    assert "500152" in found.codes and "50" in found.codes


def test_every_bad_line_is_named_and_nothing_is_imported(acting: Acting) -> None:
    bad = "名称,上级代码\n潼南中学,999999\n甲,500152\n潼南中学,500152\n潼南中学,500152\n"
    with pytest.raises(ImportFailed) as caught:
        read_places(bad.encode(), "csv", default())
    problems = [(p.line, p.column) for p in caught.value.problems]
    assert problems == [(2, "parent"), (3, "name"), (5, "name")]
    assert "999999" in str(caught.value)


def test_xlsx_and_an_unknown_column(acting: Acting) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "parent", "colour"])
    sheet.append(["双江古镇", "500152110", "red"])
    data = io.BytesIO()
    book.save(data)
    with pytest.raises(ImportFailed) as caught:
        read_places(data.getvalue(), "xlsx", default())
    assert [(p.line, p.message) for p in caught.value.problems] == [(1, "unknown column 'colour'")]
    sheet.delete_cols(3)
    data = io.BytesIO()
    book.save(data)
    [place] = read_places(data.getvalue(), "xlsx", default())
    assert (place.name, place.parent) == ("双江古镇", "500152110")


def test_a_region_code_that_names_no_place_is_refused(acting: Acting) -> None:
    bad = Library(rules=[Rule(name="r", expression="region:999999 火灾")])
    with pytest.raises(InvalidLibrary) as caught:
        operations.save_library(acting, bad)
    assert "region:999999: no place has the code 999999" in str(caught.value)
    places = read_places("名称,上级代码\n潼南中学,500152\n".encode(), "csv", default())
    operations.import_places(acting, places)
    _head, library = KeywordLibrary(acting.store).current()
    library.rules.append(Rule(name="r", expression="region:500152-1 火灾"))
    operations.save_library(acting, library)  # an operator's place is a known code
