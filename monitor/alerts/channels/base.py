"""What every notification channel is: a small class that renders a
:class:`~monitor.alerts.notice.Notice` its own way and delivers it, saying how it went
with an exception a sender can act on (retry later, wait out a rate limit, give up).

A channel is built from its stored configuration (:class:`~store.model.ChannelConfig`:
settings and write-only secrets, each kind validating its own with pydantic) and the
sender's shared HTTP client; it keeps no state between deliveries except connections.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.alerts.notice import Notice
from monitor.alerts.settings import clock_time
from store.secrets import Redactor

Clock = Callable[[], datetime]
PHONE = re.compile(r"^\+?\d{5,20}$")


API_WORD = 12  # letters: the longest last path word of a webhook that is not a secret


class DeliveryError(Exception):
    """A delivery did not go out; the message says why in words an operator reads, with
    the platform's own code where it gave one. In English, as the domain's refusals: the
    console and the ``yuqing`` command show it in Chinese through
    :mod:`api.console.messages`, and the platform's own words stay as it said them."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.message, self.code = message, code


class PermanentFailure(DeliveryError):
    """Trying again will not help (a wrong secret, a removed robot, a refused number):
    the delivery goes to the dead-letter list."""


class TransientFailure(DeliveryError):
    """The platform is unreachable, answered 5xx or is busy: retry with backoff."""


class RateLimited(TransientFailure):
    """The platform's own rate limit answered: wait ``retry_after`` seconds. Such an
    answer does not count as a failed attempt."""

    def __init__(self, message: str, retry_after: float, code: str = "") -> None:
        super().__init__(message, code)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    """At most ``count`` messages in any ``seconds`` to one destination."""

    count: int
    seconds: float


@dataclass
class Outgoing:
    """One delivery as a channel sends it: the notice (merged if it stands for several),
    to whom within the channel, its acknowledge link and its idempotency key."""

    notice: Notice
    to: str
    ack_url: str
    key: str
    delivery_id: str
    merged: int = 1  # deliveries this one message stands for
    # An email queued before channels: (subject, text, HTML) rendered then, sent as is.
    rendered: tuple[str, str, str] | None = None


class ChannelSettings(BaseModel):
    """Settings every channel has."""

    model_config = ConfigDict(extra="forbid")

    quiet_hours: str = Field(
        "",
        pattern=r"^$|^\d{2}:\d{2}-\d{2}:\d{2}$",
        description="HH:MM-HH:MM: hold all but critical and emergency alerts",
    )
    per_minute: int | None = Field(
        None, ge=1, le=10_000, description="rate limit, instead of the platform's"
    )

    @field_validator("quiet_hours")
    @classmethod
    def _clock(cls, value: str) -> str:
        for part in filter(None, value.split("-")):
            clock_time(part)
        return value


class NoSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Channel(ABC):
    """One configured channel. Subclasses set the class attributes and :meth:`send`."""

    kind: ClassVar[str]
    label: ClassVar[str]  # its name in the console, in Chinese
    limits: ClassVar[tuple[Limit, ...]] = ()  # what the platform enforces per destination
    merges: ClassVar[bool] = True  # held-back updates of one alert become one message
    addressed: ClassVar[bool] = False  # a route must name recipients (phones, addresses)
    Settings: ClassVar[type[ChannelSettings]] = ChannelSettings
    Secrets: ClassVar[type[BaseModel]] = NoSecrets

    def __init__(
        self, ident: str, name: str, settings: Any, secrets: Any, http: httpx.Client, clock: Clock
    ) -> None:
        self.id, self.name = ident, name
        self.settings, self.secrets = settings, secrets
        self.http, self.clock = http, clock

    @classmethod
    def check_to(cls, to: str) -> str:
        """``to`` if it is an address this channel can send to; ValueError otherwise."""
        if not cls.addressed and to:
            raise ValueError(f"{cls.kind} sends to the whole group and takes no recipient ({to})")
        if cls.addressed and not to:
            raise ValueError(f"{cls.kind} needs a recipient")
        return to

    def redact(self, text: str) -> str:
        """``text`` without this channel's secrets (also the keys and tokens inside its
        webhook addresses): what a delivery's recorded error may say."""
        values = [str(v) for v in (self.secrets.model_dump().values() if self.secrets else [])]
        for value in list(values):
            values += [v for _, v in parse_qsl(urlsplit(value).query)]
            last = urlsplit(value).path.rsplit("/", 1)[-1]
            # Feishu's token ends the path; DingTalk's and WeCom's path ends in the API's own
            # word (send), which masked would garble the reason (DingTalk 130101: ***ing).
            # A short word of letters is an API's word; a token is long or has digits.
            if not (last.isalpha() and len(last) <= API_WORD):
                values.append(last)
        return Redactor(values)(text)

    def rate_limits(self) -> tuple[Limit, ...]:
        mine = self.settings.per_minute
        return (Limit(mine, 60.0),) if mine else self.limits

    @abstractmethod
    def send(self, out: Outgoing) -> None:
        """Deliver ``out``; returns once the platform accepted it, else raises a
        :class:`DeliveryError`."""

    def close(self) -> None:  # noqa: B027 - most channels hold nothing between sends
        """Release connections held for a batch."""

    # -- what the HTTP channels share ----------------------------------------------------

    def post(
        self,
        url: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        method: str = "POST",
    ) -> httpx.Response:
        """Send the request; network errors, 5xx and 429 become transient failures."""
        where = _host(url)
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        try:
            answer = self.http.request(
                method, url, content=content, data=data, params=params, headers=headers
            )
        except httpx.TimeoutException as e:
            raise TransientFailure(f"{where} did not answer (timed out): {e}") from e
        except httpx.HTTPError as e:
            raise TransientFailure(f"cannot connect to {where}: {e}") from e
        if answer.status_code == 429:
            wait = _retry_after(answer.headers.get("Retry-After"), 60.0)
            raise RateLimited(f"{where} is rate limiting (HTTP 429)", wait, "429")
        if answer.status_code >= 500:
            raise TransientFailure(
                f"{where} server error HTTP {answer.status_code}: {_excerpt(answer)}",
                str(answer.status_code),
            )
        return answer

    def answer_json(self, answer: httpx.Response) -> dict[str, Any]:
        """The JSON object a platform answered; a transient failure if it is not one (a
        proxy's error page, say)."""
        try:
            body = answer.json()
        except ValueError as e:
            raise TransientFailure(
                f"the answer of {_host(str(answer.url))} is not JSON (HTTP {answer.status_code}):"
                f" {_excerpt(answer)}"
            ) from e
        if not isinstance(body, dict):
            raise TransientFailure(f"the answer of {_host(str(answer.url))} is not a JSON object")
        return body


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _excerpt(answer: httpx.Response, limit: int = 200) -> str:
    return answer.text[:limit].replace("\n", " ")


def _retry_after(value: str | None, default: float) -> float:
    try:
        return max(1.0, float(value)) if value else default
    except ValueError:
        return default


def check_url(value: str, *, query: str = "", path_prefix: str = "") -> str:
    """``value`` if it is an http(s) URL (with the ``query`` parameter or under
    ``path_prefix`` if given); ValueError naming what is missing."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("not an http(s) address")
    if query and f"{query}=" not in parts.query:
        raise ValueError(f"the address has no {query} parameter")
    if path_prefix and not parts.path.startswith(path_prefix):
        raise ValueError(f"the path should start with {path_prefix}")
    return value.strip()


def mask(value: str) -> str:
    """A secret as the console and API show it: set or not, and its last four
    characters so two can be told apart."""
    if not value:
        return ""
    return "●●●●" + value[-4:] if len(value) > 8 else "●●●●"
