"""Address pinning against DNS rebinding: each host is looked up once, checked, and the
checked addresses are the ones the crawl connects to.

:class:`PinningResolver` is the crawl process's name resolver (Scrapy's
``TWISTED_DNS_RESOLVER``): the first request for a host name looks it up (in a thread),
checks every address with the check source creation uses (:func:`crawler.urls.internal`)
and keeps the answer; every later connection to that host, redirects and followed links
included, gets the kept addresses and no second lookup that DNS could answer differently.
A name with any internal address gets no address at all, so nothing can connect to it.

:class:`PinningMiddleware` (a downloader middleware, before robots.txt) asks the resolver
for every request's host before it is downloaded, so a refusal is a run error naming the
host and the address (:class:`AddressRefused`) rather than "host name not found", and
checks address literals, which involve no DNS: those of the source's own start URLs were
checked (or allowed by an admin) when the source was saved and pass; any other internal
literal, say a redirect to ``http://10.0.0.1/``, is refused.

Settings: ``YUQING_PIN_ADDRESSES`` (on), ``YUQING_DNS_LOOKUP`` (a callable or its dotted
path taking a host name and returning its addresses; None: the system's
``getaddrinfo``), ``YUQING_INTERNAL_NETWORKS`` (CIDR networks treated as internal in
place of the standard check; tests use it to keep traffic on 127.0.0.1) and
``YUQING_PRIVATE_HOSTS`` (host names or literals that may have internal addresses, for
sources on an internal network; their answer is still pinned).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IAddress, IHostnameResolver, IHostResolution
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from zope.interface import implementer

from crawler.urls import internal

Lookup = Callable[[str], Sequence[str]]
Checker = Callable[[str], bool]


class AddressRefused(IgnoreRequest):
    """A request refused because its host is, or resolves to, an internal address."""

    def __init__(self, host: str, addresses: Iterable[str]) -> None:
        self.host, self.addresses = host, sorted(addresses)
        shown = ", ".join(self.addresses)
        super().__init__(
            f"refused: {host} resolves to a private, loopback or link-local address "
            f"({shown}); not fetched (DNS rebinding or an internal redirect)"
        )


def system_lookup(host: str) -> list[str]:
    """The addresses ``host`` resolves to, by the system's resolver, in its order."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def checker(networks: Iterable[str] | None) -> Checker:
    """Whether an address is internal: the standard check, or membership of ``networks``."""
    if networks is None:
        return internal
    nets = [ipaddress.ip_network(n) for n in networks]
    return lambda address: any(ipaddress.ip_address(address) in net for net in nets)


def is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:
        """The lookup is shared by every connection to the host: it runs on."""


@implementer(IHostnameResolver)
class PinningResolver:
    """Resolves each host once, checks every address, keeps (pins) the answer."""

    def __init__(
        self,
        reactor: Any,
        lookup: Lookup = system_lookup,
        is_internal: Checker = internal,
        private_hosts: Iterable[str] = (),
        check: bool = True,
    ) -> None:
        self.reactor, self.check = reactor, check
        self.lookup, self.is_internal = lookup, is_internal
        self.private_hosts = {h.lower() for h in private_hosts}
        self.pinned: dict[str, list[str]] = {}
        self.refused: dict[str, AddressRefused] = {}
        self._waiting: dict[str, list[Deferred[list[str]]]] = {}

    @classmethod
    def from_settings(cls, settings: BaseSettings, reactor: Any) -> Self:
        lookup = settings.get("YUQING_DNS_LOOKUP") or system_lookup
        networks = settings.getlist("YUQING_INTERNAL_NETWORKS") or None
        return cls(
            reactor,
            load_object(lookup) if isinstance(lookup, str) else lookup,
            checker(networks),
            settings.getlist("YUQING_PRIVATE_HOSTS"),
            settings.getbool("YUQING_PIN_ADDRESSES", True),
        )

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> Self:
        # Scrapy passes its CrawlerProcess here (it has the process's settings).
        return cls.from_settings(crawler.settings, reactor)

    def install_on_reactor(self) -> None:
        """Installs this resolver unless the reactor has a pinning one already (whichever
        of the process and the middleware comes first), so there is one pin table."""
        if not isinstance(getattr(self.reactor, "nameResolver", None), PinningResolver):
            self.reactor.installNameResolver(self)

    def addresses(self, host: str) -> Deferred[list[str]]:
        """The checked addresses of ``host``, looked up on first use only; fails with
        :class:`AddressRefused` (any address internal) or :class:`DNSLookupError`."""
        host = host.lower()
        if host in self.pinned:
            return succeed(self.pinned[host])
        if host in self.refused:
            return fail(self.refused[host])
        if is_literal(host):
            return succeed([host])  # no DNS; literals are checked by the middleware
        d: Deferred[list[str]] = Deferred()
        waiting = self._waiting.setdefault(host, [])
        waiting.append(d)
        if len(waiting) == 1:
            pool = self.reactor.getThreadPool()
            looked = deferToThreadPool(self.reactor, pool, self.lookup, host)
            looked.addBoth(self._answered, host)
        return d

    def _answered(self, answer: Sequence[str] | Failure, host: str) -> None:
        waiting = self._waiting.pop(host, [])
        result: list[str] | Failure
        if isinstance(answer, Failure):
            # Not kept: nothing was pinned, a later request may look it up again.
            result = Failure(DNSLookupError(f"{host}: {answer.value}"))
        elif not answer:
            result = Failure(DNSLookupError(f"{host}: no addresses"))
        else:
            found = [str(a) for a in answer]
            bad = [a for a in found if self.is_internal(a)]
            if bad and self.check and host not in self.private_hosts:
                self.refused[host] = AddressRefused(host, bad)
                result = Failure(self.refused[host])
            else:
                self.pinned[host] = found
                result = found
        for d in waiting:
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(result)

    def resolveHostName(
        self,
        resolutionReceiver: Any,  # IResolutionReceiver (zope interfaces are untyped)
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> Any:  # IHostResolution
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)

        def deliver(found: list[str] | Failure) -> None:
            if not isinstance(found, Failure):
                for address in found:
                    kind: Any = IPv6Address if ":" in address else IPv4Address
                    if addressTypes is None or kind in addressTypes:
                        resolutionReceiver.addressResolved(kind("TCP", address, portNumber))
            resolutionReceiver.resolutionComplete()  # no address: a DNSLookupError

        self.addresses(hostName).addBoth(deliver)
        return resolution


def resolver_of(crawler: Crawler) -> PinningResolver:
    """The reactor's pinning resolver, installed now if the process did not (a runner
    that does not install ``TWISTED_DNS_RESOLVER``)."""
    from twisted.internet import reactor

    if not isinstance(reactor.nameResolver, PinningResolver):
        PinningResolver.from_settings(crawler.settings, reactor).install_on_reactor()
    resolver: PinningResolver = reactor.nameResolver
    return resolver


class PinningMiddleware:
    """Checks every request's host before it is downloaded (see the module's doc)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.own_literals: set[str] | None = None

    @property
    def resolver(self) -> PinningResolver:
        return resolver_of(self.crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("YUQING_PIN_ADDRESSES", True):
            raise NotConfigured("address pinning is off (YUQING_PIN_ADDRESSES)")
        return cls(crawler)

    def _trusted_literals(self) -> set[str]:
        """Address literals of the source's start URLs (checked when it was saved)."""
        if self.own_literals is None:
            source = getattr(self.crawler.spider, "source", None)
            urls = getattr(source, "start_urls", [])
            hosts = {(urlsplit(u).hostname or "").lower() for u in urls}
            self.own_literals = {h for h in hosts if is_literal(h)}
        return self.own_literals

    async def process_request(self, request: Request) -> None:
        host = (urlsplit(request.url).hostname or "").lower()
        if not host or urlsplit(request.url).scheme not in ("http", "https"):
            return
        if is_literal(host):
            trusted = self._trusted_literals() | self.resolver.private_hosts
            if host not in trusted and self.resolver.is_internal(host):
                raise AddressRefused(host, [host])
            return
        await maybe_deferred_to_future(self.resolver.addresses(host))
