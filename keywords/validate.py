"""Checks a library must pass before it is saved; every problem names its place."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from analysis.gazetteer import default as gazetteer
from keywords.model import Group, Library
from rules.normalize import normalize
from rules.syntax import Fact, ParseError, Word, group_names, parse_input, walk


@dataclass(frozen=True)
class Problem:
    where: str  # e.g. "group 潼南地名, word 3" or "rule 火灾监测, expression"
    message: str
    position: int | None = None  # in a rule expression, 0-based

    def __str__(self) -> str:
        at = f" (at character {self.position + 1})" if self.position is not None else ""
        return f"{self.where}: {self.message}{at}"


class InvalidLibrary(ValueError):
    """The library has problems; nothing was saved."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def check(library: Library) -> list[Problem]:
    """Everything wrong with ``library`` except its rules' test sentences (those need the
    matcher: see :func:`keywords.matcher.run_rule_tests`)."""
    problems: list[Problem] = []
    for name, n in Counter(g.name for g in library.groups).items():
        if n > 1:
            problems.append(Problem(f"group {name}", f"the name is used by {n} groups"))
    for name, n in Counter(r.name for r in library.rules).items():
        if n > 1:
            problems.append(Problem(f"rule {name}", f"the name is used by {n} rules"))
    # URLs address a group or rule by its id, or (older links) by its name: a name that is
    # another one's id would make such a link ambiguous.
    for kind, entries in (("group", library.groups), ("rule", library.rules)):
        ids = {e.id: e.name for e in entries if e.id}
        for e in entries:
            if ids.get(e.name, e.name) != e.name:
                problems.append(
                    Problem(f"{kind} {e.name}", f"the name is the id of {kind} {ids[e.name]}")
                )
    for group in library.groups:
        if group.enabled and not group.words:
            problems.append(Problem(f"group {group.name}", "has no words"))
        seen: dict[str, str] = {}
        for n, text in enumerate(group.texts(), 1):
            key = normalize(text)
            if not key:
                problems.append(
                    Problem(f"group {group.name}, word {n} {text!r}", "normalises to nothing")
                )
            elif key in seen:
                problems.append(
                    Problem(
                        f"group {group.name}, word {n} {text!r}",
                        f"is the same word as {seen[key]!r} after normalisation",
                    )
                )
            else:
                seen[key] = text
    groups = {g.name: g for g in library.groups}
    for rule in library.rules:
        problems += expression_problems(
            rule.expression, groups, f"rule {rule.name}, expression", enabled=rule.enabled
        )
    return problems + _region_problems(library)


def _region_problems(library: Library) -> list[Problem]:
    """Region codes that name no place (a ``region:`` that could never hold, a place filed
    under nothing); not checked where the gazetteer was not built."""
    try:
        known = gazetteer().places
    except FileNotFoundError:
        return []
    problems = [
        Problem(f"place {p.name}", f"the parent code {p.parent} is no place of the gazetteer")
        for p in library.places
        if p.parent not in known
    ]
    own = {p.code for p in library.places}
    for rule in library.rules:
        try:
            node = parse_input(rule.expression)
        except ParseError:
            continue  # reported with its position above
        for fact in walk(node):
            if isinstance(fact, Fact) and fact.name.startswith("region"):
                code = fact.name.partition(":")[2]
                if code not in known and code not in own:
                    where = f"rule {rule.name}, expression"
                    problems.append(Problem(where, f"{fact.name}: no place has the code {code}"))
    return problems


def expression_problems(
    expression: str, groups: dict[str, Group], where: str = "expression", *, enabled: bool = True
) -> list[Problem]:
    """What is wrong with a rule expression over ``groups`` (by name): a parse error with its
    position, words that normalise to nothing, unknown groups and, if the rule is
    ``enabled``, disabled ones."""
    try:
        node = parse_input(expression)
    except ParseError as e:
        return [Problem(where, e.message, e.position)]
    problems = [
        Problem(where, f"the word {word.text!r} normalises to nothing")
        for word in walk(node)
        if isinstance(word, Word) and not normalize(word.text)
    ]
    for name in sorted(group_names(node)):
        referenced = groups.get(name)
        if referenced is None:
            problems.append(Problem(where, f"unknown group @{name}"))
        elif enabled and not referenced.enabled:
            problems.append(Problem(where, f"group @{name} is disabled"))
    return problems
