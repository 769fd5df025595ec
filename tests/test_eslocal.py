"""Each checkout has its own local Elasticsearch node: two run side by side, and stopping
one leaves the other alone."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from devtools import eslocal


def _cluster(url: str) -> str:
    with urllib.request.urlopen(f"{url}/_cluster/health", timeout=5) as r:
        return str(json.load(r)["cluster_name"])


def test_a_second_checkout_gets_its_own_node(es_url: str, tmp_path: Path) -> None:
    other = tmp_path / "other-checkout"
    other.mkdir()
    node = eslocal.start(checkout=other, heap="256m")
    try:
        assert node.url != es_url
        assert eslocal.node_dir(other) != eslocal.node_dir()
        assert _cluster(node.url) != _cluster(es_url)
        saved = json.loads(eslocal.state_file(other).read_text())
        assert saved["url"] == node.url and saved["pid"] == node.pid
        assert eslocal.status(other) == node  # found again, not started twice
        assert eslocal.start(checkout=other) == node
    finally:
        assert eslocal.stop(checkout=other) is True
    assert eslocal.status(other) is None
    # The first checkout's node (the one these tests use) is untouched.
    assert _cluster(es_url).startswith("yuqing-local")
    assert eslocal.stop(checkout=other) is False
