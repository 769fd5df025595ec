"""Secrets never leave the process: a password set in every secret-bearing setting appears
in no output — health, status, config check, the service's log, error messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from test_service import free_port
from waiting import wait_for

from store import StoreUnavailable, open_store
from store.secrets import Redactor, redact_url
from yuqing.cli import main
from yuqing.config import load
from yuqing.wiring import app_for

STORE_PASSWORD = "S3cret-store-pass"
SMTP_PASSWORD = "S3cret-smtp-pass"
SIGNING_KEY = "S3cret-signing-key-0123456789"
SECRETS = (STORE_PASSWORD, SMTP_PASSWORD, SIGNING_KEY)


def with_password(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"elastic:{STORE_PASSWORD}@{parts.netloc}").geturl()


@pytest.fixture
def env(es_url: str, es_prefix: str, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return base | {
        "YUQING_STORE": with_password(es_url),
        "YUQING_STORE_PREFIX": es_prefix,
        "YUQING_SMTP_USERNAME": "mailer",
        "YUQING_SMTP_PASSWORD": SMTP_PASSWORD,
        "YUQING_SMTP_STARTTLS": "true",
        "YUQING_API_SECRET_KEY": SIGNING_KEY,
        "YUQING_API_PORT": str(free_port()),
        "YUQING_DATA_DIR": str(tmp_path / "var"),
    }


def clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("http://u:p4ss@h:9200,http://h2:9200") == "http://u:***@h:9200,http://h2:9200"
    assert redact_url("sqlite:///var/yuqing.db") == "sqlite:///var/yuqing.db"
    assert Redactor(["abcd", "abcdef"])("x abcdef y abcd") == "x *** y ***"


def test_no_command_or_page_shows_a_secret(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for args in (["config", "check"], ["status"], ["status", "--json"]):
        done = runner.invoke(main, args, env=env, catch_exceptions=False)
        assert done.exit_code in (0, 1), done.output
        outputs.append(done.output)
    config = load(None, env)
    assert config.smtp.password == SMTP_PASSWORD  # the settings do hold them
    store = open_store(config.store.url, prefix=config.store.prefix)
    try:
        client = app_for(config, store).test_client()
        outputs.append(client.get("/api/health").get_data(as_text=True))
    finally:
        store.close()
    with pytest.raises(StoreUnavailable) as refused:
        closed = f"http://elastic:{STORE_PASSWORD}@127.0.0.1:{free_port()}"
        open_store(closed, wait_seconds=0.5)
    outputs.append(str(refused.value))
    for text in outputs:
        clean(text)
    assert "***" in outputs[0]


def test_the_service_log_holds_no_secret(env: dict[str, str], tmp_path: Path) -> None:
    down = env | {"YUQING_STORE": f"http://elastic:{STORE_PASSWORD}@127.0.0.1:{free_port()}"}
    log = tmp_path / "service.log"
    yuqing = str(Path(sys.executable).parent / "yuqing")
    with log.open("w") as err:
        service = subprocess.Popen(
            [yuqing, "run", "--no-crawl", "--no-mail", "--retry", "1"],
            cwd=tmp_path, env=down, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        wait_for("an outage logged", lambda: "store_unavailable" in log.read_text(), 60)
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(60)
    text = log.read_text()
    assert "elastic:***@" in text
    clean(text)
