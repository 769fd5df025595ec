"""Expressions compiled into query DSL, as data: user words are only ever values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rules.syntax import And, Fact, GroupRef, Near, Node, Not, Or, Scoped, Word, split_negatives
from store.errors import QueryError

if TYPE_CHECKING:
    pass

TEXT_FIELDS = ("title", "body")


def _check_word(text: str) -> None:
    if not any(ch.isalnum() for ch in text):
        raise QueryError(f"{text!r} has no letters or digits to search for", "q")


def _phrase(text: str, fields: tuple[str, ...]) -> dict[str, Any]:
    _check_word(text)
    if len(fields) == 1:
        return {"match_phrase": {fields[0]: {"query": text}}}
    return {"multi_match": {"query": text, "type": "phrase", "fields": list(fields)}}


def _interval_side(node: Node) -> dict[str, Any]:
    if isinstance(node, Or):
        return {"any_of": {"intervals": [_interval_side(c) for c in node.children]}}
    assert isinstance(node, Word)
    _check_word(node.text)
    return {"match": {"query": node.text, "ordered": True, "max_gaps": 0}}


def to_dsl(node: Node, prefix: str = "") -> dict[str, Any]:
    """Compile ``node`` over ``<prefix>title`` and ``<prefix>body`` (``norm_`` for the
    normalised copies rules run against)."""
    return _compile(node, tuple(prefix + f for f in TEXT_FIELDS), prefix)


def _compile(node: Node, fields: tuple[str, ...], prefix: str) -> dict[str, Any]:
    """Compile an expression into query DSL, as data: user words are only ever values."""
    if isinstance(node, Word):
        return _phrase(node.text, fields)
    if isinstance(node, Fact):
        return {"term": {"facts": node.name}}
    if isinstance(node, Scoped):
        return _compile(node.child, (prefix + node.field,), prefix)
    if isinstance(node, Or):
        return {
            "bool": {
                "should": [_compile(c, fields, prefix) for c in node.children],
                "minimum_should_match": 1,
            }
        }
    if isinstance(node, And):
        positive, negative = split_negatives(node.children)
        return {
            "bool": {
                "must": [_compile(c, fields, prefix) for c in positive],
                "must_not": [_compile(c, fields, prefix) for c in negative],
            }
        }
    if isinstance(node, Near):
        if node.unit != "char":
            raise QueryError("NEAR/S and NEAR/P work in rules, not in search", "q")
        rule = {
            "all_of": {
                "intervals": [_interval_side(node.left), _interval_side(node.right)],
                "max_gaps": node.distance,
                "ordered": False,
            }
        }
        per_field = [{"intervals": {f: rule}} for f in fields]
        if len(per_field) == 1:
            return per_field[0]
        return {"bool": {"should": per_field, "minimum_should_match": 1}}
    if isinstance(node, GroupRef):
        raise QueryError(f"unknown group @{node.name}", "q")
    assert isinstance(node, Not)
    raise QueryError("NOT needs words beside it", "q")
