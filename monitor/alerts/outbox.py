"""The outbox: every email is persisted before it is sent and marked sent only after the
server accepted it.

A sender claims a message (status ``sending``, ``due`` = end of its claim) with a
conditional write, so two senders never send the same message; one that dies leaves the
claim to run out and the message is taken over. Between the server's acceptance and
the write that records it a crash can still cause one repeat (no SMTP client can close
that gap); the stable Message-ID makes such a copy recognisable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from monitor.alerts.email import Mailer, PermanentFailure, TransientFailure
from monitor.alerts.settings import SmtpConfig
from store import ConflictError, Store
from store.model import OutboxMessage, TimelineEntry

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def message_key(alert_id: str, recipient: str, kind: str) -> str:
    """The idempotency key of one email: sending it twice is never intended."""
    return f"{alert_id}/{recipient}/{kind}"


class Sender:
    """Sends due outbox messages over SMTP (``workers`` connections at once); retries
    transient failures with exponential backoff (``base_delay`` doubling up to
    ``max_delay`` seconds) up to ``max_attempts``, records permanent failures and stops."""

    def __init__(
        self,
        store: Store,
        smtp: SmtpConfig,
        clock: Clock,
        *,
        workers: int = 4,
        lease_seconds: float = 120.0,
        base_delay: float = 5.0,
        max_delay: float = 900.0,
        max_attempts: int = 20,
    ) -> None:
        self.store, self.smtp, self.clock, self.workers = store, smtp, clock, workers
        self.lease = timedelta(seconds=lease_seconds)
        self.base_delay, self.max_delay, self.max_attempts = base_delay, max_delay, max_attempts
        self.wake = threading.Event()  # set by whoever enqueues, to send at once

    def run_once(self, limit: int = 100) -> int:
        """Send what is due now; returns how many the server accepted."""
        due = self.store.outbox.due(self.clock(), limit)
        shares = [due[n :: self.workers] for n in range(self.workers) if due[n :: self.workers]]
        if len(shares) <= 1:
            return sum(self._send_all(share) for share in shares)
        with ThreadPoolExecutor(len(shares)) as pool:
            return sum(pool.map(self._send_all, shares))

    def _send_all(self, messages: list[OutboxMessage]) -> int:
        sent = 0
        with Mailer(self.smtp) as mailer:
            for message in messages:
                if self._claim(message) and self._send(mailer, message):
                    sent += 1
        return sent

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Send until ``stop`` is set, looking every ``poll_seconds`` or when woken."""
        while not stop.is_set():
            self.wake.clear()  # before looking, so a message queued meanwhile wakes the wait
            try:
                # A burst is sent batch by batch, so a stop waits for one batch at most.
                while not stop.is_set() and self.run_once():
                    pass
            except Exception:
                log.exception("sending the outbox failed; will retry")
            self.wake.wait(poll_seconds)

    def _claim(self, message: OutboxMessage) -> bool:
        message.status = "sending"
        message.attempts += 1
        message.due = self.clock() + self.lease
        try:
            self.store.outbox.update(message)
        except ConflictError:
            return False  # another sender has it
        return True

    def _send(self, mailer: Mailer, message: OutboxMessage) -> bool:
        try:
            mailer.send(message)
        except PermanentFailure as e:
            self._finish(message, "failed", str(e))
            return False
        except TransientFailure as e:
            if message.attempts >= self.max_attempts:
                self._finish(message, "failed", f"gave up after {message.attempts} attempts: {e}")
            else:
                delay = min(self.base_delay * 2 ** (message.attempts - 1), self.max_delay)
                message.status, message.error = "pending", str(e)
                message.due = self.clock() + timedelta(seconds=delay)
                self.store.outbox.update(message)
            return False
        self._finish(message, "sent", "")
        return True

    def _finish(self, message: OutboxMessage, status: str, error: str) -> None:
        now = self.clock()
        message.status = "sent" if status == "sent" else "failed"
        message.error = error
        if status == "sent":
            message.sent = now
        self.store.outbox.update(message)
        if message.alert_id:
            self._record(message, now)

    def _record(self, message: OutboxMessage, now: datetime) -> None:
        action = "emailed" if message.status == "sent" else "email_failed"
        self.store.alert_timeline.append(
            TimelineEntry(
                message.alert_id,
                now,
                "yuqing",
                action,
                message.error,
                {"to": message.recipient, "kind": message.kind},
            )
        )
        if message.status != "sent":
            return
        for _ in range(10):
            alert = self.store.alerts.get(message.alert_id)
            if alert is None or alert.emailed is not None:
                return
            alert.emailed = now  # the latency figures end at the first accepted email
            try:
                self.store.alerts.update(alert)
                return
            except ConflictError:
                continue
