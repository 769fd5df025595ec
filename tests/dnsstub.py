"""A DNS stub for crawl processes (``-s YUQING_DNS_LOOKUP=dnsstub.lookup``, with this
directory on ``PYTHONPATH``): no real DNS. The file named by ``$YUQING_TEST_DNS`` maps host
names to a list of answers, each a list of addresses; the n-th lookup of a name in the
process gets the n-th answer (the last one repeats), so a name can answer 127.0.0.1 first
and an internal address next, as a rebinding attacker's DNS does. Every lookup is appended
to the file's ``.log`` sibling, one name per line."""

from __future__ import annotations

import json
import os
import socket
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

_asked: Counter[str] = Counter()


def write(path: Path, answers: dict[str, list[list[str]]]) -> None:
    path.write_text(json.dumps(answers), encoding="utf-8")


def lookups(path: Path) -> list[str]:
    """The names looked up so far, in order."""
    log = path.with_suffix(".log")
    return log.read_text(encoding="utf-8").split() if log.exists() else []


def lookup(host: str) -> list[str]:
    path = Path(os.environ["YUQING_TEST_DNS"])
    with path.with_suffix(".log").open("a", encoding="utf-8") as log:
        log.write(host + "\n")
    answers: list[list[str]] = json.loads(path.read_text(encoding="utf-8")).get(host, [])
    if not answers:
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: no such name in the stub")
    n = _asked[host]
    _asked[host] += 1
    return answers[min(n, len(answers) - 1)]


class Rebinding:
    """In process (a preview's ``Pins``, a renderer's lookups): answers each name's n-th
    lookup with its n-th answer (the last repeats), as :func:`lookup` does for a crawl."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers, self.asked = answers, Counter[str]()

    def __call__(self, host: str) -> Sequence[str]:
        n = self.asked[host]
        self.asked[host] += 1
        found = self.answers[host]
        return found[min(n, len(found) - 1)]
