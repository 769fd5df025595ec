"""The OpenAPI document works with a real client generator: openapi-python-client builds a
client from the live ``/api/openapi.json`` with every operation, and that client creates a
group, adds a rule, searches and acknowledges an alert against the running service."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alerting_support import Clock, add, alerting, story
from api_support import add_user, make_app, token_for
from browser_support import serving

from store import open_store

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture
def client_module(tmp_path: Path) -> Iterator[tuple[Any, str, str, Any]]:
    store = open_store(f"sqlite:///{tmp_path / 'y.db'}")
    app = make_app(store, tmp_path)
    add_user(app, "op", "operator")
    token = token_for(app, "op")
    with serving(app) as base:
        spec = tmp_path / "openapi.json"
        with urllib.request.urlopen(f"{base}/api/openapi.json") as answer:
            spec.write_bytes(answer.read())
        config = tmp_path / "generator.yaml"
        config.write_text("post_hooks: []\nproject_name_override: yq_client\n")
        done = subprocess.run(
            [str(GENERATOR), "generate", "--path", str(spec), "--meta", "none",
             "--config", str(config), "--output-path", str(tmp_path / "yq_client")],
            capture_output=True, text=True, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
        sys.path.insert(0, str(tmp_path))
        try:
            yield importlib.import_module("yq_client"), base, token, store
        finally:
            sys.path.remove(str(tmp_path))
            for name in [m for m in sys.modules if m == "yq_client" or m.startswith("yq_client.")]:
                del sys.modules[name]
            store.close()


def test_a_generated_client_drives_the_service(
    client_module: tuple[Any, str, str, Any], tmp_path: Path
) -> None:
    client_pkg, base, token, store = client_module
    spec = json.loads((tmp_path / "openapi.json").read_text())
    operations = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    generated = {
        f.stem for f in (tmp_path / "yq_client" / "api").rglob("*.py") if f.stem != "__init__"
    }
    assert len(generated) == len(operations)  # no operation dropped

    def op(module: str) -> Any:
        return importlib.import_module(f"yq_client.api.{module}")

    models = importlib.import_module("yq_client.models")
    client = client_pkg.AuthenticatedClient(base_url=base, token=token)
    created = op("keywords.post_api_keywords_groups").sync_detailed(
        client=client,
        body=models.GroupCreate(
            name="潼南地名", parent=0, category="region", words=[models.Word(text="双江镇")]
        ),
    )
    assert created.status_code == 201, created.content
    group_id = json.loads(created.content)["group"]["id"]  # groups are addressed by their id
    more = op("keywords.patch_api_keywords_groups_group_id").sync_detailed(
        group_id, client=client, body=models.GroupUpdate(parent=1, add=["宝龙镇"])
    )
    assert more.status_code == 200, more.content
    rule = op("keywords.post_api_keywords_rules").sync_detailed(
        client=client,
        body=models.RuleCreate(name="潼南火灾", expression="@潼南地名 起火", parent=2),
    )
    assert rule.status_code == 201, rule.content

    [alert_id] = add(store, alerting(store, Clock(datetime.now().astimezone())), [story(1)])
    found = op("items.get_api_items").sync_detailed(client=client, q="起火")
    assert found.status_code == 200 and json.loads(found.content)["total"] == 1
    acked = op("alerts.post_api_alerts_alert_id_acknowledge").sync_detailed(alert_id, client=client)
    assert acked.status_code == 200, acked.content
    assert store.alerts.get(alert_id).status == "acknowledged"
