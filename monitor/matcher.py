"""The keyword library compiled for matching items.

All words of all enabled rules go into one :class:`~monitor.scanner.Scanner`;
a text is normalised and scanned once per field, and only the rules that one
of the found words belongs to are evaluated, over the hit positions.

``NEAR/n`` counts the *tokens* between the two words in the normalised text —
a Chinese character is one token, so is a run of letters or digits, and so is
a run of punctuation or a line break between Chinese characters — which is how
the search backends count positions in :func:`index_text`, so a rule selects the
same items in process and as a stored-item query (:func:`rule_query`).
``NEAR/S`` needs no sentence end (。!?; or a line break) between the words,
``NEAR/P`` no line break.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from keywords.model import Library, Rule
from monitor.normalize import NormalizedText, normalize, normalize_with_offsets
from monitor.scanner import Scanner
from store.query import (
    And,
    GroupRef,
    Near,
    Node,
    Not,
    Or,
    Scoped,
    Word,
    expand_groups,
    parse,
    scoped,
    to_text,
    walk,
)

FIELDS = ("title", "body")
SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}
_SENTENCE_END = frozenset("。!?;\n\r\u2028\u2029")
_PARAGRAPH_END = frozenset("\n\r\u2028\u2029")
_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run of punctuation, or white space left between two Chinese characters (a line
# break; noise spaces are already gone), separates words: it is a token of its own.
_SEPARATOR = rf"(?:[^\w\s]|_)+|(?<=[{_HAN}])\s+(?=[{_HAN}])"
_TOKEN = re.compile(rf"[{_HAN}]|[^\W_{_HAN}]+|{_SEPARATOR}")
_SEPARATOR_RUN = re.compile(_SEPARATOR)
# Stands for a run of punctuation in stored text: the search backends drop punctuation,
# which would make 疫，情 look like 疫情 to a phrase query. A letter is a token to both
# Elasticsearch's standard tokenizer and SQLite's unicode61, and this one is very rare.
PUNCTUATION_TOKEN = "\u01c2"


@dataclass(frozen=True)
class Leaf:
    """A word a rule needs (not one it excludes), where it looks for it."""

    term: int
    text: str
    group: str | None
    fields: tuple[str, ...]


@dataclass
class CompiledRule:
    rule: Rule
    node: Node
    leaves: list[Leaf]


@dataclass
class MatchResult:
    version: int
    rules: list[str] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)
    severity: str | None = None


@dataclass
class _Field:
    """One field of one text, scanned: term -> occurrences (normal and original spans)."""

    normalized: NormalizedText
    found: dict[int, list[tuple[int, int, int, int]]]
    groups: set[str]  # groups with a word in this field

    def within(self, end: int, start: int, limit: int) -> bool:
        """Whether at most ``limit`` tokens lie in ``[end, start)``; reads no further
        than ``limit + 1`` tokens, so far-apart pairs cost little."""
        if start - end <= limit:
            return True  # every token is at least one character
        # No endpos: the separator's lookahead must see the character at ``start``.
        for count, token in enumerate(_TOKEN.finditer(self.normalized.text, end), 1):
            if token.start() >= start:
                return True
            if count > limit:
                return False
        return True


class Matcher:
    """An immutable, thread-safe compiled library (``version`` says which one)."""

    def __init__(self, library: Library, version: int = 0) -> None:
        self.version = version
        self.library = library
        self._terms: dict[str, int] = {}  # normal form -> term id
        self._texts: list[str] = []  # term id -> the library text first seen for it
        self._groups: dict[str, list[int]] = {}
        self._group_sets: dict[str, frozenset[int]] = {}
        self._groups_of: dict[int, list[str]] = {}  # term -> enabled groups holding it
        for group in library.groups:
            if group.enabled:
                terms = [self._term(t) for t in group.texts()]
                self._groups[group.name] = terms
                self._group_sets[group.name] = frozenset(terms)
                for term in self._group_sets[group.name]:
                    self._groups_of.setdefault(term, []).append(group.name)
        self.rules: list[CompiledRule] = []
        self._rules_by_term: dict[int, list[int]] = {}
        used: set[int] = set()  # every word a rule looks for, excluded ones too
        for rule in library.rules:
            if rule.enabled:
                used |= self._add_rule(rule)
        self._scanner: Scanner[int] = Scanner((t, self._texts[t]) for t in sorted(used))

    def _term(self, text: str) -> int:
        key = normalize(text)
        if key not in self._terms:
            self._terms[key] = len(self._texts)
            self._texts.append(text)
        return self._terms[key]

    def _add_rule(self, rule: Rule) -> set[int]:
        node = parse(rule.expression)
        if rule.scope != "both":
            node = scoped(rule.scope, node)
        node = self._bind(node)
        leaves = list(self._leaves(node, FIELDS))
        index = len(self.rules)
        self.rules.append(CompiledRule(rule, node, leaves))
        # A rule can only match if one of the words it needs is present.
        for term in {leaf.term for leaf in leaves}:
            self._rules_by_term.setdefault(term, []).append(index)
        return {t for n in walk(node) if isinstance(n, Word | GroupRef) for t in self._terms_of(n)}

    def _bind(self, node: Node) -> Node:
        """Words become term ids (kept as ``Word`` text of the id) so evaluation is
        by integer; groups stay references, resolved through ``_groups``."""
        if isinstance(node, Word):
            return Word(str(self._term(node.text)))
        if isinstance(node, GroupRef):
            if node.name not in self._groups:
                raise ValueError(f"unknown or disabled group @{node.name}")
            return node
        if isinstance(node, Not):
            return Not(self._bind(node.child))
        if isinstance(node, Scoped):
            return Scoped(node.field, self._bind(node.child))
        if isinstance(node, And):
            return And(tuple(self._bind(c) for c in node.children))
        if isinstance(node, Or):
            return Or(tuple(self._bind(c) for c in node.children))
        assert isinstance(node, Near)
        return Near(self._bind(node.left), self._bind(node.right), node.unit, node.distance)

    def _leaves(self, node: Node, fields: tuple[str, ...]) -> Iterator[Leaf]:
        if isinstance(node, Word):
            term = int(node.text)
            yield Leaf(term, self._texts[term], None, fields)
        elif isinstance(node, GroupRef):
            for term in self._groups[node.name]:
                yield Leaf(term, self._texts[term], node.name, fields)
        elif isinstance(node, Scoped):
            yield from self._leaves(node.child, (node.field,))
        elif isinstance(node, And | Or):
            for child in node.children:
                yield from self._leaves(child, fields)
        elif isinstance(node, Near):
            yield from self._leaves(node.left, fields)
            yield from self._leaves(node.right, fields)

    def match(self, title: str, body: str) -> MatchResult:
        """Which enabled rules ``title``/``body`` match, with every hit of their words
        (offsets into the original strings)."""
        scanned = {name: self._scan(text) for name, text in zip(FIELDS, (title, body), strict=True)}
        candidates = sorted(
            {r for f in scanned.values() for t in f.found for r in self._rules_by_term.get(t, ())}
        )
        result = MatchResult(self.version)
        for index in candidates:
            compiled = self.rules[index]
            if not self._eval(compiled.node, FIELDS, scanned):
                continue
            result.rules.append(compiled.rule.name)
            severity = compiled.rule.severity
            if (
                result.severity is None
                or SEVERITY_ORDER[severity] > SEVERITY_ORDER[result.severity]
            ):
                result.severity = severity
            seen: set[tuple[str, int, int]] = set()
            for leaf in compiled.leaves:
                for name in leaf.fields:
                    for _, _, start, end in scanned[name].found.get(leaf.term, ()):
                        if (name, start, end) in seen:
                            continue
                        seen.add((name, start, end))
                        result.hits.append(
                            {
                                "word": leaf.text,
                                "group": leaf.group,
                                "rule": compiled.rule.name,
                                "field": name,
                                "start": start,
                                "end": end,
                            }
                        )
        return result

    def _scan(self, text: str) -> _Field:
        normalized = normalize_with_offsets(text)
        found: dict[int, list[tuple[int, int, int, int]]] = {}
        for hit in self._scanner.scan_normalized(normalized):
            found.setdefault(hit.word_id, []).append(
                (hit.norm_start, hit.norm_end, hit.start, hit.end)
            )
        groups = {g for t in found for g in self._groups_of.get(t, ())}
        return _Field(normalized, found, groups)

    def _terms_of(self, node: Node) -> list[int]:
        if isinstance(node, Word):
            return [int(node.text)]
        if isinstance(node, GroupRef):
            return self._groups[node.name]
        assert isinstance(node, Or)
        return [t for c in node.children for t in self._terms_of(c)]

    def _eval(self, node: Node, fields: tuple[str, ...], scanned: dict[str, _Field]) -> bool:
        if isinstance(node, Word):
            return any(int(node.text) in scanned[f].found for f in fields)
        if isinstance(node, GroupRef):
            return any(node.name in scanned[f].groups for f in fields)
        if isinstance(node, Scoped):
            return self._eval(node.child, (node.field,), scanned)
        if isinstance(node, Not):
            return not self._eval(node.child, fields, scanned)
        if isinstance(node, And):
            return all(self._eval(c, fields, scanned) for c in node.children)
        if isinstance(node, Or):
            return any(self._eval(c, fields, scanned) for c in node.children)
        assert isinstance(node, Near)
        return any(self._near(node, scanned[f]) for f in fields)

    def _occurrences(self, node: Node, scanned: _Field) -> list[tuple[int, int, int, int]]:
        """Where the words of a NEAR side occur (walking the field's few found words,
        not a group's many words)."""
        if isinstance(node, Word):
            return scanned.found.get(int(node.text), [])
        if isinstance(node, GroupRef):
            terms = self._group_sets[node.name]
            return [s for t, spans in scanned.found.items() if t in terms for s in spans]
        assert isinstance(node, Or)
        return [s for c in node.children for s in self._occurrences(c, scanned)]

    def _near(self, node: Near, scanned: _Field) -> bool:
        left = self._occurrences(node.left, scanned)
        right = self._occurrences(node.right, scanned)
        text = scanned.normalized.text
        for a_start, a_end, _, _ in left:
            for b_start, b_end, _, _ in right:
                if (a_start, a_end) == (b_start, b_end):
                    continue  # one occurrence is not two words
                first_end, second_start = (
                    (a_end, b_start) if a_start <= b_start else (b_end, a_start)
                )
                # Overlapping words (起火 and 火灾 in 起火灾) are next to each other.
                second_start = max(second_start, first_end)
                if node.unit == "char":
                    if scanned.within(first_end, second_start, node.distance):
                        return True
                else:
                    stops = _SENTENCE_END if node.unit == "sentence" else _PARAGRAPH_END
                    if not stops.intersection(text[first_end:second_start]):
                        return True
        return False


def index_text(text: str) -> str:
    """Normalised text as the search backends should store it (``Item.norm_title`` and
    ``Item.norm_body``) so their phrase and proximity queries see what the matcher sees."""
    return _SEPARATOR_RUN.sub(f" {PUNCTUATION_TOKEN} ", normalize(text))


def rule_query(library: Library, rule: Rule) -> str:
    """``rule`` as a search expression over stored normalised text (``ItemQuery(q=...,
    normalized=True)``): groups expanded, words normalised, scope applied.

    Selects the same items as :meth:`Matcher.match`, except that ``NEAR/S`` and ``NEAR/P``
    become ``NEAR/{NEAR_WIDE}`` (a superset), so callers confirm those in process."""
    groups = {g.name: g for g in library.groups if g.enabled}
    node = parse(rule.expression)
    if rule.scope != "both":
        node = scoped(rule.scope, node)
    node = expand_groups(node, lambda name: list(dict.fromkeys(groups[name].texts())))
    return to_text(_for_index(node))


NEAR_WIDE = 200


def _for_index(node: Node) -> Node:
    if isinstance(node, Word):
        return Word(index_text(node.text).strip())
    if isinstance(node, Not):
        return Not(_for_index(node.child))
    if isinstance(node, Scoped):
        return Scoped(node.field, _for_index(node.child))
    if isinstance(node, And):
        return And(tuple(_for_index(c) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(_for_index(c) for c in node.children))
    assert isinstance(node, Near)
    distance = node.distance if node.unit == "char" else NEAR_WIDE
    return Near(_for_index(node.left), _for_index(node.right), "char", distance)


def run_rule_tests(matcher: Matcher) -> list[tuple[str, str, str]]:
    """Failing test sentences as ``(rule, sentence, "should match" | "should not match")``.

    A test sentence stands for both the title and the body of an item."""
    failures = []
    for compiled in matcher.rules:
        rule = compiled.rule
        for sentence in rule.must_match:
            if rule.name not in matcher.match(sentence, sentence).rules:
                failures.append((rule.name, sentence, "should match"))
        for sentence in rule.must_not_match:
            if rule.name in matcher.match(sentence, sentence).rules:
                failures.append((rule.name, sentence, "should not match"))
    return failures
