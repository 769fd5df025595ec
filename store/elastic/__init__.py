"""The Elasticsearch backend, for one node or a cluster.

Uses core features only (standard analyzer, match_phrase, intervals, bool, bulk,
core aggregations, highlighting, aliases): no scripts, no analysis plugins, no
reindex or update-by-query, so it runs on the minimal test distribution too.
The standard analyzer emits one token per Han character, which gives phrase
queries the same substring semantics as the SQLite backend.
"""

from store.elastic.cluster import ElasticStore

__all__ = ["ElasticStore"]
