"""The named-lease contract (the sender's and the alerting tick's), on both backends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from store import QueryError, Store

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def test_one_holder_renews_others_wait_until_it_expires(store: Store) -> None:
    leases = store.leases
    assert leases.get("mail") is None
    a = leases.acquire("mail", "host-a:1", T0 + 30 * S, T0)
    assert a is not None and (a.holder, a.until, a.acquired) == ("host-a:1", T0 + 30 * S, T0)
    assert leases.acquire("mail", "host-b:2", T0 + 40 * S, T0 + 10 * S) is None
    renewed = leases.acquire("mail", "host-a:1", T0 + 50 * S, T0 + 20 * S)
    assert renewed is not None and renewed.until == T0 + 50 * S and renewed.acquired == T0
    assert leases.acquire("mail", "host-b:2", T0 + 80 * S, T0 + 49 * S) is None
    # Another name is another lease.
    assert leases.acquire("tick", "host-b:2", T0 + 80 * S, T0 + 49 * S) is not None

    # The holder stops renewing: after ``until`` the standby takes over ...
    b = leases.acquire("mail", "host-b:2", T0 + 80 * S, T0 + 51 * S)
    assert b is not None and b.holder == "host-b:2" and b.acquired == T0 + 51 * S
    # ... and the old holder can neither renew nor release it.
    assert leases.acquire("mail", "host-a:1", T0 + 90 * S, T0 + 52 * S) is None
    assert leases.release("mail", "host-a:1") is False
    got = leases.get("mail")
    assert got is not None and got.holder == "host-b:2"
    assert got.until.utcoffset() is not None

    # Released, it is free at once.
    assert leases.release("mail", "host-b:2") is True
    assert leases.get("mail") is None
    assert leases.release("mail", "host-b:2") is False
    c = leases.acquire("mail", "host-a:1", T0 + 90 * S, T0 + 53 * S)
    assert c is not None and c.acquired == T0 + 53 * S


def _race(store: Store, now: datetime, contenders: int = 6) -> list[str]:
    """Holders that got the lease when ``contenders`` threads asked at once."""
    won: list[str] = []
    start = threading.Barrier(contenders)

    def race(holder: str) -> None:
        start.wait()
        if store.leases.acquire("tick", holder, now + 30 * S, now) is not None:
            won.append(holder)

    threads = [threading.Thread(target=race, args=(f"p{i}",)) for i in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won


def test_of_many_racing_for_a_free_lease_exactly_one_wins(store: Store) -> None:
    for round_ in range(3):
        # Each round the lease of the round before has expired.
        won = _race(store, T0 + timedelta(minutes=round_))
        assert len(won) == 1, won
        lease = store.leases.get("tick")
        assert lease is not None and lease.holder == won[0]


def test_bad_lease_requests_are_refused(store: Store) -> None:
    with pytest.raises(QueryError, match="name and a holder"):
        store.leases.acquire("", "p", T0 + S, T0)
    with pytest.raises(QueryError, match="time zone"):
        store.leases.acquire("x", "p", datetime(2026, 1, 1), T0)
    with pytest.raises(QueryError, match="later than now"):
        store.leases.acquire("x", "p", T0, T0)
