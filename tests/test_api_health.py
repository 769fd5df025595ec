from __future__ import annotations

from store import Store
from yuqing.config import Config
from yuqing.wiring import app_for


def test_health_reports_the_store(store: Store) -> None:
    client = app_for(Config(), store).test_client()
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["store"]["url"] == store.url
    assert body["store"]["items"] == 0


def test_unknown_path_is_a_problem_document(store: Store) -> None:
    response = app_for(Config(), store).test_client().get("/api/nope")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404
