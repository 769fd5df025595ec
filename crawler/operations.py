"""Changes to the source registry, one operation each: add, edit, delete, seed from a file,
ask for a run now.

Each validates (every field, see :func:`crawler.sources.validate`; new URLs must be http(s)
to a public host unless an admin allows private ones for that source: its field
``allow_private``, which the audit records), writes, and writes one audit entry per source
it changed: who, when, before and after. The API, the console and ``yuqing
sources``/``yuqing crawl`` call these. Emergency crawling
(:func:`crawler.sources.set_emergency`) is part of switching emergency mode and is audited
with that switch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from crawler.sources import validate
from crawler.urls import check_url
from store import ConflictError, Invalid, NotFound
from store.acting import Acting
from store.codec import to_doc
from store.model import Source


def create_source(acting: Acting, source: Source, *, allow_private: bool | None = None) -> Source:
    """Add ``source`` (its id must be new); returns it as stored. ``allow_private``
    (None: ``source.allow_private``) lets its start URLs' hosts have private, loopback or
    link-local addresses, here and at every fetch (:mod:`crawler.pinning`)."""
    store = acting.store
    if store.sources.get(source.id) is not None:
        raise ConflictError(f"a source {source.id!r} exists already", "id")
    if allow_private is not None:
        source.allow_private = allow_private
    checked = _checked(source, allow_private=source.allow_private)
    checked.version = None  # new: nothing to check against
    saved = store.sources.put(checked)
    acting.audit("source.create", f"source:{saved.id}", None, _record(saved))
    return saved


def update_source(
    acting: Acting, source_id: str, source: Source, *, allow_private: bool | None = None
) -> Source:
    """Replace the settings of ``source_id`` with ``source``'s. With ``source.version`` set
    (the version the editor read) someone else's change in between is a conflict. URLs
    the source has already are not checked again; emergency crawling set by alerting
    stays as it is. ``allow_private``: True or False sets the permission for private
    addresses; None keeps the stored one."""
    stored = find_source(acting, source_id)
    if source.id != source_id:
        raise Invalid("id cannot change; add a new source instead", "id")
    source.allow_private = stored.allow_private if allow_private is None else allow_private
    checked = _checked(source, known=stored.start_urls, allow_private=source.allow_private)
    checked.emergency_interval = stored.emergency_interval
    checked.emergency_until = stored.emergency_until
    checked.version = source.version or stored.version
    saved = acting.store.sources.put(checked)
    acting.audit(
        "source.update",
        f"source:{source_id}",
        _record(stored),
        _record(saved),
    )
    return saved


def delete_source(acting: Acting, source_id: str) -> Source:
    """Remove the source (its runs and items stay); returns what it was."""
    stored = find_source(acting, source_id)
    acting.store.sources.delete(source_id)
    acting.audit("source.delete", f"source:{source_id}", _record(stored), None)
    return stored


def seed_sources(acting: Acting, sources: Iterable[Source]) -> list[Source]:
    """Add those of ``sources`` (read from a file, already validated) the registry lacks;
    sources it has are left as they are, edits included. Returns those added."""
    store = acting.store
    have = {s.id for s in store.sources.list()}
    added = []
    for source in sources:
        if source.id in have:
            continue
        saved = store.sources.put(validate(source))
        acting.audit("source.seed", f"source:{saved.id}", None, _record(saved))
        added.append(saved)
    return added


def request_run(acting: Acting, source_id: str, start: Callable[[str], bool]) -> None:
    """Ask for a run of ``source_id`` now, outside its schedule: ``start`` launches it the
    scheduler's way and says whether it could (False: a run is in progress, a conflict)."""
    find_source(acting, source_id)
    requested = acting.now()
    if not start(source_id):
        raise ConflictError(f"source {source_id!r} is being crawled; wait for that run")
    acting.audit(
        "source.run",
        f"source:{source_id}",
        None,
        {"requested": requested.isoformat()},
        time=requested,
    )


def find_source(acting: Acting, source_id: str) -> Source:
    source = acting.store.sources.get(source_id)
    if source is None:
        raise NotFound(f"no source {source_id!r}", "id")
    return source


def _checked(source: Source, *, known: Iterable[str] = (), allow_private: bool) -> Source:
    """``source`` validated, its new URLs checked."""
    validate(source)
    accepted = set(known)
    for n, url in enumerate(source.start_urls):
        if url not in accepted:
            # Stored as parsed and checked: the crawler requests exactly this URL.
            source.start_urls[n] = check_url(
                url, f"start_urls[{n}]", allow_private=allow_private
            ).url
    return source


def _record(source: Source) -> dict[str, Any]:
    """A source as the audit keeps it (an admin's permission for private hosts, its
    ``allow_private``, included)."""
    return to_doc(source)
