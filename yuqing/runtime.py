"""The composition root: builds the parts from the configuration."""

from __future__ import annotations

import os
import secrets

from store import Store, open_store
from yuqing.config import Config


def store_for(config: Config, **overrides: object) -> Store:
    """Open the configured store (SQLite by default, Elasticsearch by URL)."""
    options: dict[str, object] = {"tz": config.timezone}
    if config.store.url.startswith(("http://", "https://")):
        options |= config.store.elastic_options()
    return open_store(config.store.url, **(options | overrides))


def secret_key(config: Config) -> str:
    """The key signing sessions and acknowledge links: ``api.secret_key`` (from
    ``YUQING_API_SECRET_KEY``) or, on one machine, a random key kept in the data
    directory (mode 0600) so links and logins survive a restart."""
    if config.api.secret_key:
        return config.api.secret_key
    path = config.data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    config.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this service wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
