"""The keyword library: groups of words (词组) and the rules (监测方案) that combine them.

A library is plain data: it round-trips through YAML/JSON exactly, and every
saved change becomes a new version in the store (see :mod:`keywords.library`).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer

from rules.variants import Variants

CATEGORIES = ("region", "subject", "event", "exclusion")
CATEGORY_LABELS = {
    "region": "地域词",
    "subject": "主体词",
    "event": "事件词",
    "exclusion": "排除词",
}
Severity = Literal["info", "warning", "critical"]
Overlaps = Literal["all", "longest"]
_DEFAULTS = Variants()
Scope = Literal["title", "body", "both"]
NAME_PATTERN = r'^[^\s()"@:]{1,64}$'
# A group's or rule's id: what URLs address it by. Made by the library (see
# :meth:`Library.with_ids`), never chosen by an operator; kept across renames and saves.
ID_PATTERN = r"^[gr][0-9a-f]{10,24}$"
Sentence = Annotated[str, Field(max_length=2000)]  # a rule's test sentence


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Word(_Strict):
    """One keyword. ``aliases`` match as the word itself (e.g. 新冠 for 新型冠状病毒)."""

    text: str = Field(min_length=1, max_length=100)
    weight: float = Field(1.0, ge=0, le=100)
    level: int | None = Field(None, ge=0, le=9)
    aliases: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=50
    )

    @model_serializer(mode="wrap")
    def _compact(self, handler: Any) -> Any:
        # A word with nothing but its text is written as a plain string.
        data = handler(self)
        if self.weight == 1.0 and self.level is None and not self.aliases:
            return self.text
        return {k: v for k, v in data.items() if v not in (None, [])}


class Options(_Strict):
    """What else counts as a group's words (see :mod:`rules.variants`; defaults in the
    README's table of what each option costs)."""

    enclosed: bool = Field(
        default=_DEFAULTS.enclosed,
        description="circled/parenthesised letters and digits: Ⓓⓡⓤ⒢, ⑴, ㈠",
    )
    noise: Literal["off", "cjk", "latin", "brackets"] = Field(
        default=_DEFAULTS.noise,
        description="symbols skipped: off; cjk (疫@情); latin (also sp[]am, c.o.v.i.d); "
        "brackets (also 疫]情, 新【冠)",
    )
    lookalikes: bool = Field(
        default=_DEFAULTS.lookalikes,
        description="look-alike digits and letters in Latin words: c0vid",
    )
    repeats: bool = Field(
        default=_DEFAULTS.repeats, description="repeated characters: spaaam, 疫疫情"
    )
    pinyin: bool = Field(
        default=_DEFAULTS.pinyin, description="pinyin and initials: yiqing, YQ, 疫qing"
    )
    homophones: bool = Field(
        default=_DEFAULTS.homophones, description="same-sound characters: 易情"
    )
    split: bool = Field(
        default=_DEFAULTS.split, description="characters split in parts: 弓长 for 张"
    )

    def variants(self) -> Variants:
        return Variants(**self.model_dump())


class Group(_Strict):
    id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="stable id (set by the library)"
    )
    name: str = Field(pattern=NAME_PATTERN)
    category: str = Field("subject", pattern=r"^[\w-]{1,32}$")
    words: list[Word] = Field(default_factory=list)
    enabled: bool = True
    description: str = Field(default="", max_length=2000)
    options: Options = Field(default_factory=lambda: Options())

    @field_validator("words", mode="before")
    @classmethod
    def _plain_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"text": w} if isinstance(w, str) else w for w in value]
        return value

    def texts(self) -> list[str]:
        """Every string this group matches: words and their aliases."""
        return [t for w in self.words for t in (w.text, *w.aliases)]


class Rule(_Strict):
    id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="stable id (set by the library)"
    )
    name: str = Field(min_length=1, max_length=100)
    expression: str = Field(min_length=1, max_length=10_000)
    scope: Scope = "both"
    severity: Severity = "warning"
    enabled: bool = True
    owner: str = Field(default="", max_length=100)
    description: str = Field(default="", max_length=2000)
    must_match: list[Sentence] = Field(default_factory=list, max_length=100)
    must_not_match: list[Sentence] = Field(default_factory=list, max_length=100)
    overlaps: Overlaps = Field(
        default="all",
        description="hits reported: all, or only the leftmost-longest where words overlap "
        "(matching itself always uses all)",
    )


class Place(_Strict):
    """An operator's own place (a school, hospital, industrial park, compound, road) filed
    under an administrative code, so place recognition finds it and ``region:`` covers it.
    ``code`` is ``<parent>-<n>``, given on import."""

    code: str = Field(pattern=r"^\d{2,12}-\d{1,6}$")
    name: str = Field(min_length=2, max_length=64)
    parent: str = Field(pattern=r"^\d{2,12}$")
    kind: str = Field(default="", max_length=32)
    aliases: list[Annotated[str, Field(min_length=2, max_length=64)]] = Field(
        default_factory=list, max_length=20
    )


class DivisionChange(_Strict):
    """A change of the official administrative divisions imported from the code list
    (``yuqing places import-codes``), laid over the gazetteer ``make analysis-data``
    builds: a new division, one renamed (its old names kept as ``former``, 曾用名, which
    recognition still resolves to the code) or one no longer on the list (``removed``)."""

    code: str = Field(pattern=r"^\d{2}(\d{2}(\d{2}(\d{3})?)?)?$")
    name: str = Field(min_length=1, max_length=64)
    parent: str = Field(default="", pattern=r"^$|^\d{2,6}$")
    former: list[Annotated[str, Field(min_length=2, max_length=64)]] = Field(
        default_factory=list, max_length=20
    )
    removed: bool = False


class Library(_Strict):
    groups: list[Group] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    divisions: list[DivisionChange] = Field(default_factory=list)

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def group_by_id(self, ident: str) -> Group | None:
        return next((g for g in self.groups if g.id == ident), None)

    def rule_by_id(self, ident: str) -> Rule | None:
        return next((r for r in self.rules if r.id == ident), None)

    def to_data(self, *, ids: bool = False) -> dict[str, Any]:
        """The export form: defaults left out, so files stay small and diff well; the
        stored form (``ids``) also keeps each group's and rule's id."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        if not ids:
            for kind in ("groups", "rules"):
                for entry in data.get(kind, []):
                    entry.pop("id", None)
        return data

    def with_ids(self, previous: Library | None = None) -> Library:
        """This library with an id on every group and rule (a copy; ``self`` is unchanged).

        Ids already set stay (a duplicate is given a new one). A group or rule without one
        takes the id its name had in ``previous`` (the version this one replaces: an import
        that replaces a group, a rollback), or else one made from its name, so a library
        saved before ids existed gets the same ids every time it is read."""
        result = self.model_copy(deep=True)
        for kind, prefix in (("groups", "g"), ("rules", "r")):
            entries: list[Group] | list[Rule] = getattr(result, kind)
            known = {e.name: e.id for e in getattr(previous, kind)} if previous else {}
            used: set[str] = set()
            for entry in entries:
                if entry.id is not None and entry.id not in used:
                    used.add(entry.id)
                else:
                    entry.id = None
            for entry in entries:
                if entry.id is None:
                    inherited = known.get(entry.name)
                    entry.id = (
                        inherited if inherited and inherited not in used else None
                    ) or new_id(prefix, entry.name, used)
                    used.add(entry.id)
        return result


def new_id(prefix: str, name: str, used: set[str]) -> str:
    """An id for ``name`` that is not in ``used``: the same one for the same name and
    ``used``, so reading an old library twice gives the same ids."""
    n = 0
    while True:
        salt = f"#{n}" if n else ""
        ident = prefix + hashlib.sha256(f"{name}{salt}".encode()).hexdigest()[:12]
        if ident not in used:
            return ident
        n += 1
