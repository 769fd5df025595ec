"""Limits at the edges: input no engine could take is refused with a 4xx problem naming
the field, before any engine sees it; nothing is half-saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import Browser, make_app, signed_in
from apiflask import APIFlask

from store import Store


@pytest.fixture
def op(store: Store, tmp_path: Path) -> Browser:
    app: APIFlask = make_app(store, tmp_path)
    return signed_in(app, "operator")


GROUP = {"name": "地名", "category": "region", "words": ["潼南"], "parent": 0}


def test_hostile_input_gets_a_problem_not_a_500(op: Browser) -> None:
    assert op.post("/api/keywords/groups", json=GROUP).status_code == 201
    nested = op.post(
        "/api/keywords/groups",
        data="[" * 100_000 + "]" * 100_000,
        content_type="application/json",
    )
    assert nested.status_code == 400 and "nested" in nested.get_json()["detail"]
    for path in ("/api/items?q=%E6%BD%BC%00%E5%8D%97", "/api/items/export?q=a%00b"):
        answer = op.get(path)
        assert answer.status_code == 400, path
        assert answer.get_json()["field"] == "q"
    long_word = "火" * 3000
    tested = op.post("/api/keywords/test", json={"expression": long_word, "text": "潼南起火"})
    assert tested.status_code == 400 and "longer than 100" in tested.get_json()["detail"]
    rule = {"name": "r", "expression": f"@地名 {long_word}", "parent": 1}
    saved = op.post("/api/keywords/rules", json=rule)
    assert saved.status_code in (400, 422) and saved.get_json()["field"].startswith("expression")
    alias = op.send(
        "PATCH",
        "/api/keywords/groups/地名",
        json={"words": [{"text": "潼南", "aliases": ["潼" * 5000]}], "parent": 1},
    )
    assert alias.status_code in (400, 422), alias.get_json()
    # Nothing of the refused changes was saved.
    version = op.get("/api/keywords/groups").get_json()["version"]
    assert version == 1
