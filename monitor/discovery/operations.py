"""Accepting and dismissing a suggestion: the only state changes discovery makes, each
audited once (accepting is the keyword operation that adds the word to the group)."""

from __future__ import annotations

from dataclasses import asdict

from keywords import operations as keyword_ops
from keywords.library import KeywordLibrary
from monitor.discovery.segment import han_runs
from store import Invalid, NotFound
from store.acting import Acting
from store.model import Dismissal


def check_term(term: str) -> str:
    """A suggested term is one run of Han characters (what discovery finds), 2..20 long."""
    term = term.strip()
    if not 2 <= len(term) <= 20 or han_runs(term) != [term]:
        raise Invalid("term: two to twenty Chinese characters", "term")
    return term


def accept(acting: Acting, term: str, group: str, *, parent: int) -> keyword_ops.Change:
    """Add ``term`` to ``group`` of the library at version ``parent`` (audited by the
    keyword operation, as any edit of a group is), and forget an earlier dismissal."""
    term = check_term(term)
    change = keyword_ops.update_group(acting, group, parent=parent, add=[term])
    earlier = acting.store.discovery.dismissal(term)
    if earlier is not None and acting.store.discovery.undismiss(term):
        acting.audit("discovery.undismiss", f"term:{term}", _data(earlier), None)
    return change


def dismiss(acting: Acting, term: str, *, window_df: int, score: float = 0.0) -> Dismissal:
    """Do not suggest ``term`` again unless it bursts again (twice ``window_df``)."""
    term = check_term(term)
    if window_df < 0:
        raise Invalid("window_df: zero or more", "window_df")
    before = acting.store.discovery.dismissal(term)
    saved = acting.store.discovery.dismiss(
        Dismissal(term, acting.actor, acting.now(), window_df=window_df, score=score)
    )
    acting.audit(
        "discovery.dismiss",
        f"term:{term}",
        None if before is None else _data(before),
        _data(saved),
        time=saved.time,
    )
    return saved


def undismiss(acting: Acting, term: str) -> None:
    """Forget the dismissal of ``term``; :class:`~store.errors.NotFound` if there is none."""
    before = acting.store.discovery.dismissal(term)
    if before is None or not acting.store.discovery.undismiss(term):
        raise NotFound(f"{term} was not dismissed", "term")
    acting.audit("discovery.undismiss", f"term:{term}", _data(before), None)


def library_version(acting: Acting) -> int:
    return KeywordLibrary(acting.store).current()[0]


def _data(d: Dismissal) -> dict[str, object]:
    data = asdict(d)
    data["time"] = d.time.isoformat()
    return data
