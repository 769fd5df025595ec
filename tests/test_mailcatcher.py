"""The mail catcher keeps every message it accepts as an .eml file, over real SMTP."""

from __future__ import annotations

import email
import email.policy
import signal
import smtplib
import socket
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from waiting import wait_for

from devtools.mailcatcher import MailCatcher

YUQING = str(Path(sys.executable).parent / "yuqing-dev")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message(subject: str, to: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "yuqing@example.cn", to, subject
    m.set_content("潼南区双江镇一临街门面发生火灾\n")
    m.add_alternative("<p>潼南区双江镇一临街门面发生<mark>火灾</mark></p>", subtype="html")
    return m


def read(path: Path) -> EmailMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_every_message_is_kept_as_eml(tmp_path: Path) -> None:
    port = free_port()
    with (
        MailCatcher(tmp_path / "mail", port=port) as catcher,
        smtplib.SMTP("127.0.0.1", port) as smtp,
    ):
        smtp.send_message(message("【预警】潼南火灾", "duty@example.cn"))
        smtp.send_message(
            message("second", "a@example.cn"), to_addrs=["a@example.cn", "b@example.cn"]
        )
        kept = catcher.messages()
    assert len(kept) == 2
    assert not list((tmp_path / "mail").glob("*.part"))
    first, second = (read(p) for p in kept)
    assert first["Subject"] == "【预警】潼南火灾"
    body = first.get_body(preferencelist=("plain",))
    assert body is not None and "临街门面发生火灾" in body.get_content()
    assert second.get_all("X-Envelope-To") == ["a@example.cn", "b@example.cn"]
    assert second["X-Envelope-From"] == "yuqing@example.cn"


def test_command_runs_until_sigterm(tmp_path: Path) -> None:
    port, folder = free_port(), tmp_path / "mail"
    command = [YUQING, "mail-catcher", "--port", str(port), "--dir", str(folder)]
    catcher = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert catcher.stdout is not None
        assert f"127.0.0.1:{port}" in catcher.stdout.readline()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(message("hello", "duty@example.cn"))
        wait_for("the message on disk", lambda: list(folder.glob("*.eml")), 10)
    finally:
        catcher.send_signal(signal.SIGTERM)
        assert catcher.wait(10) == 0
    assert [read(p)["Subject"] for p in folder.glob("*.eml")] == ["hello"]


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [YUQING, "mail-catcher", "--port", str(port), "--dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
