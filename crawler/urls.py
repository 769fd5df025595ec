"""One URL parser for the check and the fetch.

A source URL is parsed once, here, into a :class:`CrawlUrl`; its :attr:`~CrawlUrl.url` is
rebuilt from the parsed parts and is what is stored, checked and requested. Forms that
parsers read differently are refused outright, so no two parsers can disagree about the
host: backslashes (``http://127.0.0.1:8712\\@93.184.216.34/`` is host 93.184.216.34 to
Python's ``urlsplit`` but 127.0.0.1 to browsers and to the crawler), user info
(``user@host``), whitespace and control characters, percent signs or other odd characters
in the host.

The address check refuses private, loopback, link-local, multicast and reserved
addresses, and IPv6 addresses that embed such an IPv4 address: IPv4-mapped
(``::ffff:127.0.0.1``), IPv4-compatible (``::127.0.0.1``), NAT64 (``64:ff9b::/96``; the
local-use ``64:ff9b:1::/48`` is refused whole), 6to4 (``2002::/16``) and Teredo
(``2001::/32``, its client address).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from store import Invalid

_HOST = re.compile(r"^[\w.-]+$")  # names (IDN letters included) and IPv4 literals
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_COMPATIBLE = ipaddress.IPv6Network("::/96")


class UrlRefused(Invalid):
    """A URL that may not be crawled; ``field`` names the input."""

    field: str

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}", field)
        self.problem = problem


@dataclass(frozen=True)
class CrawlUrl:
    """A parsed http(s) URL: ``url`` is rebuilt from the other fields (no fragment)."""

    scheme: str
    host: str  # lower case; an IPv6 literal without brackets
    port: int
    path: str
    query: str

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{host}{port}{self.path or '/'}{query}"


def parse_url(url: object, field: str) -> CrawlUrl:
    """``url`` parsed, or :class:`UrlRefused` naming ``field`` and the problem."""
    if not isinstance(url, str):
        raise UrlRefused(field, f"{url!r} is not a URL")
    text = url.strip()
    if _BAD_CHARS.search(text):
        raise UrlRefused(
            field, f"{text!r}: backslashes, spaces and control characters are not allowed"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as e:
        raise UrlRefused(field, f"{text!r} is not a valid URL: {e}") from e
    if parts.scheme.lower() not in ("http", "https"):
        raise UrlRefused(field, f"{text!r}: only http and https URLs can be crawled")
    if "@" in parts.netloc:
        raise UrlRefused(field, f"{text!r}: user names and passwords in URLs are not allowed")
    host = (parts.hostname or "").lower()
    if not host:
        raise UrlRefused(field, f"{text!r} has no host")
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError as e:
            raise UrlRefused(field, f"{text!r}: {host!r} is not an IPv6 address") from e
    elif not _HOST.match(host) or host.startswith(".") or ".." in host:
        raise UrlRefused(field, f"{text!r}: {host!r} is not a host name")
    scheme = parts.scheme.lower()
    return CrawlUrl(
        scheme=scheme,
        host=host,
        port=port or (443 if scheme == "https" else 80),
        path=parts.path,
        query=parts.query,
    )


def internal(address: str) -> bool:
    """Whether ``address`` (IPv4 or IPv6) is not a public unicast address, including an
    IPv6 address that carries an internal IPv4 address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return True
        embedded = _embedded_v4(ip)
        if embedded is not None and internal(str(embedded)):
            return True
    return not ip.is_global or ip.is_multicast


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):  # not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


Lookup = Callable[[str], Sequence[str]]


def system_lookup(host: str) -> list[str]:
    """The addresses ``host`` resolves to, by the system's resolver, in its order."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def check_url(url: object, field: str, *, allow_private: bool = False) -> CrawlUrl:
    """``url`` parsed (see :func:`parse_url`) and, unless ``allow_private``, resolved to
    public addresses only; else :class:`UrlRefused`. Fetch the returned ``.url``."""
    return check_and_resolve(url, field, allow_private=allow_private)[0]


def check_and_resolve(
    url: object,
    field: str,
    *,
    allow_private: bool = False,
    lookup: Lookup = system_lookup,
    is_internal: Callable[[str], bool] = internal,
) -> tuple[CrawlUrl, list[str] | None]:
    """:func:`check_url`, with the checked addresses of the host to connect to (None when
    ``allow_private``: not looked up). ``lookup`` and ``is_internal`` replace the system's
    resolver and the standard check (tests)."""
    parsed = parse_url(url, field)
    if allow_private:
        return parsed, None
    try:
        found = [str(a) for a in lookup(parsed.host)]
    except (OSError, ValueError, UnicodeError) as e:
        raise UrlRefused(field, f"cannot resolve {parsed.host!r}: {e}") from e
    if not found:
        raise UrlRefused(field, f"cannot resolve {parsed.host!r}: no addresses")
    refused = sorted(a for a in found if is_internal(a))
    if refused:
        raise UrlRefused(
            field,
            f"{parsed.host} is a private, loopback or link-local address "
            f"({', '.join(refused)}); an admin may allow it for this source with allow_private",
        )
    return parsed, found
