"""The keyword library compiled for matching items.

All words of all enabled rules go into one :class:`~rules.scanner.Scanner`;
a text is normalised and scanned once per field, and only the rules that one
of the found words belongs to are evaluated (:mod:`rules.evaluate`), over the hit
positions. The same rule as a stored-item query is :func:`rule_query`: it selects the
same items, because the stores index :func:`rules.tokens.index_text`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from keywords.model import Library, Rule
from rules.evaluate import Span, evaluate
from rules.normalize import NormalizedText, normalize, normalize_with_offsets
from rules.scanner import Scanner
from rules.syntax import (
    FIELDS,
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
from rules.tokens import index_form

SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


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
    group_terms: dict[str, frozenset[int]]

    @property
    def text(self) -> str:
        return self.normalized.text

    def has(self, leaf: Word | GroupRef) -> bool:
        if isinstance(leaf, Word):
            return int(leaf.text) in self.found
        return leaf.name in self.groups

    def spans(self, leaf: Word | GroupRef) -> Sequence[Span]:
        # Walks the field's few found words, not a group's many words.
        if isinstance(leaf, Word):
            return [(s, e) for s, e, _, _ in self.found.get(int(leaf.text), ())]
        terms = self.group_terms[leaf.name]
        return [(s, e) for t, found in self.found.items() if t in terms for s, e, _, _ in found]


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
            if not evaluate(compiled.node, scanned):
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
        return _Field(normalized, found, groups, self._group_sets)

    def _terms_of(self, node: Node) -> list[int]:
        if isinstance(node, Word):
            return [int(node.text)]
        if isinstance(node, GroupRef):
            return self._groups[node.name]
        assert isinstance(node, Or)
        return [t for c in node.children for t in self._terms_of(c)]


def rule_query(library: Library, rule: Rule) -> str:
    """``rule`` as a search expression over stored normalised text (``ItemQuery(q=...,
    normalized=True)``): groups expanded, words normalised, scope applied.

    Selects the same items as :meth:`Matcher.match`, except that ``NEAR/S`` and ``NEAR/P``
    become a wide ``NEAR/n`` (a superset), so callers confirm those in process."""
    groups = {g.name: g for g in library.groups if g.enabled}
    node = parse(rule.expression)
    if rule.scope != "both":
        node = scoped(rule.scope, node)
    node = expand_groups(node, lambda name: list(dict.fromkeys(groups[name].texts())))
    return to_text(index_form(node))


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
