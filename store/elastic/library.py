"""Keyword-library versions in Elasticsearch; the version number is the document id."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from elasticsearch import ConflictError as EsConflict
from elasticsearch import NotFoundError

from store.base import LibraryRepo, check_successor
from store.elastic.common import SCHEMA_VERSION
from store.errors import ConflictError
from store.model import (
    LibraryVersion,
)

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore

LIBRARY_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"yuqing_schema": SCHEMA_VERSION},
    "properties": {
        "version": {"type": "integer"},
        "parent": {"type": "integer"},
        "author": {"type": "keyword"},
        "created": {"type": "date"},
        "message": {"type": "text"},
        "data": {"type": "object", "enabled": False},
        "summary": {"type": "object", "enabled": False},
        # Searchable copies: which versions held a word, a group or a rule.
        "words": {"type": "keyword"},
        "groups": {"type": "keyword"},
        "rules": {"type": "keyword"},
    },
}


class ElasticLibrary(LibraryRepo):
    def __init__(self, store: ElasticStore) -> None:
        self.store = store
        self.es = store.es
        self.index = store.ensure_index("library", LIBRARY_MAPPING)

    def head(self) -> LibraryVersion | None:
        found = self.es.search(
            index=self.index, size=1, sort=[{"version": "desc"}], query={"match_all": {}}
        )["hits"]["hits"]
        return self._version(found[0]["_source"]) if found else None

    def get(self, version: int) -> LibraryVersion | None:
        try:
            return self._version(self.es.get(index=self.index, id=str(version))["_source"])
        except NotFoundError:
            return None

    def history(self, limit: int = 50) -> list[LibraryVersion]:
        found = self.es.search(
            index=self.index,
            size=limit,
            sort=[{"version": "desc"}],
            source_excludes=["data", "words", "groups", "rules"],
            query={"match_all": {}},
        )["hits"]["hits"]
        return [self._version({**h["_source"], "data": {}}) for h in found]

    def commit(self, version: LibraryVersion) -> LibraryVersion:
        check_successor(version)
        head = self.head()
        current = head.version if head else None
        if current != version.parent:
            raise ConflictError(
                f"the library is at version {current}, not {version.parent}: reload and retry"
            )
        groups = version.data.get("groups", [])
        doc = {
            "version": version.version,
            "parent": version.parent,
            "author": version.author,
            "created": version.created.isoformat(),
            "message": version.message,
            "data": version.data,
            "summary": version.summary,
            "words": sorted(
                {w if isinstance(w, str) else w["text"] for g in groups for w in g.get("words", [])}
            ),
            "groups": [g["name"] for g in groups],
            "rules": [r["name"] for r in version.data.get("rules", [])],
        }
        try:
            # The version number is the document id, so of two editors who saved on
            # top of the same parent exactly one creates it.
            self.es.create(index=self.index, id=str(version.version), document=doc, refresh=True)
        except EsConflict as e:
            raise ConflictError(
                f"version {version.version} was saved by someone else first: reload and retry"
            ) from e
        return version

    def _version(self, src: dict[str, Any]) -> LibraryVersion:
        return LibraryVersion(
            version=src["version"],
            parent=src.get("parent"),
            author=src["author"],
            created=datetime.fromisoformat(src["created"]).astimezone(self.store.tz),
            message=src["message"],
            data=src["data"],
            summary=src.get("summary") or {},
        )
