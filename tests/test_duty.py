"""Work under a store lease: one process at a time runs it, a standby takes over."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from waiting import wait_for

from store import Store
from yuqing.duty import Duty


class Worker:
    """Counts the processes working at once, as the sender would if it ran twice."""

    def __init__(self) -> None:
        self.active = 0
        self.most = 0
        self.lock = threading.Lock()

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        def work() -> None:
            with self.lock:
                self.active += 1
                self.most = max(self.most, self.active)
            stop.wait()
            with self.lock:
                self.active -= 1

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        return [thread]


def test_one_runs_the_work_and_a_standby_takes_over(store: Store) -> None:
    worker = Worker()
    changes: list[tuple[str, str]] = []

    def duty() -> Duty:
        return Duty(
            store,
            "mail",
            worker.start,
            lambda: datetime.now(UTC),
            # A lease far longer than any stall of a loaded machine: only the holder's
            # clean stop hands it over here, never its running out.
            ttl=60.0,
            every=0.1,
            on_change=lambda state, holder: changes.append((state, holder)),
        )

    first, second = duty(), duty()
    stops = [threading.Event(), threading.Event()]
    threads = [
        threading.Thread(target=d.run, args=(s,), daemon=True)
        for d, s in zip((first, second), stops, strict=True)
    ]
    threads[0].start()
    wait_for("the first to hold the lease", first.held.is_set, 30)
    threads[1].start()
    wait_for("the lease to stay the first's", lambda: _held_by(store, first.holder), 30)
    # The holder's work starts in a thread of its own, just after the lease is taken.
    wait_for("the holder's work to run", lambda: worker.active == 1, 30)
    assert not second.held.is_set() and worker.most == 1

    # The holder stops (SIGTERM): it gives the lease up and the standby takes over.
    stops[0].set()
    threads[0].join(10)
    wait_for("the standby to take over", second.held.is_set, 30)
    lease = store.leases.get("mail")
    assert lease is not None and lease.holder == second.holder
    stops[1].set()
    threads[1].join(10)
    assert store.leases.get("mail") is None
    assert worker.most == 1 and worker.active == 0
    assert changes == [
        ("taken", first.holder),
        ("released", first.holder),
        ("taken", second.holder),
        ("released", second.holder),
    ]


def _held_by(store: Store, holder: str) -> bool:
    lease = store.leases.get("mail")
    return lease is not None and lease.holder == holder and lease.until > datetime.now(UTC)
