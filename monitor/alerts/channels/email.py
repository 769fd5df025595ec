"""Email as a channel: the SMTP transport. What an email says comes from the templates
(:mod:`monitor.alerts.email`); this module only hands messages to the server.

Sending an email cannot be made idempotent by SMTP itself: a sender killed after the
server accepted a message but before that was recorded sends it again. Each message
keeps one Message-ID over all attempts, so mail clients fold such a copy."""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from types import TracebackType

from monitor.alerts.channels.base import (
    Channel,
    ChannelSettings,
    Outgoing,
    PermanentFailure,
    TransientFailure,
)
from monitor.alerts.email import render_notice
from monitor.alerts.settings import EMAIL_PATTERN, SmtpConfig

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
        # Why the connection could not be opened, raised again for the rest of the batch.
        self._broken: TransientFailure | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        smtp: smtplib.SMTP
        if c.ssl:
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self._tls())
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            if c.starttls:  # never falls back to clear text: no STARTTLS offered raises
                smtp.starttls(context=self._tls())
            if c.username:
                smtp.login(c.username, c.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _tls(self) -> ssl.SSLContext:
        # Made only for a TLS connection: loading the CAs takes a tenth of a second.
        return ssl.create_default_context(cafile=self.config.ca_file or None)

    def _session(self) -> smtplib.SMTP:
        if self._broken is not None:
            raise TransientFailure(self._broken.message)
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except (OSError, smtplib.SMTPException) as e:
                self._broken = self._why(e)
                raise self._broken from e
        return self._smtp

    def _why(self, e: OSError | smtplib.SMTPException) -> TransientFailure:
        # Operators read these on the alert and dead-letter pages (in English here, in
        # Chinese through the console's catalog), the server's or the system's own words
        # quoted as they came.
        where = f"{self.config.host}:{self.config.port}"
        if isinstance(e, ssl.SSLCertVerificationError):
            return TransientFailure(
                f"mail server {where}: the certificate was not accepted: {e.verify_message}"
                " (the certificate must name smtp.host; smtp.ca_file names the CA trusted)"
            )
        if isinstance(e, smtplib.SMTPAuthenticationError):
            return TransientFailure(
                f"mail server {where}: logging in as {self.config.username!r} was refused:"
                f" {_reply(e)} (check smtp.username and YUQING_SMTP_PASSWORD)"
            )
        return TransientFailure(f"mail server {where}: {e}")

    def send(self, to: str, key: str, ident: str, subject: str, text: str, html: str) -> None:
        """Hand one email to the server; returns once the server accepted it."""
        mail = EmailMessage()
        mail["From"] = self.config.sender
        mail["To"] = to
        mail["Subject"] = subject
        mail["Date"] = formatdate(localtime=True)
        # The same id on every attempt, so a copy that ever arrives twice is recognisable.
        mail["Message-ID"] = f"<{ident}@yuqing>"
        mail["X-Yuqing-Key"] = key
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
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
            raise TransientFailure(f"mail server {self.config.host}:{self.config.port}: {e}") from e
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


class EmailChannel(Channel):
    """Email through the configured SMTP server: one connection per batch (see
    :class:`Mailer`). Emails are not merged: each keeps its own Message-ID and key."""

    kind = "email"
    label = "电子邮件"
    merges = False
    addressed = True

    def __init__(self, smtp: SmtpConfig) -> None:
        self.id, self.name = "email", "电子邮件"
        self.settings, self.secrets = ChannelSettings.model_validate({}), None
        self.mailer = Mailer(smtp)

    @classmethod
    def check_to(cls, to: str) -> str:
        if not re.fullmatch(EMAIL_PATTERN, to):
            raise ValueError(f"{to!r} is not an email address")
        return to

    def send(self, out: Outgoing) -> None:
        subject, text, html = out.rendered or render_notice(out.notice, out.ack_url)
        self.mailer.send(out.to, out.key, out.delivery_id, subject, text, html)

    def close(self) -> None:
        self.mailer.close()
