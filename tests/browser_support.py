"""The console in a real browser: the app served by waitress on 127.0.0.1 and Debian's
chromium driven by Playwright (no browser download). Screenshots go to
``$YUQING_TEST_OUTPUT/screenshots`` (default: ``yuqing-test-output`` in the system's
temporary folder), never into the source tree."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apiflask import APIFlask
from playwright.sync_api import Browser, Page, sync_playwright
from waitress.server import create_server

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(
    os.environ.get("YUQING_TEST_OUTPUT") or Path(tempfile.gettempdir()) / "yuqing-test-output"
)
SCREENSHOTS = OUTPUT / "screenshots"


@contextmanager
def serving(app: APIFlask) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1; yields its base URL."""
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    port = server.effective_port

    def run() -> None:
        # Its sockets are closed under its select() by the close below.
        with contextlib.suppress(OSError):
            server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        thread.join(timeout=5)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium, headless. A missing browser is a failure: `make test`
    installs it."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
