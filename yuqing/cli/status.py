"""``yuqing status`` as text for a terminal, in the operator's language (the state itself,
and ``--json``, come from :mod:`yuqing.status`). Names the store, the API and the policies
use (a backend, an alert status, an outcome, a source id) stay as they are: they are what
``--status`` and the configuration take."""

from __future__ import annotations

from typing import Any

from yuqing.cli.errors import in_language
from yuqing.cli.words import pad, text
from yuqing.status import COUNT_CAP

HEAD = 10  # columns of a line's heading ("store", "存储")


def render(state: dict[str, Any]) -> str:
    """The state as text for a terminal."""
    store, api = state["store"], state["api"]
    if store["ok"]:
        said = text(
            "ok  {backend} {url}  {items} items",
            backend=store.get("backend"),
            url=store.get("url"),
            items=store.get("items"),
        )
        if "status" in store:
            said += text(
                "  cluster {status}, {nodes} node(s)", status=store["status"], nodes=store["nodes"]
            )
    else:
        said = text("DOWN  {error}", error=in_language(store["error"]))
    lines = [
        _line(text("store"), said),
        *(_line(text("warning"), in_language(w)) for w in store.get("warnings", [])),
        _line(
            "API",
            text("up  {url}", url=api["url"])
            if api["up"]
            else text(
                "not answering  {url}  ({error})", url=api["url"], error=in_language(api["error"])
            ),
        ),
    ]
    if "alerts" not in state:  # the store is down: nothing more to read
        return "\n".join(lines)
    emergencies = [
        text(
            "{scope} since {since} by {actor}",
            scope=e["scope"],
            since=e["since"][:16],
            actor=e["actor"],
        )
        + (text(" until {until}", until=e["until"][:16]) if e["until"] else "")
        for e in state["emergency"]
    ]
    lines += [
        _line(text("alerts"), "  ".join(f"{k} {_count(v)}" for k, v in state["alerts"].items())),
        _line(text("outbox"), "  ".join(f"{k} {v}" for k, v in state["outbox"].items())),
        _line(text("emergency"), "; ".join(emergencies) or text("off")),
        "",
        pad(text("source"), 18)
        + pad(text("every"), 6, right=True)
        + "  "
        + pad(text("last run"), 17)
        + pad(text("outcome"), 10)
        + pad(text("next run"), 17)
        + text("health"),
    ]
    for s in state["sources"]:
        every = f"{s['interval'] // 60}m" if s["enabled"] else text("off")
        lines.append(
            f"{s['id']:<18}{pad(every, 6, right=True)}  {_when(s['last_run']):<17}"
            f"{s['outcome'] or '-':<10}{_when(s['next_run']):<17}"
            f"{'; '.join(s['problems'].values()) or text('ok')}"
        )
    return "\n".join(lines)


def _line(heading: str, rest: str) -> str:
    return pad(heading, HEAD) + rest


def _count(n: int) -> str:
    return f"{n}+" if n >= COUNT_CAP else str(n)


def _when(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else "-"
