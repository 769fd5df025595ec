"""Evaluating an expression over what a scan found in each field.

The matcher scans a text once per field; this module decides, from the words found and
where, whether an expression holds. It knows nothing of how words were found: a
:class:`Found` answers for one field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from rules.syntax import FIELDS, And, GroupRef, Near, Node, Not, Or, Scoped, Word
from rules.tokens import PARAGRAPH_END, SENTENCE_END, within

Span = tuple[int, int]  # start, end in the normalised text


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


def evaluate(node: Node, found: Mapping[str, Found], fields: Sequence[str] = FIELDS) -> bool:
    """Whether ``node`` holds for the fields' findings, looking in ``fields``."""
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
    return any(near(node, found[f]) for f in fields)


def _spans(node: Node, found: Found) -> list[Span]:
    if isinstance(node, Word | GroupRef):
        return list(found.spans(node))
    assert isinstance(node, Or), node  # the parser allows only these as NEAR operands
    return [s for c in node.children for s in _spans(c, found)]


def near(node: Near, found: Found) -> bool:
    """Whether some occurrence of the left side and one of the right side are close
    enough in one field, in either order."""
    left, right = _spans(node.left, found), _spans(node.right, found)
    text = found.text
    for a_start, a_end in left:
        for b_start, b_end in right:
            if (a_start, a_end) == (b_start, b_end):
                continue  # one occurrence is not two words
            first_end, second_start = (a_end, b_start) if a_start <= b_start else (b_end, a_start)
            # Overlapping words (起火 and 火灾 in 起火灾) are next to each other.
            second_start = max(second_start, first_end)
            if node.unit == "char":
                if within(text, first_end, second_start, node.distance):
                    return True
            else:
                stops = SENTENCE_END if node.unit == "sentence" else PARAGRAPH_END
                if not stops.intersection(text[first_end:second_start]):
                    return True
    return False
