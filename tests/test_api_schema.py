"""Schemathesis against the app's own OpenAPI document: generated requests (valid and
not) to every operation never cause a server error, invalid ones are refused, and
responses match the schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from api_support import add_user, make_app, token_for
from apiflask import APIFlask
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance

from store import open_store

# These reach out to the network (a source's start URL) or start crawls: exercised
# against the demo site in their own tests, never with generated URLs.
NETWORK = ["/api/sources/preview", "/api/sources/{source_id}/run"]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIFlask]:
    tmp: Path = tmp_path_factory.mktemp("schema")
    store = open_store(str(tmp / "schema.db"))
    app = make_app(store, tmp)
    add_user(app, "fuzzer", "admin")
    app.config["FUZZ_TOKEN"] = token_for(app, "fuzzer")
    yield app
    store.close()


def test_no_server_errors(app: APIFlask) -> None:
    api = schemathesis.openapi.from_wsgi("/api/openapi.json", app).exclude(path=NETWORK)
    headers = {"Authorization": f"Bearer {app.config['FUZZ_TOKEN']}"}
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 2

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,  # the same cases every run: a failure is reproducible
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Case) -> None:
            # Generated ids rarely exist (404 is right), so acceptance of schema-valid
            # data is not checked; server errors, schema-breaking answers and accepted
            # invalid data are.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
