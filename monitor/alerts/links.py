"""Signed, expiring one-click acknowledge links (itsdangerous). A link names one alert
and one recipient and carries a nonce; the ticket records the nonce when the link is
used, so a replayed link is refused (see :meth:`Tickets.acknowledge_by_link`).

Emails carry the signed token itself. Chat messages and SMS, where length counts, carry
a short link (``/k/<code>``): a random code kept with the delivery, which the console
resolves to the delivery's signed token, so it expires and works once like the long
one."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class LinkError(ValueError):
    """The link is tampered with (``kind`` ``invalid``), ``expired`` or already ``used``."""

    def __init__(self, message: str, kind: Literal["invalid", "expired", "used"]) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class AckClaim:
    alert_id: str
    recipient: str
    nonce: str
    via: str = "email"  # the channel kind the link was sent by


def short_code() -> str:
    """A code for a short acknowledge link: 12 URL-safe characters (72 random bits)."""
    return secrets.token_urlsafe(9)


class AckLinks:
    """Makes and checks acknowledge tokens with ``secret``; they work ``max_age`` seconds."""

    def __init__(self, secret: str, max_age: int) -> None:
        if not secret:
            raise ValueError("acknowledge links need a secret key (YUQING_API_SECRET_KEY)")
        self._signer = URLSafeTimedSerializer(secret, salt="yuqing-alert-ack")
        self.max_age = max_age

    def token(self, alert_id: str, recipient: str, via: str = "email") -> str:
        claim = {"a": alert_id, "r": recipient, "n": uuid.uuid4().hex}
        if via != "email":  # emailed links keep the shape they had
            claim["v"] = via
        return str(self._signer.dumps(claim))

    def url(self, public_url: str, alert_id: str, recipient: str) -> str:
        return f"{public_url.rstrip('/')}/alerts/{alert_id}/ack?t={self.token(alert_id, recipient)}"

    def verify(self, token: str) -> AckClaim:
        try:
            data = self._signer.loads(token, max_age=self.max_age)
        except SignatureExpired as e:
            raise LinkError("this acknowledge link has expired", "expired") from e
        except BadSignature as e:
            raise LinkError("this acknowledge link is not valid", "invalid") from e
        return AckClaim(data["a"], data["r"], data["n"], data.get("v", "email"))
