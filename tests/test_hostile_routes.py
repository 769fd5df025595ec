"""Property: whatever an admin sends to any route of the API or the console (huge strings,
NUL and control characters, odd Unicode, deep JSON, wrong types, broken bodies and files),
the answer is never a 5xx. Every route of the app's URL map is walked, so a new route is
covered without being listed here."""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from api_support import Browser, make_app, signed_in
from apiflask import APIFlask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import open_store

# Not walked: signing out would end the admin's session the walk runs in; static files
# are served by Flask itself.
SKIPPED = {("POST", "/logout"), ("GET", "/static/<path:filename>")}
SEEDED = ["地名", "火灾", "r1", "viewer1", "admin-x"]  # objects that exist, by name

ODD = [
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u202e\u202d",  # bidi overrides
    "\ufeff",
    "\ud800",  # a lone surrogate (valid in JSON text, not in UTF-8)
    "𝕏" * 3,
    "Z\u0351\u0352\u0353\u0354" * 50,  # stacked combining marks
    "../../etc/passwd",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x")',
    "%00%2e%2e%2f",
    "1e309",
    "-0",
    "",
]
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(ODD),
    st.builds(lambda c, n: c * n, st.sampled_from(["A", "潼", "\x00", "(", "@", "\\"]),
              st.sampled_from([1000, 30_000])),
)  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)


def _values(fields: list[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(fields) | hostile_text, inner, max_size=4),
        ),
        max_leaves=12,
    )


def _fields(app: APIFlask) -> list[str]:
    """Every property name of the API's request and answer schemas."""
    found: set[str] = set()
    for schema in app.spec["components"]["schemas"].values():  # type: ignore[index]
        found.update(schema.get("properties", {}))
    return sorted(found) or ["name"]


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[APIFlask, Browser]]:
    tmp = Path(tmp_path_factory.mktemp("hostile"))
    store = open_store(f"sqlite:///{tmp / 'yuqing.db'}")
    app = make_app(store, tmp)
    admin = signed_in(app, "admin")
    group = {"name": "地名", "category": "region", "words": ["潼南"], "parent": 0}
    assert admin.post("/api/keywords/groups", json=group).status_code == 201
    rule = {"name": "r1", "expression": "@地名 火灾", "parent": 1}
    assert admin.post("/api/keywords/rules", json=rule).status_code == 201
    yield app, admin
    store.close()


def _routes() -> list[tuple[str, str]]:
    app = make_app(open_store("sqlite:///:memory:"), Path(tempfile.mkdtemp()))
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) not in SKIPPED:
                out.append((method, rule.rule))
    return sorted(out)


_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _path(rule: str, draw: st.DrawFn) -> str:
    def value(match: re.Match[str]) -> str:
        if match.group(1) == "int":
            return str(draw(st.integers(min_value=0, max_value=2**70)))
        text = draw(st.sampled_from(SEEDED) | hostile_text.map(lambda t: t[:3000]))
        return quote(_bytes(text.replace("admin1", "x") or "x"), safe="")

    return _PARAM.sub(value, rule)


@st.composite
def requests(draw: st.DrawFn, rule: str, fields: list[str]) -> dict[str, Any]:
    path = _path(rule, draw)
    query = draw(st.dictionaries(st.sampled_from(fields) | hostile_text, hostile_text, max_size=3))
    kind = draw(st.sampled_from(["json", "raw", "deep", "form", "file", "none"]))
    sent: dict[str, Any] = {"path": path, "query_string": _query(query)}
    if kind == "json":
        # Not ASCII-escaped, a lone surrogate becomes bytes that are not UTF-8.
        sent["data"] = _bytes(json.dumps(draw(_values(fields)), ensure_ascii=draw(st.booleans())))
        sent["content_type"] = "application/json"
    elif kind == "raw":
        sent["data"] = draw(st.binary(max_size=200))
        sent["content_type"] = draw(
            st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"])
        )
    elif kind == "deep":
        depth = draw(st.sampled_from([50, 1000, 50_000]))
        sent["data"] = '{"a":' * depth + "1" + "}" * depth
        sent["content_type"] = "application/json"
    elif kind == "form":
        form = draw(
            st.dictionaries(st.sampled_from(fields) | hostile_text, hostile_text, max_size=5)
        )
        # A form is sent encoded: text that cannot be UTF-8 cannot be in it.
        sent["data"] = {k.replace("\ud800", "?"): v.replace("\ud800", "?") for k, v in form.items()}
    elif kind == "file":
        name = draw(st.sampled_from(["x.xlsx", "x.csv", "x.txt", "x.json", "x.yaml", "../x", ""]))
        body = draw(st.binary(max_size=300) | st.just(b"PK\x03\x04" + b"\x00" * 200))
        fmt = draw(hostile_text)[:20].replace("\ud800", "?")
        sent["data"] = {"file": (io.BytesIO(body), name), "format": fmt}
        sent["content_type"] = "multipart/form-data"
    return sent


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _query(values: dict[str, str]) -> str:
    return "&".join(f"{quote(_bytes(k))}={quote(_bytes(v))}" for k, v in values.items())


ROUTES = _routes()


def test_every_route_is_walked() -> None:
    assert len(ROUTES) > 140
    assert ("DELETE", "/api/users/<name>/sessions") in ROUTES


@pytest.mark.parametrize(("method", "rule"), ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_no_route_answers_hostile_input_with_a_5xx(
    walked: tuple[APIFlask, Browser], method: str, rule: str
) -> None:
    app, admin = walked
    fields = _fields(app)

    @settings(
        max_examples=8,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(sent=requests(rule, fields))
    def attempt(sent: dict[str, Any]) -> None:
        path = sent.pop("path")
        answer = admin.send(method, path, **sent)
        assert answer.status_code < 500, (method, path, answer.get_data(as_text=True)[:300])

    attempt()
