"""Helpers for the discovery API and console tests: a SQLite store holding a generated
news stream with a new incident on its last day, and an app whose clock stands at its end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api_support import Browser, job_done
from apiflask import APIFlask

from devtools.discoveryworld import World, library, matched
from keywords.library import KeywordLibrary
from store import Store
from store.clock import ManualClock
from store.sqlite import SQLiteStore
from yuqing.config import Config
from yuqing.wiring import app_for

START = datetime(2026, 3, 1, tzinfo=UTC)


def new_world(seed: int) -> World:
    return World(seed=seed, start=START, days=14, per_day=100, incident_day=13)


def seeded_store(path: Path, world: World) -> Store:
    store = SQLiteStore(path)
    KeywordLibrary(store).commit(library(), author="t", created=START)
    store.items.upsert_many(matched(list(world.stream()), library()))
    return store


def discovery_app(store: Store, tmp_path: Path, world: World) -> APIFlask:
    config = Config.model_validate({"data_dir": str(tmp_path / "var")})
    app = app_for(config, store, clock=ManualClock(world.end_of(13), "Asia/Shanghai"))
    app.config["TESTING"] = True
    return app


def run_discovery(operator: Browser) -> dict[str, Any]:
    """Run discovery through the API and wait for its job; the job's result."""
    response = operator.post("/api/discovery/run")
    assert response.status_code == 202
    job = job_done(operator, response.headers["Location"])
    assert job["state"] == "done", job
    return dict(operator.get(f"/api/jobs/{job['id']}/result").get_json())
