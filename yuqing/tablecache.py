"""A cache on disk for tables a process would otherwise build from scratch at start-up.

The normaliser's tables (:mod:`rules.normalize`) come from a scan of every code point,
about 0.3-0.4 s; every crawl process built them again. The rule language does no I/O, so
keeping them is this layer's: :func:`warm_normalizer`, called where a process starts.
Here they are kept as arrays (``numpy.save``, no pickle: nothing in the file is ever
executed) and JSON, under a key made from everything that goes into them: the building
code's own source, the Unicode version, the OpenCC and numpy versions. A different key is
a different file, so a stale table is never read; a missing, unreadable or partial file is
rebuilt and written again (atomically: a reader sees the old file or the whole new one).

The directory is ``$YUQING_TABLE_CACHE`` if set (empty: no cache), else
``$XDG_CACHE_HOME/yuqing`` or ``~/.cache/yuqing``. Failing to write it is not an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np
import opencc

from rules import normalize

_KEEP_OTHERS = 86_400  # seconds


def cache_dir() -> Path | None:
    configured = os.environ.get("YUQING_TABLE_CACHE")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "yuqing"


def cache_key(name: str, parts: Iterable[str | bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little") + data)
    return f"{name}-{digest.hexdigest()[:24]}"


def cached(
    key: str, build: Callable[[], tuple[dict[str, np.ndarray], dict[str, Any]]]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``build()``'s arrays and JSON data, read from the cache under ``key`` when there,
    else built and stored there."""
    directory = cache_dir()
    if directory is None:
        return build()
    path = directory / f"{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {k: stored[k] for k in stored.files if k != "__json__"}
            data = json.loads(stored["__json__"].tobytes().decode())
        return arrays, data
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        pass
    arrays, data = build()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                encoded = np.frombuffer(json.dumps(data).encode(), np.uint8)
                np.savez(out, __json__=encoded, **arrays)  # type: ignore[arg-type]
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        # Tables of older code are not read again; those of code in another checkout may be
        # (two versions at once, as in development), so only files a day old are dropped.
        name = key.rsplit("-", 1)[0]
        for old in directory.glob(f"{name}-*.npz"):
            with suppress(OSError):
                if old != path and time.time() - old.stat().st_mtime > _KEEP_OTHERS:
                    old.unlink()
    except OSError:
        pass
    return arrays, data


def warm_normalizer() -> None:
    """Install the normaliser's tables from the cache (built and kept there the first time).
    The key holds everything the tables come from: the module's source, the Unicode
    database, OpenCC, numpy and Python."""
    key = cache_key(
        "normalize",
        [Path(normalize.__file__).read_bytes(), unicodedata.unidata_version, np.__version__,
         getattr(opencc, "__version__", "?"), sys.version],
    )  # fmt: skip
    normalize.install_tables(*cached(key, normalize.export_tables))
