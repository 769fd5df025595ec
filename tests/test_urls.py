"""One URL parser for the check and the fetch: forms that parsers read differently
(backslashes, user info) are refused, IPv6 forms that embed an internal IPv4 address
(NAT64, IPv4-mapped and -compatible, 6to4, Teredo) are refused, and the URL stored for a
source is the one that was checked, which is the one the crawler requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import Browser

from crawler.sources import SourceError, validate
from crawler.urls import UrlRefused, check_url, internal, parse_url
from store import Store, open_store
from store.model import Source

# Each is refused however allow_private is set: the parsers would disagree on the host.
AMBIGUOUS = [
    "http://127.0.0.1:8712\\@93.184.216.34/x",
    "http://93.184.216.34\\.evil.example/",
    "http://user:secret@93.184.216.34/",
    "http://127.0.0.1@93.184.216.34/",
    "http://93.184.216.34/a b",
    "http://93.184.216.34/\x00",
    "http://93.184.216.34%2f@127.0.0.1/",
    "http://127.0.0.1%2f.example/",
    "http://[not-v6]/",
    "http://93.184.216.34:99999/",
]
# Internal addresses in IPv6 clothing: refused unless an admin allows private hosts.
EMBEDDED = [
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[64:ff9b:1::a00:1]/",  # local-use NAT64
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:a00:1]/",  # IPv4-mapped 10.0.0.1
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[2002:c0a8:1::1]/",  # 6to4 of 192.168.0.1
    "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo, client 10.0.0.1
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'yuqing.db'}")
    yield s
    s.close()


@pytest.mark.parametrize("url", AMBIGUOUS)
def test_ambiguous_urls_are_refused_even_when_private_hosts_are_allowed(url: str) -> None:
    for allow in (False, True):
        with pytest.raises(UrlRefused) as refused:
            check_url(url, "start_urls[0]", allow_private=allow)
        assert refused.value.field == "start_urls[0]"
    source = Source(id="s", name="s", type="list", start_urls=[url], interval=600)
    with pytest.raises(SourceError):  # a source that bypassed the API is refused at crawl
        validate(source)


@pytest.mark.parametrize("url", EMBEDDED)
def test_embedded_internal_ipv4_is_refused(url: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        check_url(url, "url")
    assert "allow_private" in refused.value.problem
    assert check_url(url, "url", allow_private=True).url == url


def test_public_addresses_pass_and_the_url_is_rebuilt_from_its_parts() -> None:
    # NAT64 of a public address is how an IPv6-only network reaches it: allowed.
    assert not internal("64:ff9b::5db8:d822") and not internal("93.184.216.34")
    assert internal("::1") and internal("10.0.0.1") and internal("fe80::1")
    parsed = check_url(" HTTP://93.184.216.34:80/list/index.html?page=2#top ", "url")
    assert parsed.host == "93.184.216.34" and parsed.port == 80
    assert parsed.url == "http://93.184.216.34/list/index.html?page=2"
    assert parse_url("https://[2001:db8::1]:8443", "u").url == "https://[2001:db8::1]:8443/"
    assert parse_url("http://潼南.中国/新闻/", "u").host == "潼南.中国"


def _news(url: str, **more: Any) -> dict[str, Any]:
    return {
        "id": "news",
        "name": "新闻",
        "type": "list",
        "start_urls": [url],
        "interval": 600,
    } | more


def test_the_api_stores_the_checked_url_and_refuses_the_rest(store: Store, admin: Browser) -> None:
    for n, url in enumerate([*AMBIGUOUS[:4], *EMBEDDED[:2]]):
        refused = admin.post("/api/sources", json=_news(url, id=f"s{n}"))
        assert refused.status_code == 400, url
        assert refused.get_json()["field"] == "start_urls[0]"
    assert store.sources.list() == []
    allowed = admin.post(
        "/api/sources",
        json=_news("HTTP://127.0.0.1:80/news/#top", allow_private=True),
    )
    assert allowed.status_code == 201, allowed.get_json()
    stored = store.sources.get("news")
    assert stored is not None and stored.start_urls == ["http://127.0.0.1/news/"]
