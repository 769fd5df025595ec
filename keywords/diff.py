"""What changed between two versions of the keyword library."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keywords.model import Group, Library, Rule


@dataclass
class GroupChange:
    name: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    settings: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (old, new)


@dataclass
class RuleChange:
    name: str
    settings: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class LibraryDiff:
    groups_added: list[str] = field(default_factory=list)
    groups_removed: list[str] = field(default_factory=list)
    groups_changed: list[GroupChange] = field(default_factory=list)
    rules_added: list[str] = field(default_factory=list)
    rules_removed: list[str] = field(default_factory=list)
    rules_changed: list[RuleChange] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(getattr(self, f) for f in self.__dataclass_fields__)

    def summary(self) -> dict[str, Any]:
        """A compact record kept with each version (names and counts)."""
        return {
            "groups_added": self.groups_added,
            "groups_removed": self.groups_removed,
            "groups_changed": [g.name for g in self.groups_changed],
            "words_added": sum(len(g.added) for g in self.groups_changed),
            "words_removed": sum(len(g.removed) for g in self.groups_changed),
            "rules_added": self.rules_added,
            "rules_removed": self.rules_removed,
            "rules_changed": [r.name for r in self.rules_changed],
        }

    def lines(self) -> list[str]:
        """Human-readable lines, for the terminal and the console's diff view."""
        out = [f"+ group {n}" for n in self.groups_added]
        out += [f"- group {n}" for n in self.groups_removed]
        for g in self.groups_changed:
            out += [f"~ group {g.name}: + {w}" for w in g.added]
            out += [f"~ group {g.name}: - {w}" for w in g.removed]
            out += [f"~ group {g.name}: {k} {a!r} -> {b!r}" for k, (a, b) in g.settings.items()]
        out += [f"+ rule {n}" for n in self.rules_added]
        out += [f"- rule {n}" for n in self.rules_removed]
        for r in self.rules_changed:
            out += [f"~ rule {r.name}: {k} {a!r} -> {b!r}" for k, (a, b) in r.settings.items()]
        return out


def _settings(old: Group | Rule, new: Group | Rule, skip: set[str]) -> dict[str, tuple[Any, Any]]:
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    return {k: (before[k], after[k]) for k in before if k not in skip and before[k] != after[k]}


def diff(old: Library, new: Library) -> LibraryDiff:
    """The changes that turn ``old`` into ``new``."""
    result = LibraryDiff()
    old_groups = {g.name: g for g in old.groups}
    new_groups = {g.name: g for g in new.groups}
    result.groups_added = [n for n in new_groups if n not in old_groups]
    result.groups_removed = [n for n in old_groups if n not in new_groups]
    for name, group in new_groups.items():
        if name not in old_groups:
            continue
        before = old_groups[name]
        old_words = {w.text: w for w in before.words}
        new_words = {w.text: w for w in group.words}
        change = GroupChange(
            name,
            added=[w for w in new_words if w not in old_words],
            removed=[w for w in old_words if w not in new_words],
            settings=_settings(before, group, {"id", "name", "words"}),
        )
        for text in new_words.keys() & old_words.keys():
            if new_words[text] != old_words[text]:
                change.settings[f"word {text}"] = (
                    old_words[text].model_dump(mode="json"),
                    new_words[text].model_dump(mode="json"),
                )
        if change.added or change.removed or change.settings:
            result.groups_changed.append(change)
    old_rules = {r.name: r for r in old.rules}
    new_rules = {r.name: r for r in new.rules}
    result.rules_added = [n for n in new_rules if n not in old_rules]
    result.rules_removed = [n for n in old_rules if n not in new_rules]
    for name, rule in new_rules.items():
        # An id is the library's own bookkeeping, not a change an operator made.
        if name in old_rules and (settings := _settings(old_rules[name], rule, {"id", "name"})):
            result.rules_changed.append(RuleChange(name, settings))
    return result
