"""Shared fixtures and the test tiers. The Elasticsearch tests talk to a real local node:
if it cannot be started the tests fail; they are never skipped.

Tiers: every test that reaches Elasticsearch (the ``es_url`` fixture, or the
``elasticsearch`` side of the ``store`` fixture) is marked ``elasticsearch``; the tests of
:data:`BROWSER` are marked ``browser``, those of :data:`SLOW` ``slow`` (real crawl or
service processes, schemathesis), and the modules of :data:`OWN_NODES`, which start
nodes of their own, ``elasticsearch`` too. ``make test-fast`` runs the rest; ``make test`` all."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import Browser, make_app, signed_in
from apiflask import APIFlask
from demo_world_support import DemoRun, start_demo
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, settings
from waiting import wait_for

from api import accounts
from devtools import eslocal
from store import Store, open_store

# Hypothesis judges example generation and each example by the clock; on a shared
# machine's load that is no property of the code, so no test fails on it.
settings.register_profile("yuqing", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("yuqing")
# Cheap password hashing in this process (tests/test_accounts.py checks the real cost's
# hashes are upgraded on login); services the tests start as processes hash as shipped.
accounts.HASHER_OPTIONS.update(time_cost=1, memory_cost=8192, parallelism=1)

BACKENDS = ["sqlite", "elasticsearch"]
BROWSER = {
    "test_console_browser",
    "test_channels_browser",
    "test_demo_world",
    "test_discovery_browser",
    "test_regions_browser",
    "test_crawl_render",
}
SLOW = {
    "test_demo_world",
    "test_readme_examples",
    "test_api_schema",
    "test_crawl",
    "test_crawl_alerting",
    "test_crawl_pages",
    "test_crawl_pinning",
    "test_crawl_render",
    "test_crawl_recall",
    "test_hostile_routes",
    "test_channels_kill",
    "test_e2e",
    "test_service",
    "test_service_outage",
    "test_compose",
    "test_api_client",
    "test_eslocal",
    "test_mailcatcher",
    "test_mail_takeover",
    "test_cluster_node_loss",
    "test_province_sim",
}
# Modules that start Elasticsearch nodes of their own rather than using ``es_url``.
OWN_NODES = {"test_cluster_node_loss", "test_eslocal"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__ if item.module else ""
        uses_es = "es_url" in getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        if module in OWN_NODES:
            item.add_marker(pytest.mark.elasticsearch)
        if uses_es or (callspec is not None and "elasticsearch" in callspec.params.values()):
            item.add_marker(pytest.mark.elasticsearch)
        if module in BROWSER:
            item.add_marker(pytest.mark.browser)
        if module in SLOW:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def es_url() -> str:
    """URL of the test node: $YUQING_TEST_ES, else the local node (started if needed)."""
    if url := os.environ.get("YUQING_TEST_ES"):
        return url
    node = eslocal.status() or eslocal.start()
    return node.url


@pytest.fixture
def es_prefix(es_url: str) -> Iterator[str]:
    """A fresh index prefix, with its indices deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}-"
    yield prefix
    client = Elasticsearch(es_url)
    # Deleting by wildcard is refused by default (action.destructive_requires_name).
    for index in client.indices.get(index=f"{prefix}*", expand_wildcards="all"):
        client.indices.delete(index=index)
    client.close()


def make_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    if backend == "sqlite":
        return open_store(f"sqlite:///{tmp_path / 'yuqing.db'}")
    url = request.getfixturevalue("es_url")
    prefix = request.getfixturevalue("es_prefix")
    return open_store(url, prefix=prefix, refresh=True)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same contract, once per backend."""
    s = make_store(request.param, tmp_path, request)
    yield s
    s.close()


# -- the API and console on the test's store (a module may override ``app``) --------------


@pytest.fixture
def app(store: Store, tmp_path: Path) -> APIFlask:
    return make_app(store, tmp_path)


@pytest.fixture
def viewer(app: APIFlask) -> Browser:
    return signed_in(app, "viewer")


@pytest.fixture
def operator(app: APIFlask) -> Browser:
    return signed_in(app, "operator")


@pytest.fixture
def admin(app: APIFlask) -> Browser:
    return signed_in(app, "admin")


# Business minutes the demo runs before the tests look at it (at least 20).
DEMO_MINUTES = 24.0


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """``yuqing-dev demo --speed 30`` after :data:`DEMO_MINUTES` simulated minutes, still
    running (stopped at the end of the session)."""
    run = start_demo(tmp_path_factory.mktemp("demo-world"))
    try:
        wait_for(
            f"{DEMO_MINUTES:g} simulated minutes, three new events and one growing",
            lambda: run.ready(DEMO_MINUTES),
            timeout=300,
        )
        yield run
    finally:
        run.stop()
