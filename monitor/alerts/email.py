"""Emails: zh-CN Jinja2 templates (HTML and plain text, no remote images) and the SMTP
client. Crawled text is untrusted: the HTML templates escape everything, and matched
words are highlighted by offsets over escaped pieces, never by inserting markup."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from monitor.alerts.settings import SmtpConfig
from rules.highlight import bracket, hit_spans, mark
from store.model import OutboxMessage

SEVERITY_LABELS = {"critical": "严重", "warning": "警告", "info": "提示"}
EXCERPT = 80  # characters of body shown either side of the first body hit

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def highlight_html(text: str, hits: list[dict[str, Any]], field: str) -> Markup:
    """``text`` escaped, its hits in ``field`` wrapped in <mark>."""
    return mark(text, hit_spans(hits, field))


def highlight_text(text: str, hits: list[dict[str, Any]], field: str) -> str:
    """``text`` with its hits in ``field`` in 【】."""
    return bracket(text, hit_spans(hits, field))


def excerpt(body: str, hits: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The part of ``body`` around its first hit, with the hits moved to its offsets."""
    starts = [h["start"] for h in hits if h.get("field") == "body"]
    first = min(starts, default=0)
    lo, hi = max(0, first - EXCERPT), min(len(body), first + EXCERPT)
    moved = [
        h | {"start": h["start"] - lo, "end": h["end"] - lo}
        for h in hits
        if h.get("field") == "body" and lo <= h["start"] and h["end"] <= hi
    ]
    return body[lo:hi], moved


def render(template: str, **context: Any) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of ``template`` (.txt and .html; the first text line
    is the subject)."""
    context |= {"severity_label": SEVERITY_LABELS, "hl_html": highlight_html}
    context |= {"hl_text": highlight_text}
    text = _env.get_template(f"{template}.txt").render(**context)
    subject, _, body = text.partition("\n")
    html = _env.get_template(f"{template}.html").render(subject=subject, **context)
    return subject.strip(), body.lstrip("\n"), html


class PermanentFailure(Exception):
    """The server refused the message for good (bad recipient, 5xx): do not retry."""


class TransientFailure(Exception):
    """The server is down or said try later (4xx): retry with backoff."""


# Replies meaning "log in or encrypt first": the configuration's fault, not the message's.
NEEDS_LOGIN_OR_TLS = {530, 534, 535, 538}


class Mailer:
    """An SMTP connection, opened on first use and kept for a batch (``with`` closes it).
    The server's certificate is verified (against ``ca_file`` if set); a connection that
    cannot be opened, encrypted or logged in fails the rest of the batch without retrying,
    so a wrong password is tried once per batch, not once per message."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None
        self._broken = ""  # why the connection could not be opened, for the whole batch

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        context = ssl.create_default_context(cafile=c.ca_file or None)
        smtp: smtplib.SMTP
        if c.ssl:
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            if c.starttls:  # never falls back to clear text: no STARTTLS offered raises
                smtp.starttls(context=context)
            if c.username:
                smtp.login(c.username, c.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _session(self) -> smtplib.SMTP:
        if self._broken:
            raise TransientFailure(self._broken)
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except (OSError, smtplib.SMTPException) as e:
                self._broken = self._why(e)
                raise TransientFailure(self._broken) from e
        return self._smtp

    def _why(self, e: OSError | smtplib.SMTPException) -> str:
        where = f"SMTP server {self.config.host}:{self.config.port}"
        if isinstance(e, ssl.SSLCertVerificationError):
            hint = "smtp.host must be named in it; smtp.ca_file names the CA to trust"
            return f"{where}: certificate not accepted: {e.verify_message} ({hint})"
        if isinstance(e, smtplib.SMTPAuthenticationError):
            hint = "check smtp.username and YUQING_SMTP_PASSWORD"
            return f"{where}: login as {self.config.username!r} refused: {_reply(e)} ({hint})"
        return f"{where}: {e}"

    def send(self, message: OutboxMessage) -> None:
        """Hand ``message`` to the server; returns once the server accepted it."""
        mail = EmailMessage()
        mail["From"] = self.config.sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=True)
        # The same id on every attempt, so a copy that ever arrives twice is recognisable.
        mail["Message-ID"] = f"<{message.id}@yuqing>"
        mail["X-Yuqing-Key"] = message.key
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        smtp = self._session()
        try:
            refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            raise (PermanentFailure if min(codes) >= 500 else TransientFailure)(str(e)) from e
        except smtplib.SMTPResponseException as e:
            if e.smtp_code >= 500 and e.smtp_code not in NEEDS_LOGIN_OR_TLS:
                raise PermanentFailure(_reply(e)) from e
            self.close()
            raise TransientFailure(_reply(e)) from e
        except (OSError, smtplib.SMTPException) as e:
            self.close()
            raise TransientFailure(f"SMTP server {self.config.host}:{self.config.port}: {e}") from e
        if refused:
            raise PermanentFailure(str(refused))

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _reply(e: smtplib.SMTPResponseException) -> str:
    """The server's reply as text, e.g. ``535 5.7.8 Authentication credentials invalid``."""
    error = e.smtp_error
    return f"{e.smtp_code} {error.decode(errors='replace') if isinstance(error, bytes) else error}"
