"""Notification channels and the routing table in SQLite: small keyed JSON documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.base import ChannelRepo, RoutingRepo
from store.model import ChannelConfig, RoutingTable
from store.sqlite.policies import Keyed

if TYPE_CHECKING:
    from store.sqlite.db import SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS routing (
    key TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
);
"""


class SQLiteChannels(Keyed[ChannelConfig], ChannelRepo):
    exclusive = True

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store, "channels", ChannelConfig, "id")

    def put(self, channel: ChannelConfig) -> ChannelConfig:
        return self._put(channel)

    def get(self, channel_id: str) -> ChannelConfig | None:
        return self._get(channel_id)

    def list(self) -> list[ChannelConfig]:
        return self._list()

    def delete(self, channel_id: str) -> bool:
        with self.store.transaction() as db:
            return db.execute("DELETE FROM channels WHERE key = ?", (channel_id,)).rowcount > 0


class SQLiteRouting(Keyed[RoutingTable], RoutingRepo):
    exclusive = True

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store, "routing", RoutingTable, "name")

    def get(self) -> RoutingTable | None:
        return self._get("default")

    def put(self, table: RoutingTable) -> RoutingTable:
        return self._put(table)
