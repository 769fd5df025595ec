"""A real HTTP server on 127.0.0.1 serving a dict of UTF-8 HTML pages by path, noting every
path asked for; the pages may change while it runs (a site's redesign)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class PageSite:
    pages: dict[str, str]
    url: str = ""
    requested: list[str] = field(default_factory=list)


@contextmanager
def serve_pages(pages: dict[str, str]) -> Iterator[PageSite]:
    site = PageSite(pages)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requested.append(self.path)
            page = site.pages.get(self.path)
            if page is None:
                self.send_error(404)
                return
            data = page.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()
