"""Notification channels and the routing table in Elasticsearch: the key is the
document id; secrets and settings are stored, not indexed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from elasticsearch import NotFoundError

from store.base import ChannelRepo, RoutingRepo
from store.elastic.common import SCHEMA_VERSION
from store.elastic.policies import Keyed
from store.model import ChannelConfig, RoutingTable

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

_BLOB = {"type": "object", "enabled": False}
CHANNEL_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "id": {"type": "keyword"},
        "kind": {"type": "keyword"},
        "name": {"type": "keyword"},
        "settings": _BLOB,
        "secrets": _BLOB,
        "updated": {"type": "date"},
        "author": {"type": "keyword"},
        "enabled": {"type": "boolean"},
    },
}
ROUTING_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "name": {"type": "keyword"},
        "settings": _BLOB,
        "updated": {"type": "date"},
        "author": {"type": "keyword"},
    },
}


class ElasticChannels(Keyed[ChannelConfig], ChannelRepo):
    exclusive = True

    def __init__(self, store: ElasticStore) -> None:
        super().__init__(store, "channels", CHANNEL_MAPPING, ChannelConfig, "id")

    def put(self, channel: ChannelConfig) -> ChannelConfig:
        return self._put(channel)

    def get(self, channel_id: str) -> ChannelConfig | None:
        return self._get(channel_id)

    def list(self) -> list[ChannelConfig]:
        return self._list()

    def delete(self, channel_id: str) -> bool:
        try:
            self.es.delete(index=self.index, id=channel_id, refresh=True)
        except NotFoundError:
            return False
        return True


class ElasticRouting(Keyed[RoutingTable], RoutingRepo):
    exclusive = True

    def __init__(self, store: ElasticStore) -> None:
        super().__init__(store, "routing", ROUTING_MAPPING, RoutingTable, "name")

    def get(self) -> RoutingTable | None:
        return self._get("default")

    def put(self, table: RoutingTable) -> RoutingTable:
        return self._put(table)
