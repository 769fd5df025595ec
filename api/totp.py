"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), with the standard library.

The parameters are the ones every authenticator app reads from an ``otpauth://`` URI
without asking: HMAC-SHA1, six digits, a 30-second step. A code is accepted one step
early or late (clocks drift), and never twice (:func:`matching_step` says which step it
was, and the caller keeps the last one used).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP = 30  # seconds
DIGITS = 6
DRIFT = 1  # steps accepted either side of now
ISSUER = "yuqing"
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends


def new_secret() -> str:
    """A random secret in base32 (what authenticator apps take), without padding."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def secret_bytes(secret: str) -> bytes:
    """The key a base32 ``secret`` stands for; ValueError if it is not base32."""
    text = secret.strip().replace(" ", "").upper()
    if not text or len(text) > 128:
        raise ValueError("not a base32 secret")
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError as e:  # binascii.Error is one
        raise ValueError("not a base32 secret") from e


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226: the ``digits``-long code of ``counter`` under ``key``."""
    mac = hmac.new(key, struct.pack(">Q", counter), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_of(now: float) -> int:
    return int(now // STEP)


def code_at(secret: str, now: float) -> str:
    """The code an authenticator app shows at ``now`` (seconds since the epoch)."""
    return hotp(secret_bytes(secret), step_of(now))


def matching_step(secret: str, code: str, now: float, *, after: int = -1) -> int | None:
    """The step (within :data:`DRIFT` of ``now``, and later than ``after``: a used code
    does not work again) whose code is ``code``, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    key = secret_bytes(secret)
    current = step_of(now)
    found = None
    for step in range(current - DRIFT, current + DRIFT + 1):
        # Every candidate is compared, in constant time, whatever matched before.
        if hmac.compare_digest(hotp(key, step), code) and step > after and found is None:
            found = step
    return found


def uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://`` URI an authenticator app reads (typed in, or from a QR code)."""
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS,
         "period": STEP}
    )  # fmt: skip
    return f"otpauth://totp/{label}?{query}"
