"""The outbox: every delivery (an email, a chat message, an SMS, a webhook call) is
persisted before it is sent and marked sent only after its platform accepted it.

A sender claims a delivery (status ``sending``, ``due`` = end of its claim) with a
conditional write, so two senders never send the same one; one that dies leaves the
claim to run out and the delivery is taken over. Between a platform's acceptance and
the write that records it a crash can still cause one repeat (no SMTP server or chat
robot lets a client close that gap); emails keep one Message-ID, webhooks one
``X-Yuqing-Delivery`` id over all attempts, so a copy is recognisable.

Deliveries are sent destination by destination. A destination over its rate limit
(:mod:`.ratelimit`) keeps its deliveries queued; when it may be sent to again, the
queued new-alert and update deliveries of one alert go out as one message (the others
are marked ``merged`` into it), so a burst is summed up, never dropped. Network errors,
5xx and the platforms' busy answers are retried with exponential backoff; a platform's
rate-limit answer waits as long as the platform says and costs no attempt; a refusal
(a wrong secret, a missing keyword, a removed robot) or too many failed attempts put
the delivery on the dead-letter list (status ``failed``, the reason in Chinese) until
someone resends it (:func:`monitor.alerts.deliveries.resend`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx

from monitor.alerts.channels import EMAIL, Channel, ChannelError, EmailChannel, build
from monitor.alerts.channels.base import (
    DeliveryError,
    Outgoing,
    PermanentFailure,
    RateLimited,
    TransientFailure,
)
from monitor.alerts.notice import Notice, merge
from monitor.alerts.ratelimit import Limiter
from monitor.alerts.routing import Target
from monitor.alerts.settings import SmtpConfig
from store import ConflictError, Store
from store.model import ChannelConfig, OutboxMessage, TimelineEntry

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MERGING = ("new", "update")  # the kinds a held-back burst folds into one message


def message_key(alert_id: str, recipient: str, kind: str) -> str:
    """The idempotency key of one delivery: sending it twice is never intended.
    ``recipient`` is the destination's key (an email address alone, as before channels;
    see :attr:`monitor.alerts.routing.Target.key`)."""
    return f"{alert_id}/{recipient}/{kind}"


def destination(message: OutboxMessage) -> str:
    """The destination key of ``message``: what its rate limit is counted by."""
    return Target(message.channel or EMAIL, message.recipient).key


def ack_url(message: OutboxMessage, base_url: str) -> str:
    """The acknowledge link ``message`` carries: short for chat and SMS, the signed
    token for email; empty if it carries none."""
    base = base_url.rstrip("/")
    if message.link:
        return f"{base}/k/{message.link}"
    if message.ack_token:
        return f"{base}/alerts/{message.alert_id}/ack?t={message.ack_token}"
    return ""


class Sender:
    """Sends due deliveries (``workers`` destinations at once); retries transient
    failures with exponential backoff (``base_delay`` doubling up to ``max_delay``
    seconds) up to ``max_attempts``, records refusals and stops."""

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
        timeout: float = 10.0,
    ) -> None:
        self.store, self.smtp, self.clock, self.workers = store, smtp, clock, workers
        self.lease = timedelta(seconds=lease_seconds)
        self.base_delay, self.max_delay, self.max_attempts = base_delay, max_delay, max_attempts
        self.wake = threading.Event()  # set by whoever enqueues, to send at once
        self.limiter = Limiter()
        # One client, shared by the workers: it pools connections per platform host.
        self.http = httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def run_once(self, limit: int = 100) -> int:
        """Send what is due now; returns how many deliveries were accepted (a merged
        message counts once)."""
        due = self.store.outbox.due(self.clock(), limit)
        if not due:
            return 0
        configs = {c.id: c for c in self.store.channels.list()}  # edits apply at once
        groups: dict[str, list[OutboxMessage]] = {}
        for message in due:
            groups.setdefault(destination(message), []).append(message)
        count = min(self.workers, len(groups)) or 1
        shares: list[list[list[OutboxMessage]]] = [[] for _ in range(count)]
        for n, group in enumerate(groups.values()):
            shares[n % count].append(group)
        if count == 1:
            return self._work(shares[0], configs)
        with ThreadPoolExecutor(count) as pool:
            return sum(pool.map(lambda share: self._work(share, configs), shares))

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

    # -- one worker's destinations -----------------------------------------------------

    def _work(self, groups: list[list[OutboxMessage]], configs: dict[str, ChannelConfig]) -> int:
        opened: dict[str, Channel | PermanentFailure] = {}  # id -> channel, or why there is none
        sent = 0
        try:
            for group in groups:
                sent += self._destination(group, configs, opened)
        finally:
            for channel in opened.values():
                if isinstance(channel, Channel):
                    channel.close()
        return sent

    def _channel(
        self,
        ident: str,
        configs: dict[str, ChannelConfig],
        opened: dict[str, Channel | PermanentFailure],
    ) -> Channel | PermanentFailure:
        if ident not in opened:
            if ident == EMAIL:
                opened[ident] = EmailChannel(self.smtp)
            elif ident not in configs:
                opened[ident] = PermanentFailure(f"channel {ident} was deleted")
            elif not configs[ident].enabled:
                opened[ident] = PermanentFailure(
                    f"channel {ident} ({configs[ident].name}) is disabled"
                )
            else:
                try:
                    opened[ident] = build(configs[ident], self.http, self.clock)
                except ChannelError as e:
                    opened[ident] = PermanentFailure(
                        f"channel {ident} has an invalid configuration: {e.message}"
                    )
        return opened[ident]

    def _destination(
        self,
        group: list[OutboxMessage],
        configs: dict[str, ChannelConfig],
        opened: dict[str, Channel | PermanentFailure],
    ) -> int:
        """Send one destination's due deliveries; how many were accepted."""
        channel = self._channel(group[0].channel or EMAIL, configs, opened)
        sent = 0
        for batch in self._batches(group, channel):
            if isinstance(channel, PermanentFailure):  # nothing to send it with: dead letters
                if self._claim(batch[0]):
                    self._finish(batch[0], "failed", channel.message)
                continue
            where = destination(batch[0])
            limits = channel.rate_limits()
            if limits:
                if not self.limiter.known(where):
                    self.limiter.seed(
                        where, self._recent(batch[0], max(limit.seconds for limit in limits))
                    )
                wait = self.limiter.wait(where, limits, self.clock().timestamp())
                if wait > 0:
                    self._postpone(batch, wait)
                    continue
            claimed = [m for m in batch if self._claim(m)]
            if not claimed:
                continue
            taken = self.clock().timestamp()
            if limits:
                self.limiter.take(where, taken)
            sent += self._send(channel, claimed, where, taken)
        return sent

    def _batches(
        self, group: list[OutboxMessage], channel: Channel | PermanentFailure
    ) -> list[list[OutboxMessage]]:
        """The messages to send: one per delivery, except that a channel that merges
        sends the new-alert and update deliveries of one alert as one."""
        if isinstance(channel, PermanentFailure) or not channel.merges:
            return [[m] for m in group]
        batches: list[list[OutboxMessage]] = []
        by_alert: dict[str, list[OutboxMessage]] = {}
        for message in group:
            if message.notice and message.alert_id and message.kind in MERGING:
                if message.alert_id not in by_alert:
                    by_alert[message.alert_id] = []
                    batches.append(by_alert[message.alert_id])
                by_alert[message.alert_id].append(message)
            else:
                batches.append([message])
        # The new-alert delivery carries the others; else the earliest update.
        return [sorted(b, key=lambda m: (m.kind != "new", m.created)) for b in batches]

    def _recent(self, message: OutboxMessage, seconds: float) -> list[float]:
        """When the destination of ``message`` was last sent to, from the store (for a
        limit that outlives a restart)."""
        since = self.clock() - timedelta(seconds=seconds)
        where = destination(message)
        return [
            m.sent.timestamp()
            for m in self.store.outbox.list(channel=message.channel, status="sent", limit=500)
            if m.sent is not None and m.sent > since and destination(m) == where
        ]

    # -- claiming and recording ------------------------------------------------------------

    def _claim(self, message: OutboxMessage) -> bool:
        message.status = "sending"
        message.attempts += 1
        message.due = self.clock() + self.lease
        try:
            self.store.outbox.update(message)
        except ConflictError:
            return False  # another sender has it
        return True

    def _postpone(self, batch: list[OutboxMessage], seconds: float) -> None:
        """Keep ``batch`` queued until its destination may be sent to again."""
        for message in batch:
            message.status, message.due = "pending", self.clock() + timedelta(seconds=seconds)
            try:
                self.store.outbox.update(message)
            except ConflictError:
                continue  # another sender has it

    def _outgoing(self, batch: list[OutboxMessage]) -> Outgoing:
        carrier = batch[0]
        if carrier.channel == EMAIL:  # rendered when queued (see monitor.alerts.notify)
            rendered = (carrier.subject, carrier.text, carrier.html)
            if carrier.notice:
                notice = Notice.from_dict(carrier.notice)
            else:  # queued before channels
                notice = Notice(
                    carrier.kind, carrier.alert_id, "", "", carrier.subject, "", "", "", ""
                )
            return Outgoing(notice, carrier.recipient, "", carrier.key, carrier.id, 1, rendered)
        notices = [Notice.from_dict(m.notice) for m in batch]
        notice = merge(notices) if len(notices) > 1 else notices[0]
        link = ack_url(carrier, notice.base_url)
        return Outgoing(notice, carrier.recipient, link, carrier.key, carrier.id, len(batch))

    def _send(self, channel: Channel, batch: list[OutboxMessage], where: str, taken: float) -> int:
        carrier = batch[0]
        try:
            channel.send(self._outgoing(batch))
        except DeliveryError as e:
            e.message = channel.redact(e.message)  # recorded errors never carry a secret
            e.args = (e.message,)
            return self._failed(e, batch, where, taken)
        except Exception as e:  # a bug in a channel must not stop the others
            log.exception("sending %s failed unexpectedly", carrier.key)
            for message in batch:
                self._retry(message, TransientFailure(channel.redact(f"internal error: {e!r}")))
            return 0
        self._finish(carrier, "sent", "", merged=len(batch))
        for message in batch[1:]:
            message.merged_into = carrier.key
            self._finish(message, "merged", "")
        return 1

    def _failed(
        self, e: DeliveryError, batch: list[OutboxMessage], where: str, taken: float
    ) -> int:
        """Record why ``batch`` did not go: wait out a rate limit, give up on a refusal,
        back off on anything else."""
        if isinstance(e, RateLimited):
            self.limiter.give_back(where, taken)  # refused, so not counted
            self.limiter.block(where, self.clock().timestamp() + e.retry_after)
            for message in batch:
                message.attempts -= 1  # the platform's limit is no failure of the message
                self._retry(message, e, e.retry_after)
        elif isinstance(e, PermanentFailure):
            for message in batch:
                self._finish(message, "failed", str(e))
        else:
            # Unreachable or failing: the platform did not take it, nor count it.
            self.limiter.give_back(where, taken)
            for message in batch:
                self._retry(message, e)
        return 0

    def _retry(self, message: OutboxMessage, e: DeliveryError, after: float | None = None) -> None:
        if after is None and message.attempts >= self.max_attempts:
            self._finish(message, "failed", f"failed after {message.attempts} attempts: {e}")
            return
        delay = after or min(self.base_delay * 2 ** (message.attempts - 1), self.max_delay)
        message.status, message.error = "pending", str(e)
        message.due = self.clock() + timedelta(seconds=delay)
        self._write(message)

    def _write(self, message: OutboxMessage) -> bool:
        try:
            self.store.outbox.update(message)
        except ConflictError:
            # Our claim ran out and another sender took the delivery over: its record wins.
            log.warning("delivery %s was taken over while being sent", message.key)
            return False
        return True

    def _finish(self, message: OutboxMessage, status: str, error: str, merged: int = 1) -> None:
        now = self.clock()
        message.status = status  # type: ignore[assignment]
        message.error = error
        if status in ("sent", "merged"):
            message.sent = now
        if not self._write(message):
            return
        if message.alert_id and status != "merged":
            self._record(message, now, merged)

    def _record(self, message: OutboxMessage, now: datetime, merged: int) -> None:
        ok = message.status == "sent"
        details: dict[str, object] = {"to": message.recipient, "kind": message.kind}
        if message.channel == EMAIL:
            action = "emailed" if ok else "email_failed"
        else:
            action = "notified" if ok else "notify_failed"
            details["channel"] = message.channel
            if merged > 1:
                details["merged"] = merged
        self.store.alert_timeline.append(
            TimelineEntry(message.alert_id, now, "yuqing", action, message.error, details)
        )
        if not ok or message.channel != EMAIL:
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
