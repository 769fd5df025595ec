"""Replicas of yuqing's indices: a warning when a cluster could lose data with a node,
and changing the count of existing indices (``yuqing store replicas N``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from store.elastic.cluster import ElasticStore


def unreplicated(store: ElasticStore) -> list[str]:
    """yuqing's indices with no replica configured or assigned."""
    rows = store.es.cat.indices(index=f"{store.prefix}*", h="index,rep", format="json").body
    assert isinstance(rows, list)
    return sorted(str(r["index"]) for r in rows if int(r["rep"]) == 0)


def warnings(store: ElasticStore, health: dict[str, Any]) -> list[str]:
    """On a cluster of several data nodes, one line naming the indices without a replica
    (losing the node that holds one loses its data)."""
    if int(health.get("number_of_data_nodes", 1)) < 2:
        return []
    bare = unreplicated(store)
    if not bare:
        return []
    shown = ", ".join(bare[:5]) + (f" and {len(bare) - 5} more" if len(bare) > 5 else "")
    return [
        f"{len(bare)} index(es) have no replica on a cluster of "
        f"{health['number_of_data_nodes']} data nodes ({shown}): losing a node loses "
        "their data; run `yuqing store replicas 1`"
    ]


def set_replicas(store: ElasticStore, count: int | Literal["auto"]) -> list[str]:
    """Give every yuqing index ``count`` replicas (or ``"auto"``: one as soon as there are
    two nodes); new generations of items follow the newest one. Returns the indices."""
    if count == "auto":
        settings: dict[str, Any] = {"auto_expand_replicas": "0-1"}
    else:
        settings = {"auto_expand_replicas": False, "number_of_replicas": count}
    names = sorted(store.es.indices.get(index=f"{store.prefix}*", expand_wildcards="open"))
    if names:
        store.es.indices.put_settings(index=",".join(names), settings=settings)
    return names
