"""Changes to the keyword library, one operation each.

An operation checks the change against the version the editor read (``parent``: if someone
saved in between it is refused, never merged over their work), applies it, saves the whole
library as the next version (validated, test sentences run) and writes **one** audit entry:
who, when, the group or rule before and after, and the version it made. The API, the
console and ``yuqing keywords`` call these; nothing else writes the library.

Refusals: :class:`~store.errors.ConflictError` (stale ``parent``, a name taken),
:class:`~store.errors.NotFound` (no such group, rule or version),
:class:`~store.errors.Invalid` (a bad field) and :class:`~keywords.validate.InvalidLibrary`
(the library the change would make has problems, each with its place).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from keywords import places
from keywords.diff import LibraryDiff, diff
from keywords.io import merge
from keywords.library import KeywordLibrary, compile_library
from keywords.model import Group, Library, Place, Rule, Word, new_id
from store import ConflictError, Invalid, NotFound
from store.acting import Acting
from store.model import LibraryVersion

ImportMode = Literal["add", "replace"]
M = TypeVar("M", bound=BaseModel)
# A group's name and words change by their own means (a new group; add and remove).
_FIXED_GROUP_FIELDS = frozenset({"name", "words"})


@dataclass(frozen=True)
class Change:
    """A saved change: the new ``version``, the group or rule ``before`` and ``after`` it
    (as data; None where it did not exist) and what changed in the library."""

    version: LibraryVersion
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changes: LibraryDiff


# -- groups ----------------------------------------------------------------------------


def create_group(acting: Acting, group: Group, *, parent: int) -> Change:
    """Add ``group`` to the library at version ``parent``."""

    def edit(library: Library) -> tuple[None, dict[str, Any]]:
        if library.group(group.name) is not None:
            raise ConflictError(f"there is already a group {group.name}", "name")
        used = {g.id for g in library.groups if g.id}
        added = group.model_copy(update={"id": new_id("g", group.name, used)})
        library.groups.append(added)
        return None, group_data(added)

    return _change(acting, parent, "keywords.group.create", f"group:{group.name}", edit)


def update_group(
    acting: Acting,
    key: str,
    *,
    parent: int,
    settings: Mapping[str, Any] | None = None,
    add: Iterable[Word | str | Mapping[str, Any]] = (),
    remove: Iterable[str] = (),
) -> Change:
    """Change the group ``key`` (its id, or its name): its ``settings`` (any field but
    its name and words, e.g. ``category``, ``enabled``), words to ``add`` (those it has
    already stay as they are) and the texts of words to ``remove``."""

    def edit(library: Library) -> tuple[dict[str, Any], dict[str, Any]]:
        group = find_group(library, key)
        name = group.name
        before = group_data(group)
        fields = dict(settings or {})
        if fixed := sorted((_FIXED_GROUP_FIELDS | {"id"}) & fields.keys()):
            raise Invalid(f"{fixed[0]}: cannot be changed here", fixed[0])
        if isinstance(fields.get("options"), Mapping):
            # Options not named keep their value: a change names only what it changes.
            fields["options"] = group.options.model_dump() | dict(fields["options"])
        changed = _validated(Group, group.model_dump() | fields)
        removed = set(remove)
        if missing := removed - {w.text for w in changed.words}:
            raise Invalid(f"group {name} has no word {min(missing)!r}", "remove")
        changed.words = [w for w in changed.words if w.text not in removed]
        added = _validated(Group, {"name": name, "words": list(add)})
        changed.words = merge(Library(groups=[changed]), Library(groups=[added])).groups[0].words
        library.groups[library.groups.index(group)] = changed
        return before, group_data(changed)

    return _change(acting, parent, "keywords.group.update", _target("group", key), edit)


def delete_group(acting: Acting, key: str, *, parent: int) -> Change:
    """Remove the group ``key`` (its id, or its name; refused while a rule uses it: the
    library would not validate)."""

    def edit(library: Library) -> tuple[dict[str, Any], None]:
        group = find_group(library, key)
        library.groups.remove(group)
        return group_data(group), None

    return _change(acting, parent, "keywords.group.delete", _target("group", key), edit)


# -- rules -----------------------------------------------------------------------------


def create_rule(acting: Acting, rule: Rule, *, parent: int) -> Change:
    """Add ``rule``; its expression and test sentences are checked with the library."""

    def edit(library: Library) -> tuple[None, dict[str, Any]]:
        if library.rule(rule.name) is not None:
            raise ConflictError(f"there is already a rule {rule.name}", "name")
        used = {r.id for r in library.rules if r.id}
        added = rule.model_copy(update={"id": new_id("r", rule.name, used)})
        library.rules.append(added)
        return None, rule_data(added)

    return _change(acting, parent, "keywords.rule.create", f"rule:{rule.name}", edit)


def update_rule(acting: Acting, key: str, fields: Mapping[str, Any], *, parent: int) -> Change:
    """Change the given ``fields`` of the rule ``key`` (its id, or its name; a new ``name``
    renames it, its id stays)."""

    def edit(library: Library) -> tuple[dict[str, Any], dict[str, Any]]:
        rule = find_rule(library, key)
        name = rule.name
        if "id" in fields:
            raise Invalid("id: cannot be changed", "id")
        new_name = fields.get("name", name)
        if new_name != name and library.rule(new_name) is not None:
            raise ConflictError(f"there is already a rule {new_name}", "name")
        changed = _validated(Rule, rule.model_dump() | dict(fields))
        library.rules[library.rules.index(rule)] = changed
        return rule_data(rule), rule_data(changed)

    def carry(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
        old, new = (before or {}).get("name"), (after or {}).get("name")
        return _carry_rule_state(acting, old, new) if old and new and old != new else {}

    return _change(acting, parent, "keywords.rule.update", _target("rule", key), edit, carry)


def _carry_rule_state(acting: Acting, old: str, new: str) -> dict[str, Any]:
    """What is stored under a rule's name (its alert policy, its emergency switch) moves
    with a rename: the renamed rule keeps alerting as it did, and nothing is left behind
    under a name no rule has."""
    store, moved = acting.store, {}
    policy = store.alert_policies.get(old)
    if policy is not None and store.alert_policies.get(new) is None:
        store.alert_policies.put(replace(policy, rule=new, version=None))
        store.alert_policies.delete(old)
        moved["alert_policy"] = new
    switch = store.emergencies.get(old)
    if switch is not None and switch.on and store.emergencies.get(new) is None:
        store.emergencies.put(replace(switch, scope=new, version=None))
        store.emergencies.put(replace(switch, on=False, until=None))
        moved["emergency"] = new
    return {"carried": moved} if moved else {}


def delete_rule(acting: Acting, key: str, *, parent: int) -> Change:
    def edit(library: Library) -> tuple[dict[str, Any], None]:
        rule = find_rule(library, key)
        library.rules.remove(rule)
        return rule_data(rule), None

    return _change(acting, parent, "keywords.rule.delete", _target("rule", key), edit)


# -- the whole library -----------------------------------------------------------------


def preview_import(
    keywords: KeywordLibrary, incoming: Library, *, parent: int, mode: ImportMode = "add"
) -> tuple[Library, LibraryDiff]:
    """What importing ``incoming`` on top of version ``parent`` would make, and the
    difference; checked like a save, nothing stored."""
    head, current = keywords.current()
    _check_parent(head, parent)
    merged = merge(current, incoming, mode=mode)
    compile_library(merged)
    return merged, diff(current, merged)


def import_library(
    acting: Acting,
    incoming: Library,
    *,
    parent: int | None = None,
    mode: ImportMode = "add",
    message: str = "",
    details: Mapping[str, Any] | None = None,
) -> Change:
    """Merge ``incoming`` (read from a file) into the library at ``parent`` (default: the
    newest): ``add`` words to groups or ``replace`` whole groups; all or nothing. The audit
    entry carries ``details`` (e.g. the file name and counts) and the changes."""
    keywords = KeywordLibrary(acting.store)
    head, current = keywords.current()
    parent = head if parent is None else parent
    _check_parent(head, parent)
    merged = merge(current, incoming, mode=mode)
    saved, changes = keywords.commit(
        merged, author=acting.actor, created=acting.now(), message=message, parent=parent
    )
    acting.audit(
        "keywords.import",
        f"library:{saved.version}",
        {"version": parent},
        {"version": saved.version, "import": dict(details or {}), "changes": changes.lines()},
        time=saved.created,
    )
    return Change(saved, None, None, changes)


def import_places(
    acting: Acting,
    incoming: list[Place],
    *,
    parent: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> Change:
    """Add operators' places (read by :func:`keywords.places.read_places`) to the library
    at ``parent`` (default: the newest) as one new version, audited once with the file's
    ``details`` and the codes given."""
    keywords = KeywordLibrary(acting.store)
    head, current = keywords.current()
    parent = head if parent is None else parent
    _check_parent(head, parent)
    library, added = places.merged(current, incoming)
    saved, changes = keywords.commit(
        library, author=acting.actor, created=acting.now(), message="import places", parent=parent
    )
    codes = {(p.name, p.parent): p.code for p in library.places}
    acting.audit(
        "keywords.places.import",
        f"library:{saved.version}",
        {"version": parent},
        {
            "version": saved.version,
            "import": dict(details or {}),
            "added": added,
            "places": [f"{codes[p.name, p.parent]} {p.name}" for p in incoming],
        },
        time=saved.created,
    )
    return Change(saved, None, None, changes)


def import_codes(
    acting: Acting,
    lines: list[places.CodeLine],
    *,
    villages: int = 0,
    remove: bool = True,
    parent: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> tuple[Change, places.CodeImport]:
    """Update the divisions from an official code list (read by
    :func:`keywords.places.read_codes`): new ones added, renamed ones keeping the old name
    as a former name, ones no longer listed marked removed (see
    :func:`keywords.places.plan_codes`). One new library version at ``parent`` (default:
    the newest), audited once with the file's ``details`` and what changed. Kept in the
    store, so a rebuild of the gazetteer (``make analysis-data``) keeps it."""
    keywords = KeywordLibrary(acting.store)
    head, current = keywords.current()
    parent = head if parent is None else parent
    _check_parent(head, parent)
    plan = places.plan_codes(current, lines, villages=villages, remove=remove)
    library = current.model_copy(update={"divisions": plan.changes})
    saved, changes = keywords.commit(
        library,
        author=acting.actor,
        created=acting.now(),
        message="import division codes",
        parent=parent,
    )
    acting.audit(
        "keywords.places.codes",
        f"library:{saved.version}",
        {"version": parent},
        {
            "version": saved.version,
            "import": dict(details or {}),
            **plan.summary(),
            "changed": [*plan.added, *plan.renamed, *plan.removed, *plan.restored][:200],
        },
        time=saved.created,
    )
    return Change(saved, None, None, changes), plan


def rollback(acting: Acting, to: int, *, parent: int | None = None) -> LibraryVersion:
    """Make version ``to`` current again as a new version after ``parent`` (default: the
    newest); history is never rewritten."""
    keywords = KeywordLibrary(acting.store)
    saved, _changes = keywords.commit(
        keywords.at(to),
        author=acting.actor,
        created=acting.now(),
        message=f"rollback to version {to}",
        parent=parent,
    )
    acting.audit(
        "keywords.rollback",
        f"library:{saved.version}",
        {"version": saved.parent or 0},
        {"version": saved.version, "restored": to},
        time=saved.created,
    )
    return saved


def save_library(
    acting: Acting, library: Library, *, parent: int | None = None, message: str = ""
) -> LibraryVersion:
    """Make ``library`` the next version after ``parent`` (default: the newest) as it is,
    e.g. a sample library loaded into an empty store."""
    keywords = KeywordLibrary(acting.store)
    saved, changes = keywords.commit(
        library, author=acting.actor, created=acting.now(), message=message, parent=parent
    )
    acting.audit(
        "library.save",
        f"library:{saved.version}",
        {"version": saved.parent or 0},
        {"version": saved.version, "changes": changes.lines()},
        time=saved.created,
    )
    return saved


# -- shared ----------------------------------------------------------------------------


def find_group(library: Library, key: str) -> Group:
    """The group whose id is ``key``, or else whose name is (no name is another group's
    id: see :func:`keywords.validate.check`)."""
    group = library.group_by_id(key) or library.group(key)
    if group is None:
        raise NotFound(f"no group {key}", "name")
    return group


def find_rule(library: Library, key: str) -> Rule:
    """The rule whose id is ``key``, or else whose name is."""
    rule = library.rule_by_id(key) or library.rule(key)
    if rule is None:
        raise NotFound(f"no rule {key}", "name")
    return rule


def _target(kind: str, key: str) -> Callable[[Library], str]:
    """The audit target of the group or rule ``key`` (id or name): ``group:<its name>``."""

    def target(library: Library) -> str:
        found = find_group(library, key) if kind == "group" else find_rule(library, key)
        return f"{kind}:{found.name}"

    return target


def group_data(group: Group) -> dict[str, Any]:
    """A group as the API shows it and the audit records it: every word as an object (the
    export form writes plain words as strings)."""
    data = group.model_dump(mode="json", exclude={"words"})
    data["words"] = [
        {"text": w.text, "weight": w.weight, "level": w.level, "aliases": w.aliases}
        for w in group.words
    ]
    return data


def rule_data(rule: Rule) -> dict[str, Any]:
    return rule.model_dump(mode="json")


def _change(
    acting: Acting,
    parent: int,
    action: str,
    target: str | Callable[[Library], str],
    edit: Callable[[Library], tuple[dict[str, Any] | None, dict[str, Any] | None]],
    then: Callable[[dict[str, Any] | None, dict[str, Any] | None], dict[str, Any]] | None = None,
) -> Change:
    """Apply ``edit`` to the library at ``parent``, save the result as the next version and
    audit it once; ``edit`` returns the changed group or rule before and after. ``then``
    runs after the save (what else the change moves, recorded in the same audit entry)."""
    keywords = KeywordLibrary(acting.store)
    head, library = keywords.current()
    _check_parent(head, parent)
    if callable(target):
        target = target(library)
    before, after = edit(library)
    saved, changes = keywords.commit(
        library, author=acting.actor, created=acting.now(), parent=parent
    )
    extra = then(before, after) if then is not None else {}
    acting.audit(
        action,
        target,
        before,
        {"version": saved.version, "data": after, **extra},
        time=saved.created,
    )
    return Change(saved, before, after, changes)


def _check_parent(head: int, parent: int) -> None:
    if parent != head:
        raise ConflictError(
            f"the library is at version {head}, not {parent}: reload and retry", "parent"
        )


def _validated(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(x) for x in first["loc"]) or None
        raise Invalid(f"{field}: {first['msg']}" if field else first["msg"], field) from e
