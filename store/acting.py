"""Who changes what: the first argument of every operation, and the one audit entry it
leaves.

Each domain owns its operations (``keywords.operations``, ``monitor.alerts.operations``,
``crawler.operations``, ``api.accounts``): one function per state change that validates,
writes and then calls :meth:`Acting.audit` once per record it changed. The API, the console
and the ``yuqing`` command only build an :class:`Acting` (the signed-in user, or the
command's ``--actor``) and call them, so a change is audited the same way whichever door it
came through.

>>> acting = Acting("张三", store, clock)
>>> keywords.operations.create_group(acting, group, parent=3)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.base import Store
from store.errors import Invalid
from store.model import AuditEntry

SYSTEM = "yuqing"  # the actor of changes the service makes by itself (e.g. seeding sources)


@dataclass(frozen=True)
class Acting:
    """``actor`` (a user name, ``cli:<login>`` or :data:`SYSTEM`) changing ``store``, with
    business time from ``clock`` (a :class:`store.clock.Clock`, or any callable giving an
    aware datetime)."""

    actor: str
    store: Store
    clock: Callable[[], datetime]

    def __post_init__(self) -> None:
        # An audit entry that cannot say who acted is worth nothing: refuse it up front.
        if not self.actor.strip():
            raise Invalid("actor: say who makes the change", "actor")

    def now(self) -> datetime:
        return self.clock()

    def audit(
        self,
        action: str,
        target: str,
        before: Any = None,
        after: Any = None,
        *,
        time: datetime | None = None,
    ) -> AuditEntry:
        """Append the entry for one changed record: ``action`` (``"source.update"``) on
        ``target`` (``"source:gov-news"``), the record's data ``before`` and ``after`` (None
        where it did not exist), at ``time`` (default: now)."""
        entry = AuditEntry(self.actor, action, target, time or self.now(), before, after)
        return self.store.audit.append(entry)
