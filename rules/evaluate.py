"""Evaluating an expression over what a scan found in each field.

The matcher scans a text once per field; this module decides, from the words found and
where, whether an expression holds. It knows nothing of how words were found: a
:class:`Found` answers for one field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from rules.syntax import FIELDS, And, Fact, GroupRef, Near, Node, Not, Or, Scoped, Word
from rules.tokens import PARAGRAPH_END, SENTENCE_END, han_over, within

Span = tuple[int, int]  # start, end in the normalised text
FACTS = "facts"  # the key of an item's :class:`ItemFacts` beside its fields' findings


class Found(Protocol):
    """What a scan found in one field."""

    @property
    def text(self) -> str:
        """The field's normalised text."""
        ...

    def has(self, leaf: Word | GroupRef) -> bool:
        """Whether the word, or a word of the group, occurs."""
        ...

    def spans(self, leaf: Word | GroupRef) -> Sequence[Span]:
        """Where the word, or the group's words, occur."""
        ...


class ItemFacts:
    """What analysis found about an item (:func:`rules.facts.facts`), given to evaluation
    under the key :data:`FACTS`; an item given none has no facts."""

    text = ""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = frozenset(names)

    def has(self, leaf: Word | GroupRef | Fact) -> bool:
        return isinstance(leaf, Fact) and leaf.name in self.names

    def spans(self, leaf: Word | GroupRef) -> Sequence[Span]:
        return ()


_NO_FACTS = ItemFacts()


def _has_fact(found: Mapping[str, Found | ItemFacts], fact: Fact) -> bool:
    facts = found.get(FACTS, _NO_FACTS)
    return isinstance(facts, ItemFacts) and facts.has(fact)


def evaluate(node: Node, found: Mapping[str, Found], fields: Sequence[str] = FIELDS) -> bool:
    """Whether ``node`` holds for the fields' findings, looking in ``fields``."""
    if isinstance(node, Fact):
        return _has_fact(found, node)
    if isinstance(node, Word | GroupRef):
        return any(found[f].has(node) for f in fields)
    if isinstance(node, Scoped):
        return evaluate(node.child, found, (node.field,))
    if isinstance(node, Not):
        return not evaluate(node.child, found, fields)
    if isinstance(node, And):
        return all(evaluate(c, found, fields) for c in node.children)
    if isinstance(node, Or):
        return any(evaluate(c, found, fields) for c in node.children)
    assert isinstance(node, Near), node
    return any(_present(node.left, found[f]) and near(node, found[f]) for f in fields)


Test = Callable[[Mapping[str, Found]], bool]


def compile_node(node: Node, fields: Sequence[str] = FIELDS) -> Test:
    """``evaluate`` of ``node`` as a function of the findings, the tree walked once here
    rather than for every text (a matcher evaluates many rules per text)."""
    if isinstance(node, Fact):
        fact = node
        return lambda found: _has_fact(found, fact)
    if isinstance(node, Word | GroupRef):
        leaf = node
        if len(fields) == 1:
            only = fields[0]
            return lambda found: found[only].has(leaf)
        if len(fields) == 2:
            one, other = fields
            return lambda found: found[one].has(leaf) or found[other].has(leaf)
        return lambda found: any(found[f].has(leaf) for f in fields)
    if isinstance(node, Scoped):
        return compile_node(node.child, (node.field,))
    if isinstance(node, Not):
        child = compile_node(node.child, fields)
        return lambda found: not child(found)
    if isinstance(node, And | Or):
        tests = [compile_node(c, fields) for c in node.children]
        if len(tests) == 2:
            a, b = tests
            if isinstance(node, And):
                return lambda found: a(found) and b(found)
            return lambda found: a(found) or b(found)
        if isinstance(node, And):
            return lambda found: all(t(found) for t in tests)
        return lambda found: any(t(found) for t in tests)
    assert isinstance(node, Near), node
    near_node = node
    return lambda found: any(
        _present(near_node.left, found[f]) and near(near_node, found[f]) for f in fields
    )


def _present(node: Node, found: Found) -> bool:
    """Whether a NEAR side occurs at all (before gathering its spans)."""
    if isinstance(node, Word | GroupRef):
        return found.has(node)
    assert isinstance(node, Or), node
    return any(_present(c, found) for c in node.children)


def _spans(node: Node, found: Found) -> list[Span]:
    if isinstance(node, Word | GroupRef):
        return list(found.spans(node))
    assert isinstance(node, Or), node  # the parser allows only these as NEAR operands
    return [s for c in node.children for s in _spans(c, found)]


def near(node: Near, found: Found) -> bool:
    """Whether some occurrence of the left side and one of the right side are close
    enough in one field, in either order.

    From the hit offsets alone where it can: two words with at most ``distance``
    characters between them are near (a token is at least one character); two with more
    Chinese characters between than ``distance`` are not (each is a token), counted in
    the gap (:func:`han_at_least`), not over the whole text. Only the rest, gaps holding
    few Chinese characters, is tokenised, and only up to ``distance`` tokens."""
    left = _spans(node.left, found)
    if not left:
        return False
    right = _spans(node.right, found)
    if not right:
        return False
    return near_spans(node, left, right, found)


def near_spans(node: Near, left: Sequence[Span], right: Sequence[Span], found: Found) -> bool:
    """:func:`near` of the occurrences ``left`` and ``right`` of its two sides in ``found``
    (whose text is read only if the offsets do not decide)."""
    distance = node.distance
    if node.unit != "char":
        text = found.text
        stops = SENTENCE_END if node.unit == "sentence" else PARAGRAPH_END
        for first_end, second_start in _gaps(left, right):
            if not stops.intersection(text[first_end:second_start]):
                return True
        return False
    # The gaps of :func:`_gaps`, inline: this runs for every NEAR rule a text may match.
    far: list[Span] = []
    for a_start, a_end in left:
        for b_start, b_end in right:
            if a_start <= b_start:
                if a_start == b_start and a_end == b_end:
                    continue  # one occurrence is not two words
                first_end, second_start = a_end, (b_start if b_start > a_end else a_end)
            else:
                first_end, second_start = b_end, (a_start if a_start > b_end else b_end)
            if second_start - first_end <= distance:
                return True
            far.append((first_end, second_start))
    if not far:
        return False
    text = found.text
    han_above = han_over(text)
    for first_end, second_start in far:
        if han_above(first_end, second_start, distance):
            continue  # more Chinese characters between than tokens allowed
        if within(text, first_end, second_start, distance):
            return True
    return False


def _gaps(left: Sequence[Span], right: Sequence[Span]) -> Iterator[Span]:
    """The stretch between each occurrence of one side and each of the other (in whichever
    order they come; nothing between overlapping ones)."""
    for a_start, a_end in left:
        for b_start, b_end in right:
            if a_start == b_start and a_end == b_end:
                continue  # one occurrence is not two words
            if a_start <= b_start:
                yield a_end, max(b_start, a_end)
            else:
                yield b_end, max(a_start, b_end)
