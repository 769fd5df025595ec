"""Names are labels, ids are ids: a group or rule whose name holds ``/``, ``<``, ``>``, ``?``,
``#`` or ``%`` is reached by the id its creation returned, in the API and the console, and
its name is shown escaped; a library saved before ids existed gets them when it is read,
the same each time, and keeps them when it is next saved."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape

from api_support import Browser
from apiflask import APIFlask

from api.context import parts
from store.model import LibraryVersion

GROUP = "<b>潼南</b>/a?b#c%2F"  # a group name may hold anything but spaces, ( ) " @ :
RULE = "a/b <script>alert(1)</script> ?x#y %2F"
WORDS = ["潼南", "双江镇"]


def form(browser: Browser, url: str, **fields: object) -> tuple[int, str, str]:
    response = browser.client.post(url, data={"csrf_token": browser.csrf, **fields})
    return response.status_code, response.headers.get("Location", ""), response.get_data(True)


def test_api_reaches_hostile_names_by_id(app: APIFlask, operator: Browser) -> None:
    created = operator.post(
        "/api/keywords/groups", json={"parent": 0, "name": GROUP, "words": WORDS}
    )
    assert created.status_code == 201, created.get_json()
    group_id = created.get_json()["group"]["id"]
    assert re.fullmatch(r"g[0-9a-f]{12}", group_id)
    fetched = operator.get(f"/api/keywords/groups/{group_id}")
    assert (fetched.status_code, fetched.get_json()["group"]["name"]) == (200, GROUP)
    patched = operator.send(
        "PATCH", f"/api/keywords/groups/{group_id}", json={"parent": 1, "add": ["花岩镇"]}
    )
    assert patched.status_code == 200, patched.get_json()
    assert len(patched.get_json()["group"]["words"]) == 3

    body = {"parent": 2, "name": RULE, "expression": f"@{GROUP}", "must_match": ["潼南"]}
    rule = operator.post("/api/keywords/rules", json=body)
    assert rule.status_code == 201, rule.get_json()
    rule_id = rule.get_json()["rule"]["id"]
    assert operator.get(f"/api/keywords/rules/{rule_id}").get_json()["rule"]["name"] == RULE
    tests = operator.get(f"/api/keywords/rules/{rule_id}/tests").get_json()
    assert (tests["rule"], [r["ok"] for r in tests["results"]]) == (RULE, [True])
    tried = operator.post(f"/api/keywords/groups/{group_id}/test", json={"text": "在潼南"})
    assert [(h["start"], h["end"]) for h in tried.get_json()["hits"]] == [(1, 3)]

    # Alert policies are kept by rule name, and reached by the rule's id.
    policy = {"mode": "threshold", "threshold": 5, "window_minutes": 30}
    put = operator.send("PUT", f"/api/policies/{rule_id}", json=policy)
    assert put.status_code == 200, put.get_json()
    shown = operator.get(f"/api/policies/{rule_id}").get_json()
    assert (shown["rule"], shown["policy"]["threshold"]) == (RULE, 5)
    on = operator.send("PUT", "/api/emergency", json={"scope": RULE, "on": True})
    assert on.status_code == 200, on.get_json()

    # A rename keeps the id: links and bookmarks still reach the rule.
    renamed = operator.send(
        "PATCH", f"/api/keywords/rules/{rule_id}", json={"parent": 3, "name": RULE + "#2"}
    )
    assert renamed.get_json()["rule"] == rule.get_json()["rule"] | {"name": RULE + "#2"}
    # What is kept under the rule's name moves with it: it alerts as before the rename, and
    # no policy or switch stays behind under a name no rule has.
    shown = operator.get(f"/api/policies/{rule_id}").get_json()
    assert (shown["rule"], shown["stored"], shown["policy"]["threshold"]) == (RULE + "#2", True, 5)
    listed = {p["rule"]: p["stored"] for p in operator.get("/api/policies").get_json()["policies"]}
    assert listed == {RULE + "#2": True}
    assert operator.get("/api/emergency").get_json()["active"] == [RULE + "#2"]
    with app.app_context():
        entry = parts().store.audit.list(target=f"rule:{RULE}", limit=1)[0]
    assert (entry.action, entry.after["carried"]) == (
        "keywords.rule.update",
        {"alert_policy": RULE + "#2", "emergency": RULE + "#2"},
    )
    assert operator.send("DELETE", f"/api/keywords/rules/{rule_id}?parent=4").status_code == 200
    assert operator.get(f"/api/keywords/rules/{rule_id}").status_code == 404
    assert operator.send("DELETE", f"/api/keywords/groups/{group_id}?parent=5").status_code == 200
    assert operator.get(f"/api/keywords/groups/{group_id}").status_code == 404


def test_names_are_unique_and_never_another_ones_id(operator: Browser) -> None:
    first = operator.post(
        "/api/keywords/groups", json={"parent": 0, "name": "地名", "words": WORDS}
    )
    group_id = first.get_json()["group"]["id"]
    again = operator.post(
        "/api/keywords/groups", json={"parent": 1, "name": "地名", "words": ["x"]}
    )
    assert again.status_code == 409
    # A name that is another group's id would make /groups/<that id> ambiguous.
    mimic = operator.post(
        "/api/keywords/groups", json={"parent": 1, "name": group_id, "words": ["y"]}
    )
    assert mimic.status_code == 400, mimic.get_json()
    assert operator.get(f"/api/keywords/groups/{group_id}").get_json()["group"]["name"] == "地名"
    # A client cannot choose an id: the library makes them.
    chosen = {"parent": 1, "name": "火灾词", "words": ["火灾"], "id": group_id}
    made = operator.post("/api/keywords/groups", json=chosen)
    assert made.status_code == 201 and made.get_json()["group"]["id"] != group_id
    # Older links by a plain name still work (no name is another object's id).
    assert operator.get("/api/keywords/groups/地名").get_json()["group"]["id"] == group_id


def test_names_are_printable_text(operator: Browser) -> None:
    for n, name in enumerate(["a\x00b", "疫情\u202e词", "x\ny"]):
        group = {"parent": 0, "name": name, "words": WORDS}
        refused = operator.post("/api/keywords/groups", json=group)
        assert (refused.status_code, refused.get_json()["field"]) == (400, "name"), name
        rule = {"parent": 0, "name": f"规则{name}", "expression": "潼南"}
        refused = operator.post("/api/keywords/rules", json=rule)
        assert (refused.status_code, refused.get_json()["field"]) == (400, "name"), name
        assert "unprintable character U+" in refused.get_json()["detail"], n
    made = operator.post(
        "/api/keywords/rules", json={"parent": 0, "name": "r", "expression": "潼南"}
    )
    rule_id = made.get_json()["rule"]["id"]
    renamed = operator.send(
        "PATCH", f"/api/keywords/rules/{rule_id}", json={"parent": 1, "name": "r\x1b[31m"}
    )
    assert (renamed.status_code, renamed.get_json()["field"]) == (400, "name")


def test_console_links_by_id_and_escapes_names(operator: Browser) -> None:
    status, location, _ = form(
        operator, "/keywords/groups", parent=0, name=GROUP, category="region", words="潼南\n双江镇"
    )
    assert status == 302
    found = re.search(r"/keywords/groups/(g[0-9a-f]{12})$", location)
    assert found, location
    group_url = f"/keywords/groups/{found.group(1)}"
    page = operator.get(group_url).get_data(as_text=True)
    assert escape(GROUP) in page and "<b>潼南</b>" not in page
    status, location, _ = form(operator, group_url, action="add", parent=1, words="花岩镇")
    assert (status, location.endswith(group_url)) == (302, True)

    status, location, page = form(
        operator, "/keywords/rules", parent=2, name=RULE, expression=f"@{GROUP}",
        scope="both", severity="warning", enabled="on",
    )  # fmt: skip
    assert status == 302, page
    found = re.search(r"/keywords/rules/(r[0-9a-f]{12})\?saved=3$", location)
    assert found, location
    rule_url = f"/keywords/rules/{found.group(1)}"
    page = operator.get(rule_url).get_data(as_text=True)
    assert escape(RULE) in page and "<script>alert(1)</script>" not in page
    assert f'action="{rule_url}"' in page

    index = operator.get("/keywords").get_data(as_text=True)
    assert f'href="{group_url}"' in index and f'href="{rule_url}"' in index
    assert "<script>alert" not in index and "<b>潼南" not in index

    edit = {"name": RULE, "expression": f"@{GROUP}", "severity": "critical", "enabled": "on"}
    status, location, _ = form(operator, rule_url, parent=3, scope="both", **edit)
    assert (status, location) == (302, f"{rule_url}?saved=4")
    assert form(operator, rule_url, parent=4, action="delete")[0] == 302
    assert operator.get(rule_url).status_code == 404
    assert form(operator, group_url, parent=5, action="delete")[0] == 302
    assert operator.get(group_url).status_code == 404


def test_a_library_saved_before_ids_gets_them_and_keeps_them(
    app: APIFlask, operator: Browser
) -> None:
    # A version as stored before this change: no ids anywhere.
    old = {
        "groups": [
            {"name": "地名", "category": "region", "words": WORDS},
            {"name": "火/灾<词>", "category": "event", "words": ["火灾", "起火"]},
            # Saved before names had to be printable: it stays, and the library still saves.
            {"name": "旧\x00名", "words": ["旧名"]},
        ],
        "rules": [{"name": "潼南/火灾", "expression": "@地名 NEAR/10 @火/灾<词>"}],
    }
    with app.app_context():
        parts().store.library.commit(
            LibraryVersion(
                version=1, parent=None, author="old", created=datetime(2025, 1, 1, tzinfo=UTC),
                message="saved before ids", data=old, summary={},
            )
        )  # fmt: skip
    listed = operator.get("/api/keywords/groups").get_json()["groups"]
    assert operator.get("/api/keywords/groups").get_json()["groups"] == listed  # the same ids
    ids = {g["name"]: g["id"] for g in listed}
    assert len(set(ids.values())) == 3
    rule = operator.get("/api/keywords/rules").get_json()["rules"][0]
    assert (
        operator.get(f"/api/keywords/rules/{rule['id']}").get_json()["rule"]["name"] == "潼南/火灾"
    )

    # The first save writes the ids it was read with; every group and rule keeps its id.
    group_id = ids["火/灾<词>"]
    changed = operator.send(
        "PATCH", f"/api/keywords/groups/{group_id}", json={"parent": 1, "add": ["失火"]}
    )
    assert changed.status_code == 200, changed.get_json()
    with app.app_context():
        stored = parts().store.library.head()
    assert stored is not None and stored.version == 2
    assert {g["name"]: g["id"] for g in stored.data["groups"]} == ids
    assert stored.data["rules"][0]["id"] == rule["id"]
    # Rolling back to the old version gives the same ids again.
    assert operator.post("/api/keywords/versions/1/rollback", json={"parent": 2}).status_code == 201
    again = operator.get("/api/keywords/groups").get_json()["groups"]
    assert {g["name"]: g["id"] for g in again} == ids
