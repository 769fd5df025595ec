"""A real local cluster of three nodes loses one node at a time, the elected master
included, three times in a row, while items are written and the API is asked: nothing
is lost or doubled, and the API answers 200 throughout.

Every node is in the store URL and the indices get the default replicas (``auto``: one
as soon as there are two nodes), as docs/scaling.md tells a province to run it.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from api_support import add_user, make_app, token_for
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from devtools import eslocal
from store import Item, ItemQuery, StoreError
from store.elastic import ElasticStore
from store.elastic.replication import set_replicas

NODES = 3
DEADLINE = 180.0  # seconds for the cluster to settle after a change


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Cluster:
    """Three nodes on 127.0.0.1, each with its own folder (data kept across a restart)."""

    def __init__(self, root: Path) -> None:
        ports = _free_ports(2 * NODES)
        self.http, transport = ports[:NODES], ports[NODES:]
        self.names = [f"n{i}" for i in range(NODES)]
        seeds = [f"127.0.0.1:{p}" for p in transport]
        cluster = f"yuqing-test-{uuid.uuid4().hex[:8]}"
        self.members = [
            eslocal.Membership(cluster, name, port, seeds, self.names)
            for name, port in zip(self.names, transport, strict=True)
        ]
        # Each node is a "checkout" of its own to eslocal: its state file is there, its
        # data in eslocal's folder for nodes.
        self.checkouts = [root / name for name in self.names]
        self.url = ",".join(f"http://127.0.0.1:{p}" for p in self.http)
        self.errors: list[str] = []

    def start(self, i: int) -> threading.Thread:
        # Nodes of a new cluster wait for each other: start them side by side.
        def start() -> None:
            try:
                eslocal.start(self.http[i], self.checkouts[i], member=self.members[i])
            except eslocal.EsLocalError as e:
                self.errors.append(f"{self.names[i]}: {e}")

        thread = threading.Thread(target=start)
        thread.start()
        return thread

    def kill(self, i: int) -> None:
        eslocal.kill(self.checkouts[i])

    def stop_all(self) -> None:
        for checkout in self.checkouts:
            eslocal.kill(checkout)
            shutil.rmtree(eslocal.node_dir(checkout), ignore_errors=True)

    def client(self) -> Elasticsearch:
        return Elasticsearch(self.url.split(","), request_timeout=10, max_retries=5)

    def wait(self, nodes: int, status: str = "green") -> None:
        client = self.client()
        deadline = time.monotonic() + DEADLINE
        try:
            while time.monotonic() < deadline:
                try:
                    health = client.cluster.health(
                        wait_for_nodes=str(nodes), wait_for_status=status, timeout="5s"
                    )
                    if not health["timed_out"]:
                        return
                except (ApiError, TransportError):  # a node is on its way: ask again
                    time.sleep(0.5)
            raise AssertionError(f"the cluster did not reach {nodes} nodes {status}")
        finally:
            client.close()

    def master(self) -> int:
        client = self.client()
        try:
            name = client.cat.master(format="json").body[0]["node"]
        finally:
            client.close()
        return self.names.index(name)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(tmp_path)
    try:
        threads = [made.start(i) for i in range(NODES)]
        for t in threads:
            t.join()
        assert not made.errors, made.errors
        made.wait(NODES)
        yield made
    finally:
        made.stop_all()


class Writer(threading.Thread):
    """Stores items a batch at a time, trying a batch again until it is taken (as the
    crawler's next run would), and counts what was acknowledged. Every fifth batch also
    carries a page seen before, changed: it must be updated, not doubled."""

    def __init__(self, store: ElasticStore) -> None:
        super().__init__(daemon=True)
        self.store, self.stop = store, threading.Event()
        self.acked = self.updated = self.failures = 0
        self.t0 = datetime.now(UTC)

    def item(self, n: int, title: str = "") -> Item:
        return Item(
            url=f"http://node-loss.example.cn/{n}.html",
            title=title or f"节点故障测试第{n}条",
            body="潼南区消防演练。",
            first_seen=self.t0 + timedelta(milliseconds=n),
            source_id="drill",
        )

    def run(self) -> None:
        rounds = 0
        while not self.stop.is_set():
            n = self.acked
            batch = [self.item(n + k) for k in range(20)]
            again = rounds % 5 == 4
            if again:
                batch.append(self.item(n - 1, f"节点故障测试第{n - 1}条（更新）"))
            while not self.stop.is_set():
                try:
                    self.store.items.upsert_many(batch)
                except (StoreError, ApiError, TransportError):  # the same batch again
                    self.failures += 1
                    time.sleep(0.2)
                    continue
                self.acked, self.updated = n + 20, self.updated + again
                rounds += 1
                break


def test_losing_any_node_three_times_loses_and_doubles_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    store = ElasticStore(cluster.url, prefix="nodeloss-")
    app = make_app(store, tmp_path)
    add_user(app, "watcher", "viewer")
    headers = {"Authorization": f"Bearer {token_for(app, 'watcher')}"}
    client = app.test_client()
    assert "warnings" not in store.health()  # auto replicas: one each on three nodes
    cluster.wait(NODES)

    writer = Writer(store)
    writer.start()
    answers: list[int] = []
    killed: list[str] = []
    try:
        for _ in range(3):
            victim = cluster.master()  # the elected master, each time
            before = writer.acked
            cluster.kill(victim)
            killed.append(cluster.names[victim])
            # While the node is gone: writes go on and the API answers.
            deadline = time.monotonic() + DEADLINE
            while writer.acked < before + 200 and time.monotonic() < deadline:
                search = client.get("/api/items?q=潼南&facets=1", headers=headers)
                answers += [search.status_code, client.get("/api/health").status_code]
            assert writer.acked >= before + 200, "writes stopped with a node gone"
            cluster.start(victim).join()
            assert not cluster.errors, cluster.errors
            cluster.wait(NODES)
    finally:
        writer.stop.set()
        writer.join()

    store.es.indices.refresh(index=store.items.index)
    assert len(set(killed)) >= 2 or len(killed) == 3
    assert set(answers) == {200}, sorted(set(answers))
    assert store.items.count() == writer.acked
    found = store.items.search(ItemQuery(q="节点故障测试", size=1))
    assert found.total == writer.acked  # each item once, the updated ones too
    assert store.items.search(ItemQuery(q="更新", size=1)).total == writer.updated > 0

    # Indices without a replica on a cluster of several nodes are named in the health.
    set_replicas(store, 0)
    assert "yuqing store replicas 1" in " ".join(store.health()["warnings"])
    set_replicas(store, "auto")
    cluster.wait(NODES)
    assert "warnings" not in store.health()
    store.close()
