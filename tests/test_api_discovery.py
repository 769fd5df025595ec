"""``/api/discovery`` on a real SQLite store with a generated news stream: the run as a
job, the latest report, a preview, accept (a new library version) and dismiss (audited);
roles and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import Browser, signed_in
from apiflask import APIFlask
from discovery_support import discovery_app, new_world, run_discovery, seeded_store

from devtools.discoveryworld import World
from store import Store


@pytest.fixture
def world() -> World:
    return new_world(21)


@pytest.fixture
def store(tmp_path: Path, world: World) -> Store:
    return seeded_store(tmp_path / "api.db", world)


@pytest.fixture
def app(store: Store, tmp_path: Path, world: World) -> APIFlask:
    return discovery_app(store, tmp_path, world)


def test_run_report_preview_accept(app: APIFlask, operator: Browser, world: World) -> None:
    assert operator.get("/api/discovery").get_json()["report"] is None
    result = run_discovery(operator)
    assert result["suggestions"] >= 1
    report = operator.get("/api/discovery").get_json()["report"]
    [suggestion] = [s for s in report["suggestions"] if s["term"] == world.term]
    assert suggestion["group"] == "民生" and suggestion["preview"]["matches"] == 10

    preview = operator.get(f"/api/discovery/terms/{world.term}/preview?group=民生").get_json()
    [rule] = preview["preview"]["rules"]
    assert rule["rule"] == "潼南民生" and rule["added"] > 0
    missing = operator.get(f"/api/discovery/terms/{world.term}/preview?group=无此组")
    assert (missing.status_code, missing.get_json()["field"]) == (404, "group")

    stale = operator.post(
        f"/api/discovery/terms/{world.term}/accept", json={"group": "民生", "parent": 0}
    )
    assert stale.status_code == 409
    done = operator.post(
        f"/api/discovery/terms/{world.term}/accept", json={"group": "民生", "parent": 1}
    )
    assert done.status_code == 200 and done.get_json()["version"] == 2
    assert world.term in [
        w if isinstance(w, str) else w["text"] for w in done.get_json()["group"]["words"]
    ]


def test_dismiss_is_remembered_and_can_be_undone(
    app: APIFlask, operator: Browser, world: World
) -> None:
    run_discovery(operator)
    response = operator.post(f"/api/discovery/terms/{world.term}/dismiss", json={})
    assert response.status_code == 200 and response.get_json()["window_df"] == 10
    listed = operator.get("/api/discovery").get_json()["dismissed"]
    assert [(d["term"], d["actor"]) for d in listed] == [(world.term, "operator1")]
    run_discovery(operator)
    report = operator.get("/api/discovery").get_json()["report"]
    assert world.term not in [s["term"] for s in report["suggestions"]]
    assert operator.send("DELETE", f"/api/discovery/terms/{world.term}/dismiss").status_code == 200
    again = operator.send("DELETE", f"/api/discovery/terms/{world.term}/dismiss")
    assert again.status_code == 404
    bad = operator.post("/api/discovery/terms/a%20b/dismiss", json={})
    assert (bad.status_code, bad.get_json()["field"]) == (400, "term")


def test_viewers_read_but_do_not_change(app: APIFlask, world: World) -> None:
    viewer = signed_in(app, "viewer")
    assert viewer.get("/api/discovery").status_code == 200
    assert viewer.post("/api/discovery/run").status_code == 403
    assert viewer.post(f"/api/discovery/terms/{world.term}/dismiss", json={}).status_code == 403
