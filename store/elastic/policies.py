"""Alert policies and emergency switches in Elasticsearch: the key is the document id."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from elasticsearch import ConflictError as EsConflict
from elasticsearch import NotFoundError

from store.base import EmergencyRepo, PolicyRepo
from store.codec import from_doc, to_doc
from store.elastic.alerts import guard, version_of
from store.elastic.common import SCHEMA_VERSION, ensure_index_racing
from store.errors import ConflictError
from store.model import (
    AlertPolicy,
    ApiToken,
    ChannelConfig,
    EmergencySwitch,
    RoutingTable,
    User,
    UserSession,
)

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

POLICY_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "rule": {"type": "keyword"},
        "settings": {"type": "object", "enabled": False},
        "updated": {"type": "date"},
        "author": {"type": "keyword"},
    },
}
EMERGENCY_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "scope": {"type": "keyword"},
        "on": {"type": "boolean"},
        "since": {"type": "date"},
        "actor": {"type": "keyword"},
        "reason": {"type": "text"},
        "until": {"type": "date"},
    },
}
MAX_KEYS = 10_000
R = TypeVar(
    "R", AlertPolicy, EmergencySwitch, User, ApiToken, ChannelConfig, RoutingTable, UserSession
)


class Keyed(Generic[R]):
    """Documents of ``cls`` in the index ``name``, keyed by the field ``key``. With
    ``exclusive`` a record without a version only creates: it never replaces one of the
    same key."""

    exclusive = False

    def __init__(
        self, store: ElasticStore, name: str, mapping: dict[str, Any], cls: type[R], key: str
    ) -> None:
        self.store: ElasticStore = store
        self.es = store.es
        self.cls: type[R] = cls
        self.name, self.mapping, self.key = name, mapping, key

    @cached_property
    def index(self) -> str:
        return ensure_index_racing(self.store, self.name, self.mapping)

    def _put(self, record: R) -> R:
        key = getattr(record, self.key)
        extra: dict[str, Any] = {}
        if record.version is not None:
            extra = guard(record.version)
        elif self.exclusive:
            extra = {"op_type": "create"}
        try:
            result = self.es.index(
                index=self.index, id=key, document=to_doc(record), refresh=True, **extra
            )
        except (EsConflict, NotFoundError) as e:
            if record.version is None:
                raise ConflictError(f"{key} exists already") from e
            raise ConflictError(f"{key} changed since version {record.version}") from e
        record.version = version_of(result)
        return record

    def _get(self, key: str) -> R | None:
        try:
            doc = self.es.get(index=self.index, id=key)
        except NotFoundError:
            return None
        return from_doc(self.cls, doc["_source"], self.store.tz, version_of(doc))

    def _list(self, query: dict[str, Any] | None = None) -> list[R]:
        found = self.es.search(
            index=self.index,
            size=MAX_KEYS,
            sort=[{self.key: "asc"}],
            seq_no_primary_term=True,
            query=query or {"match_all": {}},
        )["hits"]["hits"]
        return [from_doc(self.cls, h["_source"], self.store.tz, version_of(h)) for h in found]


class ElasticPolicies(Keyed[AlertPolicy], PolicyRepo):
    def __init__(self, store: ElasticStore) -> None:
        super().__init__(store, "alert-policies", POLICY_MAPPING, AlertPolicy, "rule")

    def put(self, policy: AlertPolicy) -> AlertPolicy:
        return self._put(policy)

    def get(self, rule: str) -> AlertPolicy | None:
        return self._get(rule)

    def list(self) -> list[AlertPolicy]:
        return self._list()

    def delete(self, rule: str) -> bool:
        try:
            self.es.delete(index=self.index, id=rule, refresh=True)
        except NotFoundError:
            return False
        return True


class ElasticEmergencies(Keyed[EmergencySwitch], EmergencyRepo):
    def __init__(self, store: ElasticStore) -> None:
        super().__init__(store, "emergencies", EMERGENCY_MAPPING, EmergencySwitch, "scope")

    def put(self, switch: EmergencySwitch) -> EmergencySwitch:
        return self._put(switch)

    def get(self, scope: str) -> EmergencySwitch | None:
        return self._get(scope)

    def list(self) -> list[EmergencySwitch]:
        return self._list()
