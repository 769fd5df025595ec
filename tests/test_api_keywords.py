"""The keyword library through ``/api/keywords``, on both stores."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import Browser, job_done, make_app, signed_in
from apiflask import APIFlask

from api.context import parts
from keywords.io import read_library
from keywords.model import Library
from rules.tokens import index_text
from store import Item, Store

GROUPS = [
    {"name": "地名", "category": "region", "words": ["潼南", "双江镇"]},
    {"name": "火灾词", "category": "event", "words": ["火灾", "起火"]},
]
RULE = {
    "name": "潼南火灾",
    "expression": "@地名 NEAR/10 @火灾词",
    "severity": "critical",
    "must_match": ["双江镇一民房起火"],
    "must_not_match": ["北京起火"],
}


@pytest.fixture
def app(store: Store, tmp_path: Path) -> APIFlask:
    return make_app(store, tmp_path)


@pytest.fixture
def op(app: APIFlask) -> Browser:
    return signed_in(app, "operator")


@pytest.fixture
def viewer(app: APIFlask) -> Browser:
    return signed_in(app, "viewer")


def version(browser: Browser) -> int:
    return int(browser.get("/api/keywords/groups").get_json()["version"])


def seed(op: Browser) -> int:
    """Two groups and a rule, saved as versions 1-3."""
    for n, group in enumerate(GROUPS):
        assert op.post("/api/keywords/groups", json={**group, "parent": n}).status_code == 201
    response = op.post("/api/keywords/rules", json={**RULE, "parent": 2})
    assert response.status_code == 201, response.get_json()
    return 3


def audit(app: APIFlask, target: str) -> list[Any]:
    with app.app_context():
        return parts().store.audit.list(target=target)


def job_of(browser: Browser, response: Any) -> dict[str, Any]:
    """The job a 202 response started, once it has ended."""
    assert response.status_code == 202, response.get_json()
    return job_done(browser, response.headers["Location"])


def upload(op: Browser, name: str, data: bytes, **form: Any) -> Any:
    fields = {"file": (io.BytesIO(data), name), **{k: str(v) for k, v in form.items()}}
    return op.post("/api/keywords/import", data=fields, content_type="multipart/form-data")


def test_groups_crud_makes_versions_and_audits(app: APIFlask, op: Browser) -> None:
    response = op.post("/api/keywords/groups", json={**GROUPS[0], "parent": 0})
    assert response.status_code == 201
    assert response.get_json()["version"] == 1
    listed = op.get("/api/keywords/groups").get_json()
    assert listed["version"] == 1
    assert listed["groups"] == [
        {"name": "地名", "category": "region", "enabled": True, "description": "", "word_count": 2}
    ]

    change = {"parent": 1, "add": ["梓潼", {"text": "宝龙镇", "weight": 2}], "remove": ["潼南"]}
    response = op.send("PATCH", "/api/keywords/groups/地名", json=change)
    assert response.status_code == 200, response.get_json()
    paste = {"parent": 2, "paste": "花岩镇\n\n  柏梓镇  \n梓潼\n", "description": "潼南区"}
    response = op.send("PATCH", "/api/keywords/groups/地名", json=paste)
    assert response.status_code == 200, response.get_json()
    group = op.get("/api/keywords/groups/地名").get_json()["group"]
    assert [w["text"] for w in group["words"]] == ["双江镇", "梓潼", "宝龙镇", "花岩镇", "柏梓镇"]
    assert group["words"][2] == {"text": "宝龙镇", "weight": 2.0, "level": None, "aliases": []}
    assert group["description"] == "潼南区"

    assert op.send("DELETE", "/api/keywords/groups/地名?parent=3").status_code == 200
    assert op.get("/api/keywords/groups/地名").status_code == 404
    actions = [e.action for e in audit(app, "group:地名")]
    assert actions == [
        "keywords.group.delete",
        "keywords.group.update",
        "keywords.group.update",
        "keywords.group.create",
    ]
    entry = audit(app, "group:地名")[2]
    assert entry.actor == "operator1"
    assert "潼南" in [w["text"] for w in entry.before["words"]]
    assert entry.after["version"] == 2


def test_rules_crud_and_test_sentences(app: APIFlask, op: Browser) -> None:
    seed(op)
    rule = op.get("/api/keywords/rules/潼南火灾").get_json()["rule"]
    assert rule["expression"] == RULE["expression"] and rule["scope"] == "both"
    response = op.send(
        "PATCH",
        "/api/keywords/rules/潼南火灾",
        json={"parent": 3, "severity": "warning", "must_not_match": ["北京起火", "潼南天气"]},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rule"]["severity"] == "warning"
    results = op.get("/api/keywords/rules/潼南火灾/tests").get_json()["results"]
    assert results == [
        {"sentence": "双江镇一民房起火", "expected": "should match", "ok": True},
        {"sentence": "北京起火", "expected": "should not match", "ok": True},
        {"sentence": "潼南天气", "expected": "should not match", "ok": True},
    ]
    renamed = op.send("PATCH", "/api/keywords/rules/潼南火灾", json={"parent": 4, "name": "火灾"})
    assert renamed.status_code == 200
    assert [r["name"] for r in op.get("/api/keywords/rules").get_json()["rules"]] == ["火灾"]
    assert op.send("DELETE", "/api/keywords/rules/火灾?parent=5").status_code == 200
    assert op.get("/api/keywords/rules").get_json() == {"version": 6, "rules": []}
    assert [e.action for e in audit(app, "rule:潼南火灾")] == [
        "keywords.rule.update",
        "keywords.rule.update",
        "keywords.rule.create",
    ]


def test_a_disabled_rule_keeps_its_tests(op: Browser) -> None:
    seed(op)
    off = {"parent": 3, "enabled": False}
    assert op.send("PATCH", "/api/keywords/rules/潼南火灾", json=off).status_code == 200
    off["parent"] = 4
    assert op.send("PATCH", "/api/keywords/groups/火灾词", json=off).status_code == 200
    response = op.get("/api/keywords/rules/潼南火灾/tests")
    assert response.status_code == 200
    assert [r["ok"] for r in response.get_json()["results"]] == [True, True]


def test_a_group_in_use_cannot_be_deleted(op: Browser) -> None:
    seed(op)
    response = op.send("DELETE", "/api/keywords/groups/地名?parent=3")
    assert response.status_code == 400
    assert "unknown group @地名" in response.get_json()["detail"]
    assert version(op) == 3


def test_two_editors_never_overwrite_each_other(op: Browser, app: APIFlask) -> None:
    seed(op)
    other = signed_in(app, "admin")  # both read version 3
    first = op.send("PATCH", "/api/keywords/groups/地名", json={"parent": 3, "add": ["梓潼"]})
    assert first.status_code == 200
    late = {"parent": 3, "remove": ["潼南"]}
    second = other.send("PATCH", "/api/keywords/groups/地名", json=late)
    assert second.status_code == 409
    assert second.mimetype == "application/problem+json"
    assert second.get_json()["field"] == "parent"
    words = [w["text"] for w in op.get("/api/keywords/groups/地名").get_json()["group"]["words"]]
    assert words == ["潼南", "双江镇", "梓潼"]
    # Same for creating a name that exists, and for a stale rollback.
    again = op.post("/api/keywords/groups", json={**GROUPS[0], "parent": 4})
    assert (again.status_code, again.get_json()["field"]) == (409, "name")
    stale = op.post("/api/keywords/versions/1/rollback", json={"parent": 3})
    assert stale.status_code == 409


def test_bad_expression_is_400_with_field_and_position(op: Browser) -> None:
    seed(op)
    response = op.post(
        "/api/keywords/rules", json={"parent": 3, "name": "坏", "expression": "潼南 AND (火灾"}
    )
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["field"] == "expression"
    assert problem["position"] == len("潼南 AND (火灾")  # the end: ")" expected
    assert "expected" in problem["detail"]
    unknown = op.post(
        "/api/keywords/rules", json={"parent": 3, "name": "坏", "expression": "@没有 火灾"}
    )
    assert unknown.status_code == 400
    assert unknown.get_json()["field"] == "expression"
    assert "unknown group @没有" in unknown.get_json()["detail"]
    failing = op.send(
        "PATCH", "/api/keywords/rules/潼南火灾", json={"parent": 3, "must_match": ["北京火灾"]}
    )
    assert failing.status_code == 400
    assert failing.get_json()["field"] == "must_match"
    assert version(op) == 3

    check = op.post("/api/keywords/validate-expression", json={"expression": "潼南 NEAR/x 火灾"})
    assert check.status_code == 200
    body = check.get_json()
    assert body["valid"] is False and body["position"] == 3
    good = op.post("/api/keywords/validate-expression", json={"expression": "@地名 NOT 演练"})
    assert good.get_json() | {"version": 0} == {
        "version": 0,
        "valid": True,
        "detail": "",
        "position": None,
        "problems": [],
        "groups": ["地名"],
    }


def test_bad_pasted_lines_are_named_and_nothing_is_saved(op: Browser) -> None:
    seed(op)
    paste = "梓潼\n" + "长" * 101 + "\n梓潼\n"
    response = op.send("PATCH", "/api/keywords/groups/地名", json={"parent": 3, "paste": paste})
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["field"] == "paste"
    assert [p["line"] for p in problem["problems"]] == [2, 3]
    assert version(op) == 3


def test_live_test_highlights_escaped(op: Browser, viewer: Browser) -> None:
    seed(op)
    text = "<script>alert(1)</script>双江镇起火"
    response = viewer.post("/api/keywords/test", json={"text": text})
    assert response.status_code == 200
    result = response.get_json()
    assert result["rules"] == ["潼南火灾"] and result["version"] == 3
    assert {(h["word"], h["start"], h["end"]) for h in result["hits"]} == {
        ("双江镇", 25, 28),
        ("起火", 28, 30),
    }
    assert result["marked"] == ("&lt;script&gt;alert(1)&lt;/script&gt;<mark>双江镇起火</mark>")
    draft = viewer.post("/api/keywords/test", json={"text": text, "expression": "alert NOT 起火"})
    assert draft.get_json()["rules"] == []
    draft = viewer.post("/api/keywords/test", json={"text": text, "expression": "title:alert"})
    assert draft.get_json()["marked"].startswith("&lt;script&gt;<mark>alert</mark>(1)")
    bad = viewer.post("/api/keywords/test", json={"text": text, "expression": "(alert"})
    assert (bad.status_code, bad.get_json()["field"]) == (400, "expression")


def test_import_dry_run_then_save(app: APIFlask, op: Browser) -> None:
    seed(op)
    csv = "词组,分类,关键词\n地名,region,梓潼\n疫情词,event,确诊\n".encode()
    preview = upload(op, "new.csv", csv, parent=3, dry_run="true")
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["dry_run"] is True
    assert body["lines"] == ["+ group 疫情词", "~ group 地名: + 梓潼"]
    assert version(op) == 3
    saved = upload(op, "new.csv", csv, parent=3)
    assert saved.status_code == 201
    assert saved.get_json()["version"] == 4
    (entry,) = audit(app, "library:4")[:1]
    assert entry.action == "keywords.import" and entry.actor == "operator1"
    stale = upload(op, "new.csv", csv, parent=3)
    assert stale.status_code == 409


def test_bad_import_lists_lines_and_saves_nothing(op: Browser) -> None:
    seed(op)
    csv = "group,word,weight\n地名,梓潼,1\n地名,,1\nbad name,x,1\n地名,花岩,heavy\n".encode()
    response = upload(op, "bad.csv", csv, parent=3)
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["field"] == "file"
    assert [p["line"] for p in problem["problems"]] == [3, 4, 5]
    assert "line 5" in problem["detail"]
    assert version(op) == 3
    wrong = upload(op, "list.doc", b"x", parent=3)
    assert (wrong.status_code, wrong.get_json()["field"]) == (400, "file")
    yaml_rule = "rules:\n- name: 坏\n  expression: '潼南 AND'\n".encode()
    response = upload(op, "lib.yaml", yaml_rule, parent=3)
    assert response.status_code == 400
    assert response.get_json()["problems"][0]["position"] == len("潼南 AND")
    assert version(op) == 3


def test_large_import_is_a_job_with_progress(app: APIFlask, op: Browser) -> None:
    seed(op)
    lines = "".join(f"词{n:05d}\n" for n in range(30_000)).encode()
    assert len(lines) > 256 * 1024
    response = upload(op, "words.txt", lines, parent=3, group="大词表", category="subject")
    job = job_of(op, response)
    assert job["state"] == "done", job
    assert job["done"] == job["total"] and job["percent"] == 100
    result = op.get(f"/api/jobs/{job['id']}/result").get_json()
    assert result["version"] == 4 and result["import"]["words"] == 30_000
    group = op.get("/api/keywords/groups").get_json()["groups"][-1]
    assert (group["name"], group["word_count"]) == ("大词表", 30_000)
    assert audit(app, "library:4")[0].actor == "operator1"


def test_export_round_trip(op: Browser) -> None:
    seed(op)
    response = op.get("/api/keywords/export?format=yaml")
    assert response.status_code == 200
    assert "keywords-v3.yaml" in response.headers["Content-Disposition"]
    current = Library.model_validate(op.get("/api/keywords/versions/3").get_json()["library"])
    assert read_library(response.data, "yaml") == current
    xlsx = op.get("/api/keywords/export?format=xlsx&group=地名")
    assert read_library(xlsx.data, "xlsx").groups == [current.groups[0]]
    old = op.get("/api/keywords/export?format=json&version=1")
    assert [g.name for g in read_library(old.data, "json").groups] == ["地名"]
    missing = op.get("/api/keywords/export?format=csv&group=没有")
    assert (missing.status_code, missing.get_json()["field"]) == (400, "group")
    assert op.get("/api/keywords/export?format=doc").status_code == 400


def test_versions_diff_and_rollback(app: APIFlask, op: Browser) -> None:
    seed(op)
    versions = op.get("/api/keywords/versions").get_json()["versions"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert versions[0]["author"] == "operator1"
    changes = op.get("/api/keywords/diff?old=1&new=3").get_json()
    assert changes["lines"] == ["+ group 火灾词", "+ rule 潼南火灾"]
    assert op.get("/api/keywords/diff?old=1&new=9").status_code == 404
    response = op.post("/api/keywords/versions/1/rollback", json={"parent": 3})
    assert response.status_code == 201
    assert response.get_json()["message"] == "rollback to version 1"
    assert [g["name"] for g in op.get("/api/keywords/groups").get_json()["groups"]] == ["地名"]
    (entry,) = audit(app, "library:4")[:1]
    assert entry.action == "keywords.rollback" and entry.after["restored"] == 1
    assert op.post("/api/keywords/versions/9/rollback", json={"parent": 4}).status_code == 404


def test_backtest_job_reports_progress_and_impact(app: APIFlask, op: Browser) -> None:
    seed(op)
    with app.app_context():
        now = parts().now()
        titles = ["双江镇一民房起火", "潼南宝龙镇火灾", "北京起火"]
        parts().store.items.upsert_many(
            [
                Item(
                    url=f"http://x.example/{n}",
                    title=title,
                    body="",
                    first_seen=now - timedelta(days=1),
                    norm_title=index_text(title),
                    norm_body="",
                )
                for n, title in enumerate(titles)
            ]
        )
    rule = {**RULE, "expression": "(@地名 OR 宝龙镇 OR 北京) NEAR/10 @火灾词", "must_not_match": []}
    response = op.post("/api/keywords/backtest", json={"days": 7, "examples": 5, "rule": rule})
    job = job_of(op, response)
    assert job["state"] == "done", job
    assert (job["done"], job["total"]) == (1, 1)
    result = op.get(f"/api/jobs/{job['id']}/result").get_json()
    (impact,) = result["rules"]
    assert impact["rule"] == "潼南火灾"
    assert (impact["live"], impact["proposed"], impact["added"], impact["removed"]) == (2, 3, 1, 0)
    assert impact["added_examples"][0]["title"] == "北京起火"
    assert version(op) == 3
    bad = op.post("/api/keywords/backtest", json={"rule": {**rule, "expression": "(("}})
    assert (bad.status_code, bad.get_json()["field"]) == (400, "expression")
    neither = op.post("/api/keywords/backtest", json={"days": 3})
    assert neither.status_code == 400


def test_viewer_reads_but_cannot_change(op: Browser, viewer: Browser) -> None:
    seed(op)
    for url in (
        "/api/keywords/groups",
        "/api/keywords/groups/地名",
        "/api/keywords/rules",
        "/api/keywords/rules/潼南火灾/tests",
        "/api/keywords/versions",
        "/api/keywords/versions/1",
        "/api/keywords/diff?old=1&new=2",
        "/api/keywords/export?format=csv",
    ):
        assert viewer.get(url).status_code == 200, url
    refused = [
        viewer.post("/api/keywords/groups", json={**GROUPS[0], "name": "新", "parent": 3}),
        viewer.send("PATCH", "/api/keywords/groups/地名", json={"parent": 3, "add": ["x"]}),
        viewer.send("DELETE", "/api/keywords/groups/地名?parent=3"),
        viewer.post("/api/keywords/rules", json={**RULE, "name": "新", "parent": 3}),
        viewer.send("PATCH", "/api/keywords/rules/潼南火灾", json={"parent": 3}),
        viewer.send("DELETE", "/api/keywords/rules/潼南火灾?parent=3"),
        viewer.post("/api/keywords/versions/1/rollback", json={"parent": 3}),
        upload(viewer, "a.txt", b"x", parent=3, group="新"),
        viewer.post("/api/keywords/backtest", json={"rule": RULE}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert version(op) == 3
