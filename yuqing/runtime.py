"""The composition root: builds the parts from the configuration."""

from __future__ import annotations

from store import Store, open_store
from yuqing.config import Config


def store_for(config: Config, **overrides: object) -> Store:
    """Open the configured store (SQLite by default, Elasticsearch by URL)."""
    options: dict[str, object] = {"tz": config.timezone}
    if config.store.url.startswith(("http://", "https://")):
        options |= {
            "prefix": config.store.prefix,
            "shards": config.store.shards,
            "replicas": config.store.replicas,
        }
    return open_store(config.store.url, **(options | overrides))
