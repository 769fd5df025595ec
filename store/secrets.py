"""Secrets never leave the process: the one place that hides them in what yuqing shows.

Every output that may carry a secret (the health endpoint, ``yuqing status`` and
``config check``, log lines, error messages) passes through :func:`redact_url` or a
:class:`Redactor`, so a password given in the store URL, the SMTP settings, the signing key
or a channel's webhook never appears in clear.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"


def redact_url(url: str) -> str:
    """``url`` (or comma-separated URLs) with any user info's password replaced by ***."""
    return ",".join(_one(part) for part in url.split(","))


def _one(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url if "@" not in url else MASK
    if parts.password is None and "@" not in parts.netloc:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}" if user else host))


class Redactor:
    """Replaces known secret values (and passwords in URLs) in any text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is hidden whole. Very short
        # values are skipped: masking every "a" would make logs unreadable and hide nothing.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text
