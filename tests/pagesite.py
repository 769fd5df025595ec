"""A real HTTP server on 127.0.0.1 serving a dict of UTF-8 HTML pages by path, noting every
path asked for (and the Host header it was asked with); the pages may change while it runs
(a site's redesign). ``redirects`` maps paths to the URL they answer 302 with; a path in
``stalled`` is never answered (until the server stops): a script that never loads."""

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
    hosts: list[str] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)
    stalled: set[str] = field(default_factory=set)
    stopping: threading.Event = field(default_factory=threading.Event)


@contextmanager
def serve_pages(
    pages: dict[str, str], redirects: dict[str, str] | None = None
) -> Iterator[PageSite]:
    site = PageSite(pages, redirects=redirects or {})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requested.append(self.path)
            site.hosts.append(self.headers.get("Host", ""))
            if self.path in site.stalled:
                site.stopping.wait()
                return
            if self.path in site.redirects:
                self.send_response(302)
                self.send_header("Location", site.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
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
        site.stopping.set()
        httpd.shutdown()
        httpd.server_close()
