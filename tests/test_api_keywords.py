"""The keyword library through ``/api/keywords``, on both stores."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from api_support import Browser, job_done, signed_in
from apiflask import APIFlask

from api.context import parts
from keywords.io import read_library
from keywords.model import Library, Options
from rules.tokens import index_text
from store import Item

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


def version(browser: Browser) -> int:
    return int(browser.get("/api/keywords/groups").get_json()["version"])


def seed(operator: Browser) -> int:
    """Two groups and a rule, saved as versions 1-3."""
    for n, group in enumerate(GROUPS):
        assert operator.post("/api/keywords/groups", json={**group, "parent": n}).status_code == 201
    response = operator.post("/api/keywords/rules", json={**RULE, "parent": 2})
    assert response.status_code == 201, response.get_json()
    return 3


def audit(app: APIFlask, target: str) -> list[Any]:
    with app.app_context():
        return parts().store.audit.list(target=target)


def job_of(browser: Browser, response: Any) -> dict[str, Any]:
    """The job a 202 response started, once it has ended."""
    assert response.status_code == 202, response.get_json()
    return job_done(browser, response.headers["Location"])


def upload(operator: Browser, name: str, data: bytes, **form: Any) -> Any:
    fields = {"file": (io.BytesIO(data), name), **{k: str(v) for k, v in form.items()}}
    return operator.post("/api/keywords/import", data=fields, content_type="multipart/form-data")


def test_groups_crud_makes_versions_and_audits(app: APIFlask, operator: Browser) -> None:
    response = operator.post("/api/keywords/groups", json={**GROUPS[0], "parent": 0})
    assert response.status_code == 201
    assert response.get_json()["version"] == 1
    listed = operator.get("/api/keywords/groups").get_json()
    assert listed["version"] == 1
    assert listed["groups"] == [
        {
            "id": response.get_json()["group"]["id"],
            "name": "地名",
            "category": "region",
            "enabled": True,
            "description": "",
            "options": Options().model_dump(),
            "word_count": 2,
        }
    ]

    change = {"parent": 1, "add": ["梓潼", {"text": "宝龙镇", "weight": 2}], "remove": ["潼南"]}
    response = operator.send("PATCH", "/api/keywords/groups/地名", json=change)
    assert response.status_code == 200, response.get_json()
    paste = {"parent": 2, "paste": "花岩镇\n\n  柏梓镇  \n梓潼\n", "description": "潼南区"}
    response = operator.send("PATCH", "/api/keywords/groups/地名", json=paste)
    assert response.status_code == 200, response.get_json()
    group = operator.get("/api/keywords/groups/地名").get_json()["group"]
    assert [w["text"] for w in group["words"]] == ["双江镇", "梓潼", "宝龙镇", "花岩镇", "柏梓镇"]
    assert group["words"][2] == {"text": "宝龙镇", "weight": 2.0, "level": None, "aliases": []}
    assert group["description"] == "潼南区"

    assert operator.send("DELETE", "/api/keywords/groups/地名?parent=3").status_code == 200
    assert operator.get("/api/keywords/groups/地名").status_code == 404
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


def test_rules_crud_and_test_sentences(app: APIFlask, operator: Browser) -> None:
    seed(operator)
    rule = operator.get("/api/keywords/rules/潼南火灾").get_json()["rule"]
    assert rule["expression"] == RULE["expression"] and rule["scope"] == "both"
    response = operator.send(
        "PATCH",
        "/api/keywords/rules/潼南火灾",
        json={"parent": 3, "severity": "warning", "must_not_match": ["北京起火", "潼南天气"]},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rule"]["severity"] == "warning"
    results = operator.get("/api/keywords/rules/潼南火灾/tests").get_json()["results"]
    assert results == [
        {"sentence": "双江镇一民房起火", "expected": "should match", "ok": True},
        {"sentence": "北京起火", "expected": "should not match", "ok": True},
        {"sentence": "潼南天气", "expected": "should not match", "ok": True},
    ]
    renamed = operator.send(
        "PATCH", "/api/keywords/rules/潼南火灾", json={"parent": 4, "name": "火灾"}
    )
    assert renamed.status_code == 200
    assert [r["name"] for r in operator.get("/api/keywords/rules").get_json()["rules"]] == ["火灾"]
    assert operator.send("DELETE", "/api/keywords/rules/火灾?parent=5").status_code == 200
    assert operator.get("/api/keywords/rules").get_json() == {"version": 6, "rules": []}
    assert [e.action for e in audit(app, "rule:潼南火灾")] == [
        "keywords.rule.update",
        "keywords.rule.update",
        "keywords.rule.create",
    ]


def test_a_disabled_rule_keeps_its_tests(operator: Browser) -> None:
    seed(operator)
    off = {"parent": 3, "enabled": False}
    assert operator.send("PATCH", "/api/keywords/rules/潼南火灾", json=off).status_code == 200
    off["parent"] = 4
    assert operator.send("PATCH", "/api/keywords/groups/火灾词", json=off).status_code == 200
    response = operator.get("/api/keywords/rules/潼南火灾/tests")
    assert response.status_code == 200
    assert [r["ok"] for r in response.get_json()["results"]] == [True, True]


def test_a_group_in_use_cannot_be_deleted(operator: Browser) -> None:
    seed(operator)
    response = operator.send("DELETE", "/api/keywords/groups/地名?parent=3")
    assert response.status_code == 400
    assert "unknown group @地名" in response.get_json()["detail"]
    assert version(operator) == 3


def test_two_editors_never_overwrite_each_other(operator: Browser, app: APIFlask) -> None:
    seed(operator)
    other = signed_in(app, "admin")  # both read version 3
    first = operator.send("PATCH", "/api/keywords/groups/地名", json={"parent": 3, "add": ["梓潼"]})
    assert first.status_code == 200
    late = {"parent": 3, "remove": ["潼南"]}
    second = other.send("PATCH", "/api/keywords/groups/地名", json=late)
    assert second.status_code == 409
    assert second.mimetype == "application/problem+json"
    assert second.get_json()["field"] == "parent"
    words = [
        w["text"] for w in operator.get("/api/keywords/groups/地名").get_json()["group"]["words"]
    ]
    assert words == ["潼南", "双江镇", "梓潼"]
    # Same for creating a name that exists, and for a stale rollback.
    again = operator.post("/api/keywords/groups", json={**GROUPS[0], "parent": 4})
    assert (again.status_code, again.get_json()["field"]) == (409, "name")
    stale = operator.post("/api/keywords/versions/1/rollback", json={"parent": 3})
    assert stale.status_code == 409


def test_bad_expression_is_400_with_field_and_position(operator: Browser) -> None:
    seed(operator)
    response = operator.post(
        "/api/keywords/rules", json={"parent": 3, "name": "坏", "expression": "潼南 AND (火灾"}
    )
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["field"] == "expression"
    assert problem["position"] == len("潼南 AND (火灾")  # the end: ")" expected
    assert "expected" in problem["detail"]
    unknown = operator.post(
        "/api/keywords/rules", json={"parent": 3, "name": "坏", "expression": "@没有 火灾"}
    )
    assert unknown.status_code == 400
    assert unknown.get_json()["field"] == "expression"
    assert "unknown group @没有" in unknown.get_json()["detail"]
    failing = operator.send(
        "PATCH", "/api/keywords/rules/潼南火灾", json={"parent": 3, "must_match": ["北京火灾"]}
    )
    assert failing.status_code == 400
    assert failing.get_json()["field"] == "must_match"
    assert version(operator) == 3

    check = operator.post(
        "/api/keywords/validate-expression", json={"expression": "潼南 NEAR/x 火灾"}
    )
    assert check.status_code == 200
    body = check.get_json()
    assert body["valid"] is False and body["position"] == 3
    good = operator.post("/api/keywords/validate-expression", json={"expression": "@地名 NOT 演练"})
    assert good.get_json() | {"version": 0} == {
        "version": 0,
        "valid": True,
        "detail": "",
        "position": None,
        "problems": [],
        "groups": ["地名"],
    }


def test_bad_pasted_lines_are_named_and_nothing_is_saved(operator: Browser) -> None:
    seed(operator)
    paste = "梓潼\n" + "长" * 101 + "\n梓潼\n"
    response = operator.send(
        "PATCH", "/api/keywords/groups/地名", json={"parent": 3, "paste": paste}
    )
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["field"] == "paste"
    assert [p["line"] for p in problem["problems"]] == [2, 3]
    assert version(operator) == 3


def test_live_test_highlights_escaped(operator: Browser, viewer: Browser) -> None:
    seed(operator)
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
    # A draft on region: and sentiment: is tried on what analysis finds in the text.
    region = {"expression": "region:500152 sentiment:negative"}
    found = viewer.post(
        "/api/keywords/test", json={"text": "潼南区米心镇一民房起火致一人死亡"} | region
    )
    assert found.get_json()["rules"] == ["(draft)"]
    elsewhere = viewer.post(
        "/api/keywords/test", json={"text": "梓潼县一民房起火致一人死亡"} | region
    )
    assert elsewhere.get_json()["rules"] == []


def test_group_options_patch_and_group_test(operator: Browser, viewer: Browser) -> None:
    seed(operator)
    patch = {"parent": 3, "options": {"repeats": True, "pinyin": True}}
    response = operator.send("PATCH", "/api/keywords/groups/地名", json=patch)
    assert response.status_code == 200, response.get_json()
    options = response.get_json()["group"]["options"]
    assert options["repeats"] and options["pinyin"] and options["noise"] == "cjk"
    bad = operator.send(
        "PATCH", "/api/keywords/groups/地名", json={"parent": 4, "options": {"noise": 3}}
    )
    assert (bad.status_code, bad.get_json()["field"]) == (400, "options.noise")
    text = "tongnan双双江镇"
    result = viewer.post("/api/keywords/groups/地名/test", json={"text": text}).get_json()
    assert [(text[h["start"] : h["end"]], h["variant"]) for h in result["hits"]] == [
        ("tongnan", "pinyin"),
        ("双双江镇", "repeats"),
    ]
    off = {"text": text, "options": {"pinyin": False, "repeats": False}}
    hits = viewer.post("/api/keywords/groups/地名/test", json=off).get_json()["hits"]
    assert [(text[h["start"] : h["end"]], h["variant"]) for h in hits] == [("双江镇", None)]
    longest = viewer.post("/api/keywords/test", json={"text": "双江镇起火", "overlaps": "longest"})
    assert longest.status_code == 200
    missing = viewer.post("/api/keywords/groups/没有/test", json={"text": "x"})
    assert missing.status_code == 404


def test_import_dry_run_then_save(app: APIFlask, operator: Browser) -> None:
    seed(operator)
    csv = "词组,分类,关键词\n地名,region,梓潼\n疫情词,event,确诊\n".encode()
    preview = upload(operator, "new.csv", csv, parent=3, dry_run="true")
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["dry_run"] is True
    assert body["lines"] == ["+ group 疫情词", "~ group 地名: + 梓潼"]
    assert version(operator) == 3
    saved = upload(operator, "new.csv", csv, parent=3)
    assert saved.status_code == 201
    assert saved.get_json()["version"] == 4
    (entry,) = audit(app, "library:4")[:1]
    assert entry.action == "keywords.import" and entry.actor == "operator1"
    stale = upload(operator, "new.csv", csv, parent=3)
    assert stale.status_code == 409


def test_bad_import_lists_lines_and_saves_nothing(operator: Browser) -> None:
    seed(operator)
    csv = "group,word,weight\n地名,梓潼,1\n地名,,1\nbad name,x,1\n地名,花岩,heavy\n".encode()
    response = upload(operator, "bad.csv", csv, parent=3)
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["field"] == "file"
    assert [p["line"] for p in problem["problems"]] == [3, 4, 5]
    assert "line 5" in problem["detail"]
    assert version(operator) == 3
    wrong = upload(operator, "list.doc", b"x", parent=3)
    assert (wrong.status_code, wrong.get_json()["field"]) == (400, "file")
    yaml_rule = "rules:\n- name: 坏\n  expression: '潼南 AND'\n".encode()
    response = upload(operator, "lib.yaml", yaml_rule, parent=3)
    assert response.status_code == 400
    assert response.get_json()["problems"][0]["position"] == len("潼南 AND")
    assert version(operator) == 3


def test_large_import_is_a_job_with_progress(app: APIFlask, operator: Browser) -> None:
    seed(operator)
    lines = "".join(f"词{n:05d}\n" for n in range(30_000)).encode()
    assert len(lines) > 256 * 1024
    response = upload(operator, "words.txt", lines, parent=3, group="大词表", category="subject")
    job = job_of(operator, response)
    assert job["state"] == "done", job
    assert job["done"] == job["total"] and job["percent"] == 100
    result = operator.get(f"/api/jobs/{job['id']}/result").get_json()
    assert result["version"] == 4 and result["import"]["words"] == 30_000
    group = operator.get("/api/keywords/groups").get_json()["groups"][-1]
    assert (group["name"], group["word_count"]) == ("大词表", 30_000)
    assert audit(app, "library:4")[0].actor == "operator1"


def test_export_round_trip(operator: Browser) -> None:
    seed(operator)
    response = operator.get("/api/keywords/export?format=yaml")
    assert response.status_code == 200
    assert "keywords-v3.yaml" in response.headers["Content-Disposition"]
    stored = Library.model_validate(operator.get("/api/keywords/versions/3").get_json()["library"])
    # Files leave the ids out: they are the store's, not the operator's.
    current = Library.model_validate(stored.to_data())
    assert read_library(response.data, "yaml") == current
    xlsx = operator.get("/api/keywords/export?format=xlsx&group=地名")
    assert read_library(xlsx.data, "xlsx").groups == [current.groups[0]]
    old = operator.get("/api/keywords/export?format=json&version=1")
    assert [g.name for g in read_library(old.data, "json").groups] == ["地名"]
    missing = operator.get("/api/keywords/export?format=csv&group=没有")
    assert (missing.status_code, missing.get_json()["field"]) == (400, "group")
    assert operator.get("/api/keywords/export?format=doc").status_code == 400


def test_versions_diff_and_rollback(app: APIFlask, operator: Browser) -> None:
    seed(operator)
    versions = operator.get("/api/keywords/versions").get_json()["versions"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert versions[0]["author"] == "operator1"
    changes = operator.get("/api/keywords/diff?old=1&new=3").get_json()
    assert changes["lines"] == ["+ group 火灾词", "+ rule 潼南火灾"]
    assert operator.get("/api/keywords/diff?old=1&new=9").status_code == 404
    response = operator.post("/api/keywords/versions/1/rollback", json={"parent": 3})
    assert response.status_code == 201
    assert response.get_json()["message"] == "rollback to version 1"
    assert [g["name"] for g in operator.get("/api/keywords/groups").get_json()["groups"]] == [
        "地名"
    ]
    (entry,) = audit(app, "library:4")[:1]
    assert entry.action == "keywords.rollback" and entry.after["restored"] == 1
    assert operator.post("/api/keywords/versions/9/rollback", json={"parent": 4}).status_code == 404


def test_backtest_job_reports_progress_and_impact(app: APIFlask, operator: Browser) -> None:
    seed(operator)
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
    response = operator.post(
        "/api/keywords/backtest", json={"days": 7, "examples": 5, "rule": rule}
    )
    job = job_of(operator, response)
    assert job["state"] == "done", job
    assert (job["done"], job["total"]) == (1, 1)
    result = operator.get(f"/api/jobs/{job['id']}/result").get_json()
    (impact,) = result["rules"]
    assert impact["rule"] == "潼南火灾"
    assert (impact["live"], impact["proposed"], impact["added"], impact["removed"]) == (2, 3, 1, 0)
    assert impact["added_examples"][0]["title"] == "北京起火"
    assert version(operator) == 3
    bad = operator.post("/api/keywords/backtest", json={"rule": {**rule, "expression": "(("}})
    assert (bad.status_code, bad.get_json()["field"]) == (400, "expression")
    neither = operator.post("/api/keywords/backtest", json={"days": 3})
    assert neither.status_code == 400


def test_viewer_reads_but_cannot_change(operator: Browser, viewer: Browser) -> None:
    seed(operator)
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
    assert version(operator) == 3
