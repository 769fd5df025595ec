"""Address pinning against DNS rebinding: each host is looked up once, checked, and the
checked addresses are the ones the crawl connects to.

:class:`PinningResolver` is the crawl process's name resolver (Scrapy's
``TWISTED_DNS_RESOLVER``): the first request for a host name looks it up (in a thread) and
keeps the answer; every later connection to that host, redirects and followed links
included, gets the kept addresses and no second lookup that DNS could answer differently.
A name with an internal address (:func:`crawler.urls.internal`, the check source creation
uses) gets no address at all, so nothing connects to it, unless a crawl allowed it.

:class:`PinningMiddleware` (a downloader middleware after the offsite filter and before
robots.txt) asks the resolver for every request's host before it is downloaded and
refuses the request when any address is internal: :class:`AddressRefused`, a run error
naming the host and the internal addresses. Allowed to be internal are the hosts an admin
allowed when saving the source: its start URLs' address literals (no DNS to rebind) and
its start URLs' names when the source has ``allow_private`` (an admin's permission, a
field of the source), and the names
in ``YUQING_PRIVATE_HOSTS``. Any other literal, a redirect to ``http://10.0.0.1/`` say, is
refused like a name.

An answer is kept for ``YUQING_PIN_SECONDS`` (1800, the longest a run lasts): in a
long-lived worker (many crawls in one reactor) a later crawl may look a name up again,
and that answer is checked the same way before anything connects to it.

Settings: ``YUQING_PIN_ADDRESSES`` (on; off: no refusals, answers still pinned),
``YUQING_DNS_LOOKUP`` (a callable or its dotted path taking a host name and returning its
addresses; None: the system's ``getaddrinfo``), ``YUQING_INTERNAL_NETWORKS`` (CIDR networks
treated as internal in place of the standard check; tests use it to keep traffic on
127.0.0.1), ``YUQING_PRIVATE_HOSTS`` (hosts that may have internal addresses in every crawl).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IAddress, IHostnameResolver, IHostResolution
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from zope.interface import implementer

from crawler.urls import Lookup, internal, system_lookup

Checker = Callable[[str], bool]
# How long an answer is kept: the longest a run lasts (CLOSESPIDER_TIMEOUT), so a run looks
# each name up once, and a long-lived worker follows a site that moves.
PIN_SECONDS = 1800.0


class AddressRefused(IgnoreRequest):
    """A request refused because its host is, or resolves to, an internal address."""

    def __init__(self, host: str, addresses: Iterable[str]) -> None:
        self.host, self.addresses = host, sorted(addresses)
        shown = ", ".join(self.addresses)
        super().__init__(
            f"refused: {host} resolves to a private, loopback or link-local address "
            f"({shown}); not fetched (DNS rebinding or an internal redirect)"
        )


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
    """Resolves each host once and keeps (pins) the answer; connections to a host with an
    internal address get no address unless a crawl's middleware allowed that host."""

    def __init__(
        self,
        reactor: Any,
        lookup: Lookup = system_lookup,
        is_internal: Checker = internal,
        check: bool = True,
        pin_seconds: float = PIN_SECONDS,
    ) -> None:
        self.reactor, self.check, self.pin_seconds = reactor, check, pin_seconds
        self.lookup, self.is_internal = lookup, is_internal
        self.pinned: dict[str, tuple[list[str], float]] = {}  # host -> answer, until
        self.allowed: set[str] = set()  # names whose internal addresses a crawl allowed
        self._waiting: dict[str, list[Deferred[list[str]]]] = {}

    @classmethod
    def from_settings(cls, settings: BaseSettings, reactor: Any) -> Self:
        lookup = settings.get("YUQING_DNS_LOOKUP") or system_lookup
        networks = settings.getlist("YUQING_INTERNAL_NETWORKS") or None
        return cls(
            reactor,
            load_object(lookup) if isinstance(lookup, str) else lookup,
            checker(networks),
            settings.getbool("YUQING_PIN_ADDRESSES", True),
            settings.getfloat("YUQING_PIN_SECONDS", PIN_SECONDS),
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
        """All the addresses of ``host``, looked up on first use only (a lookup in flight
        is shared) and kept for ``pin_seconds``; fails with :class:`DNSLookupError`. A
        literal is its own address."""
        host = host.lower()
        found = self.cached(host)
        if found is not None:
            return succeed(found)
        d: Deferred[list[str]] = Deferred()
        waiting = self._waiting.setdefault(host, [])
        waiting.append(d)
        if len(waiting) == 1:
            pool = self.reactor.getThreadPool()
            looked = deferToThreadPool(self.reactor, pool, self.lookup, host)
            looked.addBoth(self._answered, host)
        return d

    def cached(self, host: str) -> list[str] | None:
        """The kept answer of ``host`` (lower case), if it has one still valid."""
        found, until = self.pinned.get(host, ([], 0.0))
        if found and self.reactor.seconds() < until:
            return found
        return [host] if is_literal(host) else None

    def internal_of(self, addresses: Iterable[str]) -> list[str]:
        """Those of ``addresses`` that are internal."""
        return [a for a in addresses if self.is_internal(a)]

    def allow(self, host: str) -> None:
        """Let connections to ``host`` use its internal addresses (an admin allowed it)."""
        self.allowed.add(host.lower())

    def _answered(self, answer: Sequence[str] | Failure, host: str) -> None:
        waiting = self._waiting.pop(host, [])
        result: list[str] | Failure
        if isinstance(answer, Failure):
            # Not kept: nothing was pinned, a later request may look it up again.
            result = Failure(DNSLookupError(f"{host}: {answer.value}"))
        elif not answer:
            result = Failure(DNSLookupError(f"{host}: no addresses"))
        else:
            result = [str(a) for a in answer]
            self.pinned[host] = (result, self.reactor.seconds() + self.pin_seconds)
        for d in waiting:
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(result)

    def _connectable(self, host: str, found: list[str]) -> list[str]:
        """What a connection to ``host`` may use: nothing if an address is internal and
        no crawl allowed the host (the middleware refuses such requests first; this holds
        for any connection that does not pass it)."""
        if not self.check or host.lower() in self.allowed or is_literal(host):
            return found
        return [] if self.internal_of(found) else found

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
                for address in self._connectable(hostName, found):
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
        self.private_hosts = {h.lower() for h in crawler.settings.getlist("YUQING_PRIVATE_HOSTS")}
        self.permitted: dict[str, bool] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("YUQING_PIN_ADDRESSES", True):
            raise NotConfigured("address pinning is off (YUQING_PIN_ADDRESSES)")
        return cls(crawler)

    @property
    def resolver(self) -> PinningResolver:
        return resolver_of(self.crawler)

    def process_request(self, request: Request) -> Coroutine[Any, Any, None] | None:
        # Most requests go to a pinned host: judged at once, no coroutine, no loop wait.
        parts = urlsplit(request.url)
        host = (parts.hostname or "").lower()
        if not host or parts.scheme not in ("http", "https"):
            return None
        found = self.resolver.cached(host)
        if found is None:
            return self._looked_up(host)
        self._judge(host, found)
        return None

    async def _looked_up(self, host: str) -> None:
        self._judge(host, await maybe_deferred_to_future(self.resolver.addresses(host)))

    def _judge(self, host: str, found: list[str]) -> None:
        """Refuses ``host`` if an address in ``found`` is internal and not permitted."""
        bad = self.resolver.internal_of(found)
        if bad and not self._permitted(host):
            raise AddressRefused(host, bad)
        if bad and not is_literal(host):
            self.resolver.allow(host)

    def _permitted(self, host: str) -> bool:
        """Whether ``host`` may have internal addresses in this crawl: it is in
        ``YUQING_PRIVATE_HOSTS``, or it is a host of the source's start URLs and either an
        address literal (checked, or allowed, when the source was saved; no DNS to
        rebind) or a name of a source an admin allowed private addresses for (its
        ``allow_private``)."""
        if host in self.private_hosts:
            return True
        if host not in self.permitted:
            source = getattr(self.crawler.spider, "source", None)
            own = _hosts(getattr(source, "start_urls", []))
            if host not in own or source is None:
                self.permitted[host] = False
            elif is_literal(host):
                self.permitted[host] = True
            else:
                self.permitted[host] = bool(getattr(source, "allow_private", False))
        return self.permitted[host]


def _hosts(urls: Iterable[str]) -> set[str]:
    return {(urlsplit(u).hostname or "").lower() for u in urls if isinstance(u, str)}
