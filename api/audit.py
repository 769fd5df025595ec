"""Every mutation made through the API or the console, recorded with who and when."""

from __future__ import annotations

from typing import Any

from api.auth import actor
from api.context import parts
from store.model import AuditEntry


def record(action: str, target: str, before: Any = None, after: Any = None) -> AuditEntry:
    """Append ``action`` on ``target`` (e.g. ``"source.update"``, ``"source:gov-news"``)
    with the data before and after it, as the current user."""
    p = parts()
    return p.store.audit.append(AuditEntry(actor(), action, target, p.now(), before, after))
