"""The expression language shared by item search and keyword rules.

One parser serves both: operators type the same syntax into the search box and
into a rule. Each backend compiles the tree (never a string) into its own
query; the monitor evaluates the same tree in process.

Grammar, loosest binding first::

    expr      := and_expr ("OR" and_expr)*
    and_expr  := not_expr (["AND"] not_expr)*        # juxtaposition means AND
    not_expr  := "NOT" not_expr | near_expr
    near_expr := primary (NEAR primary)*             # NEAR/20, NEAR/S, NEAR/P
    primary   := "(" expr ")" | FIELD ":" primary | WORD | "QUOTED" | @GROUP

Operators are upper case; anything else is a literal word. A quoted word is
always literal: ``"C++"``, ``"("`` and ``"AND"`` are just text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from rules import facts

FIELDS = ("title", "body")
Field = Literal["title", "body"]
NearUnit = Literal["char", "sentence", "paragraph"]
MAX_NEAR = 10_000


class ParseError(ValueError):
    """An expression that cannot be parsed; ``position`` is a 0-based offset."""

    def __init__(self, message: str, position: int, expression: str) -> None:
        self.message = message
        self.position = position
        self.expression = expression
        super().__init__(f"{message} (at character {position + 1})")


@dataclass(frozen=True)
class Word:
    text: str


@dataclass(frozen=True)
class GroupRef:
    name: str


@dataclass(frozen=True)
class Fact:
    """A condition on what analysis found (see :mod:`rules.facts`): ``name`` is the fact
    as :func:`rules.facts.facts` writes it, e.g. ``region:500152``."""

    name: str


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Near:
    """Both sides occur with at most ``distance`` characters between them,
    in either order; or, for sentence/paragraph units, in the same one."""

    left: Node
    right: Node
    unit: NearUnit
    distance: int = 0


@dataclass(frozen=True)
class Scoped:
    field: Field
    child: Node


Node = Word | GroupRef | Fact | Not | And | Or | Near | Scoped


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD QUOTED GROUP FACT LPAREN RPAREN AND OR NOT NEAR FIELD END
    text: str
    pos: int


_SPECIAL = set('()"')


def _tokenize(expr: str) -> Iterator[_Token]:
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c.isspace():
            i += 1
        elif c == "(":
            yield _Token("LPAREN", c, i)
            i += 1
        elif c == ")":
            yield _Token("RPAREN", c, i)
            i += 1
        elif c == '"':
            start, i, buf = i, i + 1, []
            while i < n and expr[i] != '"':
                if expr[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(expr[i])
                i += 1
            if i >= n:
                raise ParseError("unterminated quoted word", start, expr)
            i += 1
            yield _Token("QUOTED", "".join(buf), start)
        elif expr.startswith(_FACT_STARTS, i):
            m = _FACT.match(expr, i)
            if m is None:
                raise ParseError(_FACT_HELP, i, expr)
            yield _Token("FACT", m.group(), i)
            i = m.end()
        else:
            field = next((f for f in FIELDS if expr.startswith(f + ":", i)), None)
            if field:
                yield _Token("FIELD", field, i)
                i += len(field) + 1
                continue
            start = i
            while i < n and not expr[i].isspace() and expr[i] not in _SPECIAL:
                i += 1
            yield _classify(expr[start:i], start, expr)


def _classify(text: str, pos: int, expr: str) -> _Token:
    if text in ("AND", "OR", "NOT"):
        return _Token(text, text, pos)
    if text.startswith("NEAR/"):
        return _Token("NEAR", text[5:], pos)
    if text.startswith("@"):
        if len(text) == 1:
            raise ParseError("'@' must be followed by a group name", pos, expr)
        return _Token("GROUP", text[1:], pos)
    return _Token("WORD", text, pos)


_FACT = facts.FACT
_FACT_STARTS = facts.STARTS
_FACT_HELP = (
    "expected region:<code> (e.g. region:500152), region.primary:<code>, "
    "sentiment:negative|neutral|positive or negative>=0.0-1.0 in tenths (e.g. negative>=0.7)"
)

MAX_DEPTH = 32  # nested parentheses, NOTs and fields; deeper would exhaust the stack


class _Parser:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = [*_tokenize(expr), _Token("END", "", len(expr))]
        self.i = 0
        self.depth = 0

    def descend(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(
                f"the expression nests more than {MAX_DEPTH} levels deep", self.tok.pos, self.expr
            )

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, expected: str) -> ParseError:
        tok = self.tok
        found = "the end of the expression" if tok.kind == "END" else f"{tok.text!r}"
        return ParseError(f"expected {expected} but found {found}", tok.pos, self.expr)

    def take(self, kind: str) -> _Token:
        tok = self.tok
        if tok.kind != kind:
            raise self.fail(kind)
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.tok.kind == "END":
            raise ParseError("the expression is empty", 0, self.expr)
        node = self.or_expr()
        if self.tok.kind != "END":
            raise self.fail("an operator or the end of the expression")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.tok.kind == "OR":
            self.i += 1
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while True:
            if self.tok.kind == "AND":
                self.i += 1
            elif self.tok.kind not in ("WORD", "QUOTED", "GROUP", "FACT", "LPAREN", "NOT", "FIELD"):
                break
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self) -> Node:
        if self.tok.kind == "NOT":
            self.descend()
            self.i += 1
            node = Not(self.not_expr())
            self.depth -= 1
            return node
        return self.near_expr()

    def near_expr(self) -> Node:
        start = self.tok.pos
        left = self.primary()
        while self.tok.kind == "NEAR":
            op = self.tok
            self.i += 1
            unit, distance = _near_arg(op, self.expr)
            right_pos = self.tok.pos
            right = self.primary()
            _check_near_operand(left, start, self.expr)
            _check_near_operand(right, right_pos, self.expr)
            left = Near(left, right, unit, distance)
        return left

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "LPAREN":
            self.descend()
            self.i += 1
            node = self.or_expr()
            if self.tok.kind != "RPAREN":
                raise self.fail("')'")
            self.i += 1
            self.depth -= 1
            return node
        if tok.kind == "FIELD":
            self.i += 1
            if self.tok.kind == "END" or self.tok.pos != tok.pos + len(tok.text) + 1:
                raise ParseError(
                    f"'{tok.text}:' must be followed directly by a word or '('", tok.pos, self.expr
                )
            self.descend()
            node = scoped(tok.text, self.primary())  # type: ignore[arg-type]
            self.depth -= 1
            return node
        if tok.kind in ("WORD", "QUOTED"):
            self.i += 1
            if not tok.text.strip():
                raise ParseError("a quoted word cannot be empty", tok.pos, self.expr)
            return Word(tok.text)
        if tok.kind == "GROUP":
            self.i += 1
            return GroupRef(tok.text)
        if tok.kind == "FACT":
            self.i += 1
            return Fact(facts.normal(tok.text) or tok.text)
        raise self.fail("a word, a quoted word, @group or '('")


def _near_arg(tok: _Token, expr: str) -> tuple[NearUnit, int]:
    arg = tok.text
    if arg == "S":
        return "sentence", 0
    if arg == "P":
        return "paragraph", 0
    if arg.isdigit() and int(arg) <= MAX_NEAR:
        return "char", int(arg)
    raise ParseError(
        f"NEAR takes a distance 0-{MAX_NEAR}, S (same sentence) or P (same paragraph), not {arg!r}",
        tok.pos,
        expr,
    )


def _check_near_operand(node: Node, pos: int, expr: str) -> None:
    """NEAR compares positions, so each side must be words that can be found."""
    if isinstance(node, Word | GroupRef):
        return
    if isinstance(node, Or):
        for child in node.children:
            _check_near_operand(child, pos, expr)
        return
    if isinstance(node, Fact):
        raise ParseError(
            "NEAR compares words; region:, sentiment: and negative>= are not", pos, expr
        )
    if isinstance(node, Scoped):
        raise ParseError(
            "put a field scope around the whole NEAR, e.g. title:(a NEAR/5 b)", pos, expr
        )
    raise ParseError("each side of NEAR must be a word, @group, or (a OR b ...) of them", pos, expr)


MAX_EXPRESSION = 10_000  # characters: a rule or a search, long enough for any real one
MAX_WORD = 100  # characters of one word: a keyword is a word or short phrase, not a text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse(expr: str) -> Node:
    """Parse an expression; raises :class:`ParseError` naming the position."""
    control = _CONTROL.search(expr)
    if control:
        raise ParseError("control characters (such as NUL) are not allowed", control.start(), expr)
    node = _Parser(expr).parse()
    _check_exclusions(node, expr)
    return node


def parse_input(expr: str) -> Node:
    """Parse an expression a person wrote (a rule, a search): :func:`parse` within the
    limits of :data:`MAX_EXPRESSION` and :data:`MAX_WORD`, so no engine below ever sees one
    it cannot take. Queries the program builds (a rule with its groups expanded) may be
    longer and go through :func:`parse`."""
    if len(expr) > MAX_EXPRESSION:
        raise ParseError(f"the expression is longer than {MAX_EXPRESSION} characters", 0, expr)
    node = parse(expr)
    for leaf in walk(node):
        if isinstance(leaf, Word) and len(leaf.text) > MAX_WORD:
            where = expr.find(leaf.text[:20])
            message = f"a word is longer than {MAX_WORD} characters ({len(leaf.text)})"
            raise ParseError(message, max(where, 0), expr)
    return node


def _positive(node: Node) -> bool:
    """False when ``node`` could be satisfied by the mere absence of words."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(c) for c in node.children)
    if isinstance(node, Or):
        return all(_positive(c) for c in node.children)
    return True


def _check_exclusions(node: Node, expr: str) -> None:
    """NOT only removes matches from the words beside it in an AND; a NOT that stands
    alone (at the top or as an OR alternative) would match nearly everything."""
    if not _positive(node):
        raise ParseError(
            "the expression only excludes (NOT ...): add a word it must contain", 0, expr
        )
    for n in walk(node):
        if isinstance(n, Or) and not all(_positive(c) for c in n.children):
            raise ParseError(
                "an OR alternative cannot be only NOT ...: put the exclusion beside "
                "the words in an AND",
                0,
                expr,
            )
        if isinstance(n, Not) and isinstance(n.child, Not):
            raise ParseError("NOT NOT is not allowed: drop both", 0, expr)


def scoped(field: Field, node: Node) -> Node:
    """Push a field scope down to the words, so every compiler sees it on leaves only;
    an inner scope wins over an outer one."""
    if isinstance(node, Not):
        return Not(scoped(field, node.child))
    if isinstance(node, And):
        return And(tuple(scoped(field, c) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(scoped(field, c) for c in node.children))
    if isinstance(node, Scoped | Fact):
        return node  # a fact is about the whole item, not a field
    return Scoped(field, node)


def walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Not | Scoped):
        yield from walk(node.child)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Near):
        yield from walk(node.left)
        yield from walk(node.right)


def group_names(node: Node) -> set[str]:
    return {n.name for n in walk(node) if isinstance(n, GroupRef)}


def expand_groups(node: Node, words_of: Callable[[str], list[str]]) -> Node:
    """Replace each ``@group`` by the OR of its words (``words_of`` raises if unknown)."""
    if isinstance(node, GroupRef):
        words = words_of(node.name)
        if not words:
            raise ValueError(f"group @{node.name} has no words")
        return Word(words[0]) if len(words) == 1 else Or(tuple(Word(w) for w in words))
    if isinstance(node, Not):
        return Not(expand_groups(node.child, words_of))
    if isinstance(node, Scoped):
        return Scoped(node.field, expand_groups(node.child, words_of))
    if isinstance(node, And):
        return And(tuple(expand_groups(c, words_of) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(expand_groups(c, words_of) for c in node.children))
    if isinstance(node, Near):
        return Near(
            expand_groups(node.left, words_of),
            expand_groups(node.right, words_of),
            node.unit,
            node.distance,
        )
    return node


def split_negatives(children: tuple[Node, ...]) -> tuple[list[Node], list[Node]]:
    """Split AND operands into the ones that must match and the excluded ones."""
    positive: list[Node] = [c for c in children if not isinstance(c, Not)]
    negative = [c.child for c in children if isinstance(c, Not)]
    return positive, negative


def to_text(node: Node) -> str:
    """Write ``node`` back as an expression that parses to the same tree; every word is
    quoted, so a word can never be read as an operator."""
    if isinstance(node, Word):
        return '"' + node.text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(node, GroupRef):
        return f"@{node.name}"
    if isinstance(node, Fact):
        return node.name
    if isinstance(node, Scoped):
        return f"{node.field}:({to_text(node.child)})"
    if isinstance(node, Not):
        return f"NOT ({to_text(node.child)})"
    if isinstance(node, And):
        return " AND ".join(f"({to_text(c)})" for c in node.children)
    if isinstance(node, Or):
        return " OR ".join(f"({to_text(c)})" for c in node.children)
    unit = {"char": str(node.distance), "sentence": "S", "paragraph": "P"}[node.unit]
    return f"({to_text(node.left)}) NEAR/{unit} ({to_text(node.right)})"
