"""The keyword library as kept in the store: reading versions, and committing a new one.

Every change is a new version (who, when, what changed); committing validates the whole
library and runs each rule's test sentences first, and stores nothing if anything fails.
Changes go through :mod:`keywords.operations`, which commit and audit each one once.
"""

from __future__ import annotations

from datetime import datetime

from keywords.diff import LibraryDiff, diff
from keywords.matcher import Matcher, run_rule_tests
from keywords.model import Library
from keywords.validate import InvalidLibrary, Problem, check
from store import ConflictError, NotFound, Store
from store.model import LibraryVersion


class KeywordLibrary:
    """The library in ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def current(self) -> tuple[int, Library]:
        """The newest version number (0 before the first save) and its library."""
        head = self.store.library.head()
        if head is None:
            return 0, Library()
        return head.version, Library.model_validate(head.data).with_ids()

    def at(self, version: int) -> Library:
        if version == 0:
            return Library()
        saved = self.store.library.get(version)
        if saved is None:
            raise NotFound(f"no library version {version}", "version")
        # A version saved before ids existed gets them as it is read, the same each time.
        return Library.model_validate(saved.data).with_ids()

    def commit(
        self,
        library: Library,
        *,
        author: str,
        created: datetime,
        message: str = "",
        parent: int | None = None,
    ) -> tuple[LibraryVersion, LibraryDiff]:
        """Store ``library`` as the next version after ``parent`` (default: the current
        head) and say what changed; not audited (the operations in
        :mod:`keywords.operations` do that). Raises :class:`InvalidLibrary`, or
        :class:`ConflictError` if someone saved first."""
        head, before = self.current()
        if parent is None:
            parent = head
        elif parent != head:
            raise ConflictError(
                f"the library is at version {head}, not {parent}: reload and retry", "parent"
            )
        # Groups and rules keep the ids they had (by name, where an import or a rollback
        # brought them without one); new ones get theirs here.
        library = library.with_ids(before)
        compile_library(library)
        changes = diff(before, library)
        saved = self.store.library.commit(
            LibraryVersion(
                version=parent + 1,
                parent=parent or None,
                author=author,
                created=created,
                message=message or _describe(changes),
                data=library.to_data(ids=True),
                summary=changes.summary(),
            )
        )
        return saved, changes

    def diff(self, old: int, new: int) -> LibraryDiff:
        return diff(self.at(old), self.at(new))


def _describe(changes: LibraryDiff) -> str:
    s = changes.summary()
    parts = [
        f"{len(s['groups_added'])} groups added" if s["groups_added"] else "",
        f"{len(s['groups_removed'])} groups removed" if s["groups_removed"] else "",
        f"{s['words_added']} words added" if s["words_added"] else "",
        f"{s['words_removed']} words removed" if s["words_removed"] else "",
        f"{len(s['rules_added'])} rules added" if s["rules_added"] else "",
        f"{len(s['rules_removed'])} rules removed" if s["rules_removed"] else "",
        f"{len(s['rules_changed'])} rules changed" if s["rules_changed"] else "",
    ]
    return ", ".join(p for p in parts if p) or "no changes"


def compile_library(library: Library, version: int = 0) -> Matcher:
    """Validate and compile ``library``; raises :class:`InvalidLibrary` with every
    problem, including failing rule test sentences."""
    problems = check(library)
    # The test sentences of the rules that have no problem of their own still run, so one
    # look lists every problem there is, not one stage at a time.
    broken = {p.where.split(",")[0].removeprefix("rule ") for p in problems}
    testable = library.model_copy(
        update={"rules": [r for r in library.rules if r.name not in broken]}
    )
    try:
        matcher = Matcher(testable, version)
    except ValueError:
        if problems:
            raise InvalidLibrary(problems) from None
        raise
    problems += [
        Problem(f"rule {rule}, test sentence {sentence!r}", outcome)
        for rule, sentence, outcome in run_rule_tests(matcher)
    ]
    if problems:
        raise InvalidLibrary(problems)
    return matcher
