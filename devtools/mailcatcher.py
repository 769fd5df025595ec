"""A mail catcher for the demo and trials: an SMTP server (aiosmtpd) that accepts every
message and keeps it as an ``.eml`` file in a folder, where any mail client can open it.

It delivers nothing and asks for no login, so it listens on 127.0.0.1 unless told
otherwise (a container on its own network).
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

DEFAULT_PORT = 8025


class _Keep:
    """aiosmtpd handler writing each message to ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counter = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.folder / f"{stamp}-{next(self.counter):04d}.eml"
        envelope_lines = [
            f"X-Envelope-From: {envelope.mail_from}",
            *(f"X-Envelope-To: {r}" for r in envelope.rcpt_tos),
        ]
        data = ("\r\n".join(envelope_lines) + "\r\n").encode() + envelope.original_content
        # Written under a temporary name first: a reader never sees half a message.
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        os.replace(partial, path)
        return "250 OK kept as " + path.name


class MailCatcher:
    """The catcher on ``host:port`` writing into ``folder`` (created if missing); use
    :meth:`start` and :meth:`stop`, or ``with``."""

    def __init__(self, folder: str | Path, port: int = DEFAULT_PORT, host: str = "127.0.0.1"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.controller = Controller(_Keep(self.folder), hostname=host, port=port)

    def start(self) -> MailCatcher:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def messages(self) -> list[Path]:
        """The kept messages, oldest first."""
        return sorted(self.folder.glob("*.eml"))
