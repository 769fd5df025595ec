"""The keyword library compiled for matching items.

Compiling resolves everything a text does not change into tables, so matching a text costs
per hit, not per word of a group: each distinct pattern knows the *leaves* (a group, or a
word written in a rule) it stands for, each leaf the rules that need it, each rule the
leaves whose hits it reports. A text is normalised and scanned once per field and *view*
(groups whose options ask for the same text-side normal form share one), plus the
homophone and pinyin forms where a group asks for them. A rule is looked at only when a
leaf of its smallest *need* (leaves one of which must occur) is found and a leaf of another
need is too; a rule that is a conjunction of (possibly negated) alternatives of leaves
(``@a @b NOT @c``) is decided by bit masks of the leaves found in each field, a rule that is
one NEAR from the spans of its sides' leaves (:func:`rules.evaluate.near_spans`, mostly by
their offsets alone), and only the others (NEAR inside other operators, facts) by walking
the expression over the hit positions (:mod:`rules.evaluate`).

:meth:`Matcher.match_many` matches many items for the price of a few: their texts are
normalised and scanned as one per view and the hits handed back by offset.

The same rule as a stored-item query is :func:`rule_query`: it selects the same items for
groups with the default options, because the stores index :func:`rules.tokens.index_text`;
for other options it selects a superset that callers confirm in process (see the README).
"""

from __future__ import annotations

import gc
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from keywords.model import Library, Options, Rule
from rules.evaluate import FACTS, ItemFacts, Span, Test, compile_node, near_spans
from rules.normalize import (
    DEFAULT_VIEW,
    NormalizedText,
    View,
    normalize,
    normalize_sounds_view_default,
    normalize_with_offsets,
)
from rules.scanner import Scanner, leftmost_longest
from rules.sounds import SoundIndex
from rules.syntax import (
    FIELDS,
    And,
    Fact,
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
from rules.variants import (
    SoundForm,
    Variants,
    initials,
    sound_form,
    sound_patterns,
    split_spellings,
)
from store.model import Item

SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}
_LATIN_LETTER = re.compile("[a-z]")
Overlaps = Literal["all", "longest"]


class _NearRule(NamedTuple):
    node: Near
    fields: tuple[str, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    left_mask: int
    right_mask: int


@dataclass
class CompiledRule:
    rule: Rule
    node: Node
    # (leaf, fields, group name or None): the leaves whose hits the rule reports.
    reports: list[tuple[int, tuple[str, ...], str | None]]
    test: Test
    # Each set holds leaves one of which must occur for the rule to match (@a @b: {a}, {b}):
    # most rules a found word belongs to are passed over on these before any evaluation.
    needs: list[frozenset[int]]
    # The same as bit masks over leaves (bit ``1 << leaf``), tested against the leaves found.
    need_masks: tuple[int, ...] = ()
    # The whole rule as bit masks, where it is a conjunction of (possibly negated) sets of
    # leaves each looked for in some fields (``@a @b NOT @c``, ``title:@a (@b OR @c)``):
    # ``(title mask, body mask, wanted)``, the rule holds when each mask pair meets the
    # leaves found (in that field) exactly when ``wanted``. None: evaluated by ``test``.
    clauses: tuple[tuple[int, int, bool], ...] | None = None
    # A rule that is one NEAR (``@a NEAR/20 @b``, perhaps scoped): its sides' leaves and
    # masks and its fields, so it is decided from the hits gathered, without the tree.
    near: _NearRule | None = None


@dataclass
class MatchResult:
    version: int
    rules: list[str] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)
    severity: str | None = None


class _Entry(NamedTuple):
    """A pattern's meaning: which leaf, which library text, and how it was spelt."""

    leaf: int
    word: str  # the library text (word or alias) the hit reports
    norm: str  # that text in its leaf's view (in the sound form's view for sound patterns)
    kind: str | None  # None: the word itself (in its view); else a rules.variants kind


# One occurrence: view span, original span, entry.
_Occurrence = tuple[int, int, int, int, _Entry]
_Compiled = tuple[Scanner[_Entry], list[tuple[_Entry, ...]]]


class _View:
    """The scanners of one text-side view: words and split spellings, the sound patterns
    of pinyin and homophone groups, pinyin initials; the entries each pattern stands for."""

    def __init__(self, view: View) -> None:
        self.view = view
        # Sounds are read from the text without lookalikes and repeats (which would turn
        # ``yiqing`` into ``ylqlng`` and ``xinnian`` into ``xinian``).
        self.sound_view = view._replace(lookalikes=False, repeats=False)
        self.plain: list[tuple[str, _Entry]] = []
        self.sounds: list[tuple[str, _Entry]] = []
        self.initials: dict[str, list[_Entry]] = {}
        self.homophones = False  # some leaf matches by sound even without Latin letters
        self.scanner: _Compiled | None = None
        # Sound patterns (found and judged in bulk) and the entries of each.
        self.sound: tuple[SoundIndex, list[tuple[_Entry, ...]]] | None = None
        # By row of the sound index, two entries: a word of a homophone group as found
        # when written as it is (2 * row), and as found when heard (2 * row + 1).
        self.heard: list[_Entry] = []
        # By row: whether another row of its pattern is a word of the same leaf (words of
        # a group that sound alike): only then can two sound hits share a leaf and place.
        self.shared_rows: npt.NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)
        self.any_shared = False  # whether any row is (most libraries: none)

    def compile(self, variants: list[Variants]) -> None:
        self.scanner = _scanner(self.plain, self.view)
        if not self.sounds:
            return
        by_pattern: dict[str, list[_Entry]] = {}
        for pattern, entry in self.sounds:
            by_pattern.setdefault(pattern, []).append(entry)
        payloads = [tuple(entries) for entries in by_pattern.values()]
        written: list[list[str]] = []
        shared: list[bool] = []
        for entries in payloads:
            # Only homophone groups judge what was heard; pinyin groups find their words
            # as written with the plain scan.
            kept = [e for e in entries if variants[e.leaf].homophones]
            written.append([e.norm for e in kept])
            leaves = [e.leaf for e in kept]
            shared += (leaves.count(leaf) > 1 for leaf in leaves)
            for e in kept:
                self.heard += (e, _Entry(e.leaf, e.word, e.norm, "homophone"))
        self.sound = SoundIndex(list(by_pattern), written), payloads
        self.shared_rows = np.array(shared, dtype=np.bool_)
        self.any_shared = any(shared)


def _scanner(
    patterns: list[tuple[str, _Entry]], view: View, *, prepared: bool = False
) -> _Compiled | None:
    if not patterns:
        return None
    scanner: Scanner[_Entry] = Scanner(
        ((entry, text) for text, entry in patterns), view, normalized=prepared
    )
    return scanner, scanner.payloads


class _Field:
    """One field of one text, scanned: leaf -> occurrences; the default normal form for
    NEAR, made when first needed."""

    __slots__ = (
        "_default_leaves",
        "_reference",
        "_spans",
        "found",
        "make_reference",
        "original",
        "views",
    )

    def __init__(self, original: str, default_leaves: frozenset[int]) -> None:
        self.original = original
        self.found: dict[int, list[_Occurrence]] = {}
        self.views: dict[View, NormalizedText] = {}
        self._default_leaves = default_leaves
        self._reference: NormalizedText | None = None
        # Makes the default normal form from passes a view shared with it, if one did.
        self.make_reference: Callable[[], NormalizedText] | None = None
        # Spans by leaf, made when first asked for (after scanning; many rules ask again).
        self._spans: dict[int, list[Span]] = {}

    @property
    def reference(self) -> NormalizedText:
        """The field in the default normal form, in whose positions NEAR counts."""
        if self._reference is None:
            reference = self.views.get(DEFAULT_VIEW)
            if reference is None:
                make = self.make_reference
                reference = make() if make else normalize_with_offsets(self.original)
            self._reference = reference
        return self._reference

    @property
    def text(self) -> str:
        return self.reference.text

    def has(self, leaf: Word | GroupRef) -> bool:
        return int(leaf.text if isinstance(leaf, Word) else leaf.name) in self.found

    def spans(self, leaf: Word | GroupRef) -> Sequence[Span]:
        # The leaf's few found occurrences, not a group's many words.
        return self.leaf_spans(int(leaf.text if isinstance(leaf, Word) else leaf.name))

    def leaf_spans(self, key: int) -> list[Span]:
        """The leaf's spans in the default normal form (read only: shared by the rules)."""
        spans = self._spans.get(key)
        if spans is None:
            occurrences = self.found.get(key, ())
            if key in self._default_leaves:
                spans = [(s, e) for s, e, _, _, _ in occurrences]
            else:
                reference = self.reference
                if reference._maps or type(reference) is not NormalizedText:
                    locate = reference.locate
                    spans = [locate(a, b) for _, _, a, b, _ in occurrences]
                else:  # the default form is the text as it is (no edits): nothing to map
                    spans = [(a, b) for _, _, a, b, _ in occurrences]
            self._spans[key] = spans
        return spans


class Matcher:
    """An immutable, thread-safe compiled library (``version`` says which one)."""

    def __init__(self, library: Library, version: int = 0) -> None:
        # Compiling allocates hundreds of thousands of small objects for a large library;
        # each allocation burst would trigger a full collection walking the whole heap
        # (the library itself included), which took more time than the compiling.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._compile(library, version)
        finally:
            if collecting:
                gc.enable()

    def _compile(self, library: Library, version: int) -> None:
        self.version = version
        self.library = library
        self._leaves: dict[tuple[str, str], int] = {}  # ("group"|"word", name) -> leaf
        self._leaf_variants: list[Variants] = []
        self._groups = {g.name: g for g in library.groups if g.enabled}
        self.rules: list[CompiledRule] = []
        # Leaf -> the rules it triggers, each with the mask of another of its needs (-1 if
        # it has no other), tested before the rule is looked at.
        self._rules_by_leaf: dict[int, list[tuple[int, int]]] = {}
        self._fact_rules: list[int] = []
        for rule in library.rules:
            if rule.enabled:
                self._add_rule(rule)
        self._rule_masks()
        self._views: dict[View, _View] = {}
        self._leaf_view: list[View] = []
        for (kind, name), leaf in sorted(self._leaves.items(), key=lambda x: x[1]):
            variants = self._leaf_variants[leaf]
            texts = self._groups[name].texts() if kind == "group" else [name]
            self._add_words(leaf, variants, texts)
        for view in self._views.values():
            view.compile(self._leaf_variants)
        # Leaves whose view is the default one: their spans are already in the positions
        # NEAR counts in.
        self._default_leaves = frozenset(
            leaf for leaf, view in enumerate(self._leaf_view) if view == DEFAULT_VIEW
        )
        self._bits = [1 << leaf for leaf in range(len(self._leaf_variants))]  # by leaf

    # --- compiling ----------------------------------------------------------------------------

    def _leaf(self, kind: str, name: str) -> int:
        key = (kind, name)
        if key not in self._leaves:
            self._leaves[key] = len(self._leaf_variants)
            options = self._groups[name].options if kind == "group" else Options()
            self._leaf_variants.append(options.variants())
        return self._leaves[key]

    def _add_words(self, leaf: int, variants: Variants, texts: list[str]) -> None:
        view = variants.view
        self._leaf_view.append(view)
        compiled = self._views.get(view)
        if compiled is None:
            compiled = self._views[view] = _View(view)
        # One pass of the normaliser over all the leaf's words (much faster than one each).
        forms = _normal_forms(texts, view)
        by_sound = variants.pinyin or variants.homophones
        heard = forms
        if by_sound and compiled.sound_view != view:
            heard = _normal_forms(texts, compiled.sound_view)
        compiled.homophones |= variants.homophones
        for text, norm, plain in zip(texts, forms, heard, strict=True):
            if not norm:
                raise ValueError(f"keyword {text!r} normalises to nothing")
            sounds = sound_patterns(plain) if by_sound else []
            if sounds:
                entry = _Entry(leaf, text, plain, None)
                compiled.sounds += [(pattern, entry) for pattern in sounds]
            if not (sounds and variants.homophones):
                # Homophone groups find their words as written by sound too.
                compiled.plain.append((text, _Entry(leaf, text, norm, None)))
            if variants.pinyin:
                for letters in initials(plain):
                    compiled.initials.setdefault(letters, []).append(
                        _Entry(leaf, text, plain, "initials")
                    )
            if variants.split:
                for spelling in split_spellings(norm):
                    compiled.plain.append((spelling.text, _Entry(leaf, text, norm, "split")))

    def _add_rule(self, rule: Rule) -> None:
        node = parse(rule.expression)
        if rule.scope != "both":
            node = scoped(rule.scope, node)
        node = self._bind(node)
        reports = list(dict.fromkeys(self._positive(node, FIELDS)))
        index = len(self.rules)
        needs = _needs(node)
        clauses = _clauses(node, FIELDS)
        self.rules.append(
            CompiledRule(
                rule,
                node,
                reports,
                compile_node(node),
                needs,
                tuple(_mask(need) for need in needs),
                None if clauses is None else tuple(clauses),
                _near_rule(node),
            )
        )
        if any(isinstance(n, Fact) for n in walk(node)):
            # A condition on the item's facts may hold without any word: always checked.
            self._fact_rules.append(index)
            return
        # A rule can only match if one of the leaves of each of its needs is present: it is
        # looked at only when a leaf of its smallest need is (all it reports, if none).
        trigger = min(needs, key=len) if needs else {leaf for leaf, _, _ in reports}
        # Most rules a found word triggers lack another of their needs (@a NEAR/20 @b where
        # no word of @b occurs): the smallest other need is tested with the trigger.
        others: list[frozenset[int]] = [need for need in needs if need != trigger]
        smallest: frozenset[int] = min(others, key=len) if others else frozenset()
        other = _mask(smallest) if others else -1
        for leaf in trigger:
            self._rules_by_leaf.setdefault(leaf, []).append((index, other))

    def _rule_masks(self) -> None:
        """The same tables by leaf as bit masks over rules (bit ``1 << index``): the rules
        a leaf triggers, and those whose other need it is; rules with no other need and
        fact rules in masks of their own. A text's candidate rules are then a few integer
        operations per leaf found, not a test per rule a found leaf triggers."""
        count = len(self._leaf_variants)
        self._triggers = [0] * count
        self._others = [0] * count
        self._no_other = 0
        for leaf, entries in self._rules_by_leaf.items():
            for index, other in entries:
                bit = 1 << index
                self._triggers[leaf] |= bit
                if other == -1:
                    self._no_other |= bit
                else:
                    for need in range(other.bit_length()):
                        if other >> need & 1:
                            self._others[need] |= bit
        self._fact_mask = _mask(self._fact_rules)

    def _bind(self, node: Node) -> Node:
        """Words and groups become leaf ids (kept as ``Word`` text or ``GroupRef`` name of
        the id) so evaluation looks them up by integer."""
        if isinstance(node, Word):
            return Word(str(self._leaf("word", node.text)))
        if isinstance(node, GroupRef):
            if node.name not in self._groups:
                raise ValueError(f"unknown or disabled group @{node.name}")
            return GroupRef(str(self._leaf("group", node.name)))
        if isinstance(node, Fact):
            return node  # looked up by name in the item's facts
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

    def _positive(
        self, node: Node, fields: tuple[str, ...]
    ) -> Iterator[tuple[int, tuple[str, ...], str | None]]:
        """The leaves a rule needs (not those it excludes), where it looks for them."""
        if isinstance(node, Word):
            yield int(node.text), fields, None
        elif isinstance(node, GroupRef):
            leaf = int(node.name)
            yield leaf, fields, self._name_of(leaf)
        elif isinstance(node, Scoped):
            yield from self._positive(node.child, (node.field,))
        elif isinstance(node, And | Or):
            for child in node.children:
                yield from self._positive(child, fields)
        elif isinstance(node, Near):
            yield from self._positive(node.left, fields)
            yield from self._positive(node.right, fields)

    def _name_of(self, leaf: int) -> str:
        return next(name for (_, name), i in self._leaves.items() if i == leaf)

    # --- matching -----------------------------------------------------------------------------

    @property
    def uses_facts(self) -> bool:
        """Whether a rule tests what analysis found (region:, sentiment:, negative>=)."""
        return bool(self._fact_rules)

    def match(
        self,
        title: str,
        body: str,
        *,
        overlaps: Overlaps | None = None,
        explain: bool = False,
        facts: Iterable[str] = (),
    ) -> MatchResult:
        """Which enabled rules ``title``/``body`` match, with every hit of their words
        (offsets into the original strings).

        ``overlaps="longest"`` reports only the leftmost-longest of overlapping hits in each
        field (rules are still evaluated over all); without it each rule's own ``overlaps``
        applies. ``explain`` names, for hits found through a text-side option, which one
        (``variant``); word-side variants (pinyin, initials, homophone, split) are always
        named. ``facts`` are the item's (:func:`rules.facts.facts`) that ``region:``,
        ``sentiment:`` and ``negative>=`` test; an item given none has none."""
        return self._evaluate(self._scan(title), self._scan(body), overlaps, explain, facts)

    def match_many(
        self,
        items: Iterable[tuple[str, str]],
        *,
        overlaps: Overlaps | None = None,
        explain: bool = False,
        facts: Iterable[Iterable[str]] | None = None,
    ) -> list[MatchResult]:
        """:meth:`match` of many ``(title, body)`` pairs: the same results, in order, as one
        call each, for less. Texts are normalised and scanned together, a batch at a time
        (joined by line breaks, which no pass of the normaliser and no word spans), and the
        hits handed back to their texts by offset; short texts (posts, comments, titles)
        cost several times less this way. ``facts``, if given, holds each item's facts."""
        # Results pile up while the batch runs; each allocation burst would trigger a full
        # collection walking the whole heap (the compiled library included), which costs
        # more than the matching. Nothing made here holds a cycle.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._match_many(list(items), overlaps, explain, facts)
        finally:
            if collecting:
                gc.enable()

    def _match_many(
        self,
        pairs: list[tuple[str, str]],
        overlaps: Overlaps | None,
        explain: bool,
        facts: Iterable[Iterable[str]] | None,
    ) -> list[MatchResult]:
        facts_of: list[Iterable[str]] = [()] * len(pairs) if facts is None else list(facts)
        if len(facts_of) != len(pairs):
            raise ValueError("match_many: one set of facts per item")
        results: list[MatchResult] = []
        evaluate = self._evaluate
        for first, last in _batches(pairs):
            chunk = pairs[first:last]
            titles = self._scan_many([title for title, _ in chunk])
            bodies = self._scan_many([body for _, body in chunk])
            for k, (title_field, body_field) in enumerate(zip(titles, bodies, strict=True)):
                if title_field is None and body_field is None and not self._fact_rules:
                    results.append(MatchResult(self.version))  # most short texts
                    continue
                title, body = chunk[k]
                results.append(
                    evaluate(
                        title_field or _Field(title, self._default_leaves),
                        body_field or _Field(body, self._default_leaves),
                        overlaps,
                        explain,
                        facts_of[first + k],
                    )
                )
        return results

    def _evaluate(
        self,
        title_field: _Field,
        body_field: _Field,
        overlaps: Overlaps | None,
        explain: bool,
        facts: Iterable[str],
    ) -> MatchResult:
        """The rules matched by a scanned title and body (see :meth:`match`)."""
        result = MatchResult(self.version)
        in_title, in_body = title_field.found, body_field.found
        if not (in_title or in_body or self._fact_rules):
            return result  # most short texts: no word of the library
        scanned = {"title": title_field, "body": body_field}
        # The leaves found, as bit masks (one per field and both); the rules they trigger
        # and those whose other need they are, as masks over rules.
        title_mask = body_mask = triggered = othered = 0
        bits, triggers, others = self._bits, self._triggers, self._others
        for leaf in in_title:
            title_mask |= bits[leaf]
            triggered |= triggers[leaf]
            othered |= others[leaf]
        for leaf in in_body:
            body_mask |= bits[leaf]
            triggered |= triggers[leaf]
            othered |= others[leaf]
        either = title_mask | body_mask
        # A rule is looked at when a leaf triggered it and its other need was found too.
        candidates = triggered & (othered | self._no_other) | self._fact_mask
        findings: Mapping[str, Any] = scanned
        if self._fact_rules:
            findings = {**scanned, FACTS: ItemFacts(facts)}
        rules = self.rules
        while candidates:
            # The lowest set bit first: rules in library order.
            lowest = candidates & -candidates
            candidates ^= lowest
            compiled = rules[lowest.bit_length() - 1]
            clauses = compiled.clauses
            if clauses is not None:
                for title_bits, body_bits, wanted in clauses:
                    if (not (title_mask & title_bits or body_mask & body_bits)) is wanted:
                        break
                else:
                    self._report(compiled, scanned, overlaps, result)
                continue
            for need in compiled.need_masks:
                if not need & either:
                    break
            else:
                near_rule = compiled.near
                if near_rule is not None:
                    if _near_holds(near_rule, title_mask, body_mask, scanned):
                        self._report(compiled, scanned, overlaps, result)
                elif compiled.test(findings):
                    self._report(compiled, scanned, overlaps, result)
        if overlaps == "longest":
            result.hits = _longest(result.hits)
        return self._finish(result, scanned, explain)

    def _report(
        self,
        compiled: CompiledRule,
        scanned: dict[str, _Field],
        overlaps: Overlaps | None,
        result: MatchResult,
    ) -> None:
        """Add a matched rule, its severity and its hits to ``result``."""
        rule = compiled.rule
        result.rules.append(rule.name)
        if result.severity is None or (
            SEVERITY_ORDER[rule.severity] > SEVERITY_ORDER[result.severity]
        ):
            result.severity = rule.severity
        hits = self._hits(compiled, scanned)
        if rule.overlaps == "longest" and overlaps is None:
            hits = _longest(hits)
        result.hits += hits

    def _finish(
        self, result: MatchResult, scanned: dict[str, _Field], explain: bool
    ) -> MatchResult:
        """Name text-side variants (``explain``)."""
        if explain:
            leaves, views = self._leaves, self._leaf_view
            for hit in result.hits:
                if hit["variant"] is not None:
                    continue
                group = hit["group"]
                view = views[leaves[("group", group) if group else ("word", hit["word"])]]
                if view != DEFAULT_VIEW:
                    hit["variant"] = explain_hit(
                        scanned[hit["field"]].original[hit["start"] : hit["end"]],
                        hit["word"],
                        view,
                    )
        return result

    def _hits(self, compiled: CompiledRule, scanned: dict[str, _Field]) -> list[dict[str, Any]]:
        name = compiled.rule.name
        hits: list[dict[str, Any]] = []
        add = hits.append
        seen: dict[str, set[tuple[int, int]]] = {"title": set(), "body": set()}
        for leaf, fields, group in compiled.reports:
            for field_name in fields:
                occurrences = scanned[field_name].found.get(leaf)
                if not occurrences:
                    continue
                taken = seen[field_name]
                for _, _, start, end, entry in occurrences:
                    span = (start, end)
                    if span in taken:
                        continue
                    taken.add(span)
                    add(
                        {
                            "word": entry.word,
                            "group": group,
                            "rule": name,
                            "field": field_name,
                            "start": start,
                            "end": end,
                            "variant": entry.kind,
                        }
                    )
        return hits

    def _scan(self, text: str) -> _Field:
        scanned = _Field(text, self._default_leaves)
        if text:
            for view, compiled in self._views.items():
                self._scan_view(scanned, view, compiled)
        return scanned

    def _scan_many(self, texts: list[str]) -> list[_Field | None]:
        """:meth:`_scan` of each of ``texts``, normalised and scanned as one text per view;
        None for a text in which nothing was found."""
        founds: list[dict[int, list[_Occurrence]] | None] = [None] * len(texts)
        if not any(texts):
            return [None] * len(texts)
        joined = "\n".join(texts)
        origins: list[int] = []  # where each text starts in ``joined``
        at = 0
        for text in texts:
            origins.append(at)
            at += len(text) + 1
        wholes: dict[View, tuple[NormalizedText, list[int], list[int]]] = {}
        alone: dict[tuple[int, View], NormalizedText] = {}  # texts normalised one by one
        sounds: list[tuple[View, _View]] = []
        for view, compiled in self._views.items():
            whole = normalize_with_offsets(joined, view)
            starts = _starts(whole, origins)
            if starts is None:  # a separator did not stay itself: text by text
                for k, text in enumerate(texts):
                    if text:
                        one = _Field(text, self._default_leaves)
                        self._scan_view(one, view, compiled)
                        alone[k, view] = one.views[view]
                        if one.found:
                            founds[k] = (founds[k] or {}) | one.found
                continue
            ends = [*(start - 1 for start in starts[1:]), len(whole.text)]
            wholes[view] = (whole, starts, ends)
            if compiled.scanner is not None:
                _collect_many(founds, compiled.scanner, whole, starts, ends, origins)
            if compiled.sound is not None or compiled.initials:
                sounds.append((view, compiled))
        for view, compiled in sounds:
            # Sounds are heard text by text (few texts of a batch have pinyin in them).
            whole, starts, ends = wholes[view]
            for k, text in enumerate(texts):
                if not text or not (
                    compiled.homophones or _LATIN_LETTER.search(whole.text, starts[k], ends[k])
                ):
                    continue
                heard: NormalizedText
                if compiled.sound_view in wholes:
                    other, other_starts, other_ends = wholes[compiled.sound_view]
                    heard = _Part(other, other_starts[k], other_ends[k], origins[k])
                else:
                    heard = normalize_with_offsets(text, compiled.sound_view)
                heard_found = founds[k] or {}
                _collect_sounds(heard_found, compiled, heard, self._leaf_variants)
                if heard_found:
                    founds[k] = heard_found
        fields: list[_Field | None] = [None] * len(texts)
        for k, text_found in enumerate(founds):
            if text_found:  # its rules are evaluated: NEAR and spans read its views
                field_ = fields[k] = _Field(texts[k], self._default_leaves)
                field_.found = text_found
                for view in self._views:
                    if view in wholes:
                        whole, starts, ends = wholes[view]
                        field_.views[view] = _Part(whole, starts[k], ends[k], origins[k])
                    elif (k, view) in alone:
                        field_.views[view] = alone[k, view]
        return fields

    def _scan_view(self, scanned: _Field, view: View, compiled: _View) -> None:
        """One view of :meth:`_scan`."""
        text = scanned.original
        found = scanned.found
        if compiled.homophones and compiled.sound_view != view:
            # Sounds are read in a view this one shares most passes with.
            heard_in, normalized, make_default = normalize_sounds_view_default(text, view)
            scanned.views.setdefault(compiled.sound_view, heard_in)
            if scanned.make_reference is None:
                scanned.make_reference = make_default
        else:
            normalized = normalize_with_offsets(text, view)
        scanned.views[view] = normalized
        if compiled.scanner is not None:
            _collect(found, compiled.scanner, normalized)
        if (compiled.sound is not None or compiled.initials) and (
            compiled.homophones or _LATIN_LETTER.search(normalized.text)
        ):
            heard = normalized
            if compiled.sound_view != view:
                heard = scanned.views.get(compiled.sound_view) or normalize_with_offsets(
                    text, compiled.sound_view
                )
            _collect_sounds(found, compiled, heard, self._leaf_variants)


# Texts of one batch of :meth:`Matcher.match_many`: at most this many characters (the
# joined text and its offset maps stay small), at least one text.
_BATCH_CHARS = 1 << 16


def _batches(pairs: Sequence[tuple[str, str]]) -> Iterator[tuple[int, int]]:
    first = size = 0
    for k, (title, body) in enumerate(pairs):
        size += len(title) + len(body) + 2
        if size >= _BATCH_CHARS:
            yield first, k + 1
            first, size = k + 1, 0
    if first < len(pairs):
        yield first, len(pairs)


def _starts(whole: NormalizedText, origins: list[int]) -> list[int] | None:
    """Where each text joined into ``whole`` starts in its normal form, given where it
    starts in the joined original; None if a separator did not come through as itself (a
    combining mark at the start of a text composes with the line break before it)."""
    if not whole._maps:
        return origins
    text = whole.text
    breaks = [m.start() for m in _LINE_BREAK.finditer(text)]
    if len(origins) - 1 > len(breaks):
        return None
    originals, ends = whole.spans(breaks, [b + 1 for b in breaks])
    where = dict(zip(originals, zip(ends, breaks, strict=True), strict=True))
    starts = [0]
    for origin in origins[1:]:
        separator = where.get(origin - 1)
        if separator is None or separator[0] != origin:
            return None
        starts.append(separator[1] + 1)
    return starts


_LINE_BREAK = re.compile("\n")


class _Part(NormalizedText):
    """One text of a batch: a slice of the normal form of the joined texts, its spans
    mapped through the whole's maps and moved by the slice's place."""

    __slots__ = ("_at", "_origin", "_whole")

    def __init__(self, whole: NormalizedText, start: int, end: int, origin: int) -> None:
        joins = whole.joins
        runs = whole.runs
        super().__init__(
            whole.text[start:end],
            (),
            frozenset(j - start for j in joins if start <= j <= end) if joins else joins,
            {p - start: n for p, n in runs.items() if start <= p < end} if runs else runs,
        )
        self._whole = whole
        self._at = start
        self._origin = origin

    def span(self, start: int, end: int) -> tuple[int, int]:
        a, b = self._whole.span(start + self._at, end + self._at)
        return a - self._origin, b - self._origin

    def locate(self, start: int, end: int) -> tuple[int, int]:
        a, b = self._whole.locate(start + self._origin, end + self._origin)
        return a - self._at, b - self._at

    def spans(self, starts: list[int], ends: list[int]) -> tuple[list[int], list[int]]:
        at, origin = self._at, self._origin
        a, b = self._whole.spans([s + at for s in starts], [e + at for e in ends])
        return [s - origin for s in a], [e - origin for e in b]

    def spans_of(
        self, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
    ) -> tuple[list[int], list[int]]:
        return self.spans(starts.tolist(), ends.tolist())


def _collect_many(
    founds: list[dict[int, list[_Occurrence]] | None],
    compiled: _Compiled,
    whole: NormalizedText,
    starts: list[int],
    ends: list[int],
    origins: list[int],
) -> None:
    """:func:`_collect` of a batch: hits in the joined normal form handed to their texts."""
    scanner, payloads = compiled
    indexes, hit_starts, hit_ends = scanner.locate(whole.text, whole.joins, whole.runs)
    if not indexes:
        return
    original_starts, original_ends = whole.spans(hit_starts, hit_ends)
    k = -1
    start = end = origin = 0
    found: dict[int, list[_Occurrence]] = {}
    # Hits come ordered by end, so texts in order: walk them along.
    for i, s, e, a, b in zip(
        indexes, hit_starts, hit_ends, original_starts, original_ends, strict=True
    ):
        if k < 0 or e > end or s < start:
            k = bisect_right(starts, s) - 1
            start, end, origin = starts[k], ends[k], origins[k]
            if e > end:
                k = -1
                continue  # across a separator: no word has a line break, but be sure
            known = founds[k]
            if known is None:
                known = founds[k] = {}
            found = known
        s -= start
        e -= start
        a -= origin
        b -= origin
        for entry in payloads[i]:
            occurrences = found.get(entry.leaf)
            if occurrences is None:
                found[entry.leaf] = [(s, e, a, b, entry)]
            else:
                occurrences.append((s, e, a, b, entry))


def _near_rule(node: Node) -> _NearRule | None:
    """The NEAR fast path's tables for a rule that is one NEAR, else None."""
    fields: tuple[str, ...] = FIELDS
    if isinstance(node, Scoped):
        fields = (node.field,)
        node = node.child
    if not isinstance(node, Near):
        return None
    sides = []
    for side in (node.left, node.right):
        ids: list[int] = []
        for leaf in side.children if isinstance(side, Or) else (side,):
            if isinstance(leaf, Word):
                ids.append(int(leaf.text))
            elif isinstance(leaf, GroupRef):
                ids.append(int(leaf.name))
            else:
                return None
        sides.append(tuple(ids))
    left, right = sides
    return _NearRule(node, fields, left, right, _mask(left), _mask(right))


def _near_holds(
    rule: _NearRule, title_mask: int, body_mask: int, scanned: dict[str, _Field]
) -> bool:
    """:func:`rules.evaluate.near` in the rule's fields, looked at only where both sides
    were found (by the masks), over the spans of the leaves found."""
    for name in rule.fields:
        found = title_mask if name == "title" else body_mask
        if not (found & rule.left_mask and found & rule.right_mask):
            continue
        field_ = scanned[name]
        spans = field_.leaf_spans
        # A side of one leaf (most): its spans as they are, not copied.
        side = rule.left
        left = spans(side[0]) if len(side) == 1 else [s for leaf in side for s in spans(leaf)]
        side = rule.right
        right = spans(side[0]) if len(side) == 1 else [s for leaf in side for s in spans(leaf)]
        if near_spans(rule.node, left, right, field_):
            return True
    return False


def _needs(node: Node) -> list[frozenset[int]]:
    """Sets of leaves of which one must occur (anywhere) for ``node`` to hold."""
    if isinstance(node, Word):
        return [frozenset({int(node.text)})]
    if isinstance(node, GroupRef):
        return [frozenset({int(node.name)})]
    if isinstance(node, Scoped):
        return _needs(node.child)
    if isinstance(node, Not | Fact):
        return []
    if isinstance(node, Near):
        return _needs(node.left) + _needs(node.right)
    if isinstance(node, And):
        return [need for child in node.children for need in _needs(child)]
    assert isinstance(node, Or)
    alternatives = [_needs(child) for child in node.children]
    if not all(alternatives):
        return []
    # One of the alternatives must hold: one of the leaves of all their needs occurs.
    return [frozenset().union(*(need for needs in alternatives for need in needs))]


def _mask(leaves: Iterable[int]) -> int:
    mask = 0
    for leaf in leaves:
        mask |= 1 << leaf
    return mask


def _clauses(node: Node, fields: tuple[str, ...]) -> list[tuple[int, int, bool]] | None:
    """``node`` as :attr:`CompiledRule.clauses` (a list of them), or None if it is not a
    conjunction of (possibly negated) alternatives of leaves: NEAR and facts need more than
    which leaves occur where."""
    if isinstance(node, Word | GroupRef):
        bit = 1 << int(node.text if isinstance(node, Word) else node.name)
        return [(bit if "title" in fields else 0, bit if "body" in fields else 0, True)]
    if isinstance(node, Scoped):
        return _clauses(node.child, (node.field,))
    if isinstance(node, Not):
        child = _clauses(node.child, fields)
        if child is None or len(child) != 1:
            return None
        title_bits, body_bits, wanted = child[0]
        return [(title_bits, body_bits, not wanted)]
    if isinstance(node, And):
        clauses: list[tuple[int, int, bool]] = []
        for c in node.children:
            part = _clauses(c, fields)
            if part is None:
                return None
            clauses += part
        return clauses
    if isinstance(node, Or):
        title_bits = body_bits = 0
        for c in node.children:
            part = _clauses(c, fields)
            if part is None or len(part) != 1 or not part[0][2]:
                return None
            title_bits |= part[0][0]
            body_bits |= part[0][1]
        return [(title_bits, body_bits, True)]
    return None  # Near, Fact


def _normal_forms(texts: list[str], view: View) -> list[str]:
    from rules.normalize import normalize_many

    return [text for text, _ in normalize_many(texts, view)]


def _add(found: dict[int, list[_Occurrence]], leaf: int, occurrence: _Occurrence) -> None:
    occurrences = found.get(leaf)
    if occurrences is None:
        found[leaf] = [occurrence]
    else:
        occurrences.append(occurrence)


def _collect(
    found: dict[int, list[_Occurrence]], compiled: _Compiled, normalized: NormalizedText
) -> None:
    scanner, payloads = compiled
    indexes, starts, ends = scanner.locate(normalized.text, normalized.joins, normalized.runs)
    if not indexes:
        return
    original_starts, original_ends = normalized.spans(starts, ends)
    for i, s, e, a, b in zip(indexes, starts, ends, original_starts, original_ends, strict=True):
        for entry in payloads[i]:
            occurrences = found.get(entry.leaf)
            if occurrences is None:
                found[entry.leaf] = [(s, e, a, b, entry)]
            else:
                occurrences.append((s, e, a, b, entry))


def _collect_sounds(
    found: dict[int, list[_Occurrence]],
    compiled: _View,
    normalized: NormalizedText,
    variants: list[Variants],
) -> None:
    """Hits in the sound form (pinyin, homophones) and initials, each judged against its
    group's options."""
    form = sound_form(normalized.text, normalized.codes, normalized.latin)
    taken: set[tuple[int, int, int]] | None = None  # (leaf, start, end) of the sound hits
    hit_starts: list[int] = []
    hit_ends: list[int] = []
    hit_entries: list[_Entry] = []
    original_starts: list[int] = []
    original_ends: list[int] = []
    if compiled.sound is not None:
        patterns, starts, ends = compiled.sound[0].locate(form.text, form.codes)
        # Whether two hits may share a leaf and place: not among homophones in text
        # without pinyin unless a pattern has two words of one leaf (see _heard_once).
        shared = True
        if not patterns.size:
            pass
        elif form.spelt:
            (hit_starts, hit_ends, hit_entries), shared = _judged_once(
                form, normalized.text, patterns, starts, ends, compiled, variants
            )
            original_starts, original_ends = normalized.spans(hit_starts, hit_ends)
        else:
            (start_array, end_array, hit_entries), shared = _heard_once(
                normalized.text, patterns, starts, ends, compiled, form.source_codes
            )
            if hit_entries:
                # Mapped back from the arrays judging gave, not from lists made of them.
                original_starts, original_ends = normalized.spans_of(start_array, end_array)
                hit_starts, hit_ends = start_array.tolist(), end_array.tolist()
        if hit_entries:
            get = found.get
            hits = zip(
                hit_starts, hit_ends, original_starts, original_ends, hit_entries, strict=True
            )
            if not shared:
                # zip's tuples are the occurrences: stored as they come, not rebuilt.
                for occurrence in hits:
                    leaf = occurrence[4].leaf
                    occurrences = get(leaf)
                    if occurrences is None:
                        found[leaf] = [occurrence]
                    else:
                        occurrences.append(occurrence)
            else:
                taken = set()
                take = taken.add
                for start, end, a, b, entry in hits:
                    leaf = entry.leaf
                    key = (leaf, start, end)
                    if key in taken:
                        # Several words of a group heard at one place (heteronym patterns
                        # of one word, or words that sound alike): the first one found is
                        # the hit.
                        continue
                    take(key)
                    occurrences = get(leaf)
                    if occurrences is None:
                        found[leaf] = [(start, end, a, b, entry)]
                    else:
                        occurrences.append((start, end, a, b, entry))
    if compiled.initials:
        for start, end, alone in form.latin_words():
            entries = compiled.initials.get(normalized.text[start:end]) if alone else None
            if not entries:
                continue
            if taken is None:
                taken = {
                    (entry.leaf, s, e)
                    for s, e, entry in zip(hit_starts, hit_ends, hit_entries, strict=True)
                }
            for entry in entries:
                if (entry.leaf, start, end) not in taken:
                    taken.add((entry.leaf, start, end))
                    a, b = normalized.span(start, end)
                    _add(found, entry.leaf, (start, end, a, b, entry))


# Starts, ends (in the normalised text) and entries of the sound hits kept.
_Accepted = tuple[list[int], list[int], list[_Entry]]
_Positions = npt.NDArray[np.int64]


def _heard(
    text: str,
    patterns: _Positions,
    starts: _Positions,
    ends: _Positions,
    compiled: _View,
    codes: npt.NDArray[np.uint32] | None = None,
) -> _Accepted:
    """Sound hits in a text without pinyin: homophones (one character at least as
    written) of groups that want them, judged in bulk (:meth:`SoundIndex.judge`);
    ``codes``: the code points of ``text``, if at hand."""
    (hit_starts, hit_ends, entries), _ = _heard_once(text, patterns, starts, ends, compiled, codes)
    return hit_starts.tolist(), hit_ends.tolist(), entries


def _heard_once(
    text: str,
    patterns: _Positions,
    starts: _Positions,
    ends: _Positions,
    compiled: _View,
    codes: npt.NDArray[np.uint32] | None = None,
) -> tuple[tuple[_Positions, _Positions, list[_Entry]], bool]:
    """:func:`_heard` (starts and ends as arrays), and whether two of its hits may be of
    one leaf at one place. Two patterns found at one place would be one string (a
    character has one stand-in), so only two words of one leaf behind one pattern (words
    that sound alike) can be."""
    assert compiled.sound is not None
    candidates, rows, same = compiled.sound[0].judge(text, patterns, starts, codes)
    if not candidates.size:
        return (_NO_POSITIONS, _NO_POSITIONS, []), False
    heard = compiled.heard
    # Each row's entry as written is heard[2 * row], as heard heard[2 * row + 1].
    chosen = (rows * 2 + ~same).tolist()
    shared = compiled.any_shared and bool(compiled.shared_rows[rows].any())
    entries = [heard[k] for k in chosen]
    return (starts.take(candidates), ends.take(candidates), entries), shared


_NO_POSITIONS: _Positions = np.zeros(0, dtype=np.int64)


def _judged(
    form: SoundForm,
    text: str,
    patterns: _Positions,
    starts: _Positions,
    ends: _Positions,
    compiled: _View,
    variants: list[Variants],
) -> _Accepted:
    """Sound hits in a text with pinyin (positions moved): those clear of pinyin judged in
    bulk as in :func:`_heard`, the others one by one by the form; in the order found."""
    return _judged_once(form, text, patterns, starts, ends, compiled, variants)[0]


def _judged_once(
    form: SoundForm,
    text: str,
    patterns: _Positions,
    starts: _Positions,
    ends: _Positions,
    compiled: _View,
    variants: list[Variants],
) -> tuple[_Accepted, bool]:
    """:func:`_judged`, and whether two of its hits may be of one leaf at one place: the
    bulk's only as in :func:`_heard_once` (clear of pinyin, each is as long as the text it
    came from, so two places in the sound form are two in the text), the spelt ones (a
    word's heteronym patterns may all read one spelling) whenever any is kept."""
    assert compiled.sound is not None
    index, payloads = compiled.sound
    source_starts, source_ends, plain = form.unspelt(starts, ends)
    bulk = np.flatnonzero(plain)
    candidates, rows, same = index.judge(text, patterns[bulk], source_starts[bulk])
    heard = compiled.heard
    found = bulk[candidates]
    # The spelt candidates first (a few, judged one by one): where none is kept, the
    # bulk's hits are the answer as they are, in order, with nothing to interleave.
    kept: list[tuple[int, int, int, _Entry]] = []
    spelt = np.flatnonzero(~plain)
    for k, i, s, e in zip(
        spelt.tolist(),
        patterns[spelt].tolist(),
        starts[spelt].tolist(),
        ends[spelt].tolist(),
        strict=True,
    ):
        for entry in payloads[i]:
            options = variants[entry.leaf]
            kind = form.judge(
                s, e, entry.norm, pinyin=options.pinyin, homophones=options.homophones
            )
            if kind is None or (kind == "same" and not options.homophones):
                continue  # not allowed, or found as written by the plain scan
            source_start, source_end = form.source_span(s, e)
            hit = entry if kind == "same" else entry._replace(kind=kind)
            kept.append((k, source_start, source_end, hit))
    bulk_starts = source_starts[found].tolist()
    bulk_ends = source_ends[found].tolist()
    bulk_entries = [heard[row] for row in (rows * 2 + ~same).tolist()]
    if not kept:
        shared = compiled.any_shared and bool(compiled.shared_rows[rows].any())
        return (bulk_starts, bulk_ends, bulk_entries), shared
    ordered = list(zip(found.tolist(), bulk_starts, bulk_ends, bulk_entries, strict=True))
    ordered += kept
    ordered.sort(key=lambda x: x[0])  # stable: a candidate's words keep their order
    return ([x[1] for x in ordered], [x[2] for x in ordered], [x[3] for x in ordered]), True


def _longest(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The leftmost-longest of overlapping hits, field by field."""
    kept: list[dict[str, Any]] = []
    for name in FIELDS:
        in_field = [h for h in hits if h["field"] == name]
        keep = leftmost_longest([(h["start"], h["end"]) for h in in_field])
        kept += [in_field[i] for i in keep]
    return kept


_TEXT_OPTIONS = ("enclosed", "noise", "lookalikes", "repeats")
_LITERAL = View(enclosed=False)  # what a hit that needs no option reads as


def explain_hit(original: str, word: str, view: View) -> str | None:
    """Which text-side options of ``view`` make ``original`` (a hit's text) read as
    ``word``: None if it does without any, else their names joined by ``+``."""
    if normalize(original, _LITERAL) == normalize(word, _LITERAL):
        return None
    needed = []
    for name in _TEXT_OPTIONS:
        option = getattr(view, name)
        if option in (False, "off", "cjk"):
            continue
        single = _LITERAL._replace(**{name: option})
        if normalize(original, single) == normalize(word, single):
            return name
        needed.append(name)
    return "+".join(needed) or None


def rule_query(library: Library, rule: Rule) -> str:
    """``rule`` as a search expression over stored normalised text (``ItemQuery(q=...,
    normalized=True)``): groups expanded, words normalised, scope applied.

    For groups with the default options it selects the same items as
    :meth:`Matcher.match`, except that ``NEAR/S`` and ``NEAR/P`` become a wide ``NEAR/n``
    (a superset). The stores index the default normal form only, so a part of the rule
    that depends on a group with other options is left out (a superset again; ``""``, all
    items, if nothing is left): callers confirm candidates in process, as the backtest
    does. Options cost no index space; they cost a backtest more candidates to read."""
    groups = {g.name: g for g in library.groups if g.enabled}
    default = Options()
    node = parse(rule.expression)
    if rule.scope != "both":
        node = scoped(rule.scope, node)
    loosened = _loosen(node, {n for n, g in groups.items() if g.options != default}, True)
    if isinstance(loosened, bool):
        return ""
    loosened = expand_groups(loosened, lambda name: list(dict.fromkeys(groups[name].texts())))
    return to_text(index_form(loosened))


def _loosen(node: Node, variant: set[str], wider: bool) -> Node | bool:
    """``node`` with the parts that use a group in ``variant`` replaced by True (``wider``:
    a superset is wanted) or False (under NOT, where a subset is); constants folded."""
    if isinstance(node, GroupRef):
        return wider if node.name in variant else node
    if isinstance(node, Word | Fact):
        return node
    if isinstance(node, Not):
        child = _loosen(node.child, variant, not wider)
        return (not child) if isinstance(child, bool) else Not(child)
    if isinstance(node, Scoped):
        child = _loosen(node.child, variant, wider)
        return child if isinstance(child, bool) else Scoped(node.field, child)
    if isinstance(node, Near):
        used = {n.name for n in walk(node) if isinstance(n, GroupRef)}
        return wider if used & variant else node
    assert isinstance(node, And | Or)
    children = [_loosen(c, variant, wider) for c in node.children]
    if isinstance(node, And):
        if False in children:
            return False
        kept = [c for c in children if not isinstance(c, bool)]
        # What is left may be only exclusions, which no query can stand on alone.
        if not kept or all(isinstance(c, Not) for c in kept):
            return wider
        return kept[0] if len(kept) == 1 else And(tuple(kept))
    if True in children:
        return True
    kept = [c for c in children if not isinstance(c, bool)]
    if not kept:
        return False
    return kept[0] if len(kept) == 1 else Or(tuple(kept))


def fact_finder(matcher: Matcher) -> Callable[..., list[str]]:
    """``find(title, body="")``: the facts analysis finds in a text (a test sentence, a
    file to match); none, unless the library's rules test facts."""
    if not matcher.uses_facts:
        return lambda title, body="": []
    from analysis.item import item_facts, with_places  # only libraries that test facts
    from keywords.places import divisions, names

    analyzer = with_places(divisions(matcher.library), names(matcher.library))

    def find(title: str, body: str = "") -> list[str]:
        item = Item(url="test:", title=title, body=body, first_seen=datetime.now(UTC))
        return item_facts(analyzer.analyze(item))

    return find


def run_rule_tests(matcher: Matcher) -> list[tuple[str, str, str]]:
    """Failing test sentences as ``(rule, sentence, "should match" | "should not match")``.

    A test sentence stands for both the title and the body of an item; a library whose
    rules test facts (region:, sentiment:) has each sentence analysed for them."""
    failures = []
    facts_of = fact_finder(matcher)
    for compiled in matcher.rules:
        rule = compiled.rule
        for sentence in rule.must_match:
            found = matcher.match(sentence, sentence, facts=facts_of(sentence))
            if rule.name not in found.rules:
                failures.append((rule.name, sentence, "should match"))
        for sentence in rule.must_not_match:
            found = matcher.match(sentence, sentence, facts=facts_of(sentence))
            if rule.name in found.rules:
                failures.append((rule.name, sentence, "should not match"))
    return failures
