"""``yuqing match`` and ``yuqing keywords ...``: the library from the terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from analysis.gazetteer import default as gazetteer
from keywords import operations
from keywords.backtest import backtest
from keywords.diff import LibraryDiff
from keywords.io import ImportFailed, detect_format, read_library, write_library
from keywords.library import KeywordLibrary, compile_library
from keywords.matcher import Matcher, fact_finder
from keywords.model import Library
from keywords.places import read_places
from keywords.validate import InvalidLibrary
from store import ConflictError, NotFound, Store
from store.acting import Acting
from yuqing.cli.errors import UserError
from yuqing.cli.words import say, text


def _load(path: str, **options: Any) -> Library:
    try:
        with _progress(Path(path).stat().st_size) as progress:
            return read_library(
                Path(path).read_bytes(), detect_format(path), progress=progress, **options
            )
    except ImportFailed as e:
        raise UserError(
            f"{path}: {len(e.problems)} problem(s):\n" + "\n".join(f"  {p}" for p in e.problems)
        ) from e
    except ValueError as e:
        raise UserError(f"{path}: {e}") from e


class _progress:
    """A progress bar on the terminal for large files only, and only when interactive."""

    def __init__(self, size: int) -> None:
        self.bar: tqdm[Any] | None = None
        self.show = size > 1_000_000 and sys.stderr.isatty()

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not self.show:
            return None

        def update(done: int, total: int) -> None:
            if self.bar is None:
                self.bar = tqdm(total=total, unit="row", file=sys.stderr)
            self.bar.n = done
            self.bar.refresh()

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def _compile(library: Library, source: str) -> Matcher:
    try:
        return compile_library(library)
    except InvalidLibrary as e:
        raise UserError(
            f"{source}: {len(e.problems)} problem(s):\n" + "\n".join(f"  {p}" for p in e.problems)
        ) from e


@click.command("match")
@click.option("--library", "library_path", required=True, help="Library file (YAML or JSON).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input.")
@click.option(
    "--longest",
    is_flag=True,
    help="Where words overlap, report only the leftmost-longest (matching uses all).",
)
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def match_command(library_path: str, as_json: bool, longest: bool, files: tuple[str, ...]) -> None:
    """Match FILES (or standard input) against a keyword library.

    The first line of a file is its title, the rest its body. Hit offsets are
    character offsets into that title or body; ``variant`` names how a word was written
    when it was not written as itself (pinyin, initials, homophone, split, enclosed,
    noise, lookalikes, repeats)."""
    matcher = _compile(_load(library_path), library_path)
    inputs = [(f, Path(f).read_text(encoding="utf-8", errors="replace")) for f in files] or [
        ("-", sys.stdin.read())
    ]
    facts_of = fact_finder(matcher)
    pairs = [(title, body) for title, _, body in (text.partition("\n") for _, text in inputs)]
    results = matcher.match_many(  # many files: normalised and scanned together
        pairs,
        overlaps="longest" if longest else None,
        explain=True,
        facts=[facts_of(title, body) for title, body in pairs],
    )
    for (name, _), result in zip(inputs, results, strict=True):
        if as_json:
            click.echo(
                json.dumps(
                    {"input": name, "rules": result.rules, "hits": result.hits}, ensure_ascii=False
                )
            )
        else:
            rules = ", ".join(result.rules) or text("no rule matched")
            click.echo(f"{name}: {rules}")
            for hit in result.hits:
                # The field (title, body) and the variant's kind stay as --json names them.
                variant = f" [{hit['variant']}]" if hit["variant"] else ""
                say(
                    "  {rule}: {word} ({group}) {field} {start}-{end}{variant}",
                    rule=hit["rule"],
                    word=hit["word"],
                    group=hit["group"] or text("word"),
                    field=hit["field"],
                    start=hit["start"],
                    end=hit["end"],
                    variant=variant,
                )


def _library(ctx: click.Context) -> KeywordLibrary:
    store: Store = ctx.obj.store()
    ctx.call_on_close(store.close)
    return KeywordLibrary(store)


def _acting(ctx: click.Context, author: str) -> Acting:
    acting: Acting = ctx.obj.acting(_library(ctx).store, author)
    return acting


@click.group("keywords")
def keywords_group() -> None:
    """Maintain the keyword library kept in the store."""


@keywords_group.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def validate_command(path: str) -> None:
    """Check a library file: structure, expressions, groups, rule test sentences."""
    library = _load(path)
    _compile(library, path)
    say(
        "{path}: {groups} groups, {rules} rules, all good",
        path=path,
        groups=len(library.groups),
        rules=len(library.rules),
    )


@keywords_group.command("test")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.argument("sentence")
def test_command(path: str, sentence: str) -> None:
    """Show which rules of the library at PATH match SENTENCE, and where."""
    matcher = _compile(_load(path), path)
    result = matcher.match(sentence, sentence, explain=True, facts=fact_finder(matcher)(sentence))
    click.echo(json.dumps({"rules": result.rules, "hits": result.hits}, ensure_ascii=False))


@keywords_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--group", help="Group for a plain-text word list.")
@click.option("--category", default="subject", show_default=True)
@click.option("--replace", is_flag=True, help="Replace whole groups instead of adding words.")
@click.option("--author", required=True, help="Who is importing (recorded in the history).")
@click.option("--message", default="", help="Why (recorded in the history).")
@click.pass_context
def import_command(
    ctx: click.Context,
    path: str,
    group: str | None,
    category: str,
    replace: bool,
    author: str,
    message: str,
) -> None:
    """Import a file (CSV, XLSX, TXT, YAML, JSON) into the library, all or nothing."""
    limits = ctx.obj.config().imports.limits()
    incoming = _load(path, group=group, category=category, limits=limits)
    details = {
        "filename": Path(path).name,
        "mode": "replace" if replace else "add",
        "groups": len(incoming.groups),
        "words": sum(len(x.words) for x in incoming.groups),
        "rules": len(incoming.rules),
    }
    try:
        saved = operations.import_library(
            _acting(ctx, author),
            incoming,
            mode="replace" if replace else "add",
            message=message,
            details=details,
        ).version
    except InvalidLibrary as e:
        raise UserError(
            f"{path}: nothing imported, {len(e.problems)} problem(s):\n"
            + "\n".join(f"  {p}" for p in e.problems)
        ) from e
    except ConflictError as e:
        raise UserError(str(e)) from e
    say("saved version {version}: {message}", version=saved.version, message=saved.message)


@keywords_group.command("import-places")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--author", required=True, help="Who is importing (recorded in the history).")
@click.pass_context
def import_places_command(ctx: click.Context, path: str, author: str) -> None:
    """Import operators' places (CSV or XLSX: name, parent code, kind, aliases), each filed
    under an administrative code, all or nothing."""
    try:
        fmt = detect_format(path)
        incoming = read_places(
            Path(path).read_bytes(), fmt, gazetteer(), ctx.obj.config().imports.limits()
        )
    except ImportFailed as e:
        raise UserError(
            f"{path}: nothing imported, {len(e.problems)} problem(s):\n"
            + "\n".join(f"  {p}" for p in e.problems)
        ) from e
    except ValueError as e:
        raise UserError(f"{path}: {e}") from e
    details = {"filename": Path(path).name, "places": len(incoming)}
    try:
        change = operations.import_places(_acting(ctx, author), incoming, details=details)
    except (InvalidLibrary, ConflictError) as e:
        raise UserError(f"{path}: nothing imported: {e}") from e
    say("saved version {version}: {n} place(s)", version=change.version.version, n=len(incoming))


@keywords_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--version", "version", type=int, help="A past version (default: current).")
@click.option("--group", help="The group to write, for a plain-text file.")
@click.pass_context
def export_command(ctx: click.Context, path: str, version: int | None, group: str | None) -> None:
    """Write the library to PATH; the format follows the file extension."""
    library = _library(ctx)
    try:
        data = library.at(version) if version is not None else library.current()[1]
    except NotFound as e:
        raise UserError(str(e)) from e
    Path(path).write_bytes(write_library(data, detect_format(path), group=group))
    say("wrote {path}", path=path)


@keywords_group.command("history")
@click.option("--limit", default=20, show_default=True)
@click.pass_context
def history_command(ctx: click.Context, limit: int) -> None:
    """List saved versions, newest first."""
    for v in _library(ctx).store.library.history(limit):
        click.echo(f"{v.version:>5}  {v.created:%Y-%m-%d %H:%M}  {v.author}  {v.message}")


@keywords_group.command("diff")
@click.argument("old", type=int)
@click.argument("new", type=int)
@click.pass_context
def diff_command(ctx: click.Context, old: int, new: int) -> None:
    """What changed from version OLD to version NEW."""
    try:
        changes = _library(ctx).diff(old, new)
    except NotFound as e:
        raise UserError(str(e)) from e
    _say_diff(changes)


def _say_diff(changes: LibraryDiff) -> None:
    """``changes`` a line each (as :meth:`LibraryDiff.lines` has them, for the console),
    in the operator's language: names, words and settings' values are data."""
    if not changes:
        say("no changes")
    for name in changes.groups_added:
        say("+ group {name}", name=name)
    for name in changes.groups_removed:
        say("- group {name}", name=name)
    for g in changes.groups_changed:
        for word in g.added:
            say("~ group {name}: + {word}", name=g.name, word=word)
        for word in g.removed:
            say("~ group {name}: - {word}", name=g.name, word=word)
        for key, (old, new) in g.settings.items():
            say("~ group {name}: {key} {old!r} -> {new!r}", name=g.name, key=key, old=old, new=new)
    for name in changes.rules_added:
        say("+ rule {name}", name=name)
    for name in changes.rules_removed:
        say("- rule {name}", name=name)
    for r in changes.rules_changed:
        for key, (old, new) in r.settings.items():
            say("~ rule {name}: {key} {old!r} -> {new!r}", name=r.name, key=key, old=old, new=new)


@keywords_group.command("rollback")
@click.argument("version", type=int)
@click.option("--author", required=True)
@click.pass_context
def rollback_command(ctx: click.Context, version: int, author: str) -> None:
    """Make VERSION current again, as a new version."""
    try:
        saved = operations.rollback(_acting(ctx, author), version)
    except (NotFound, ConflictError, InvalidLibrary) as e:
        raise UserError(str(e)) from e
    say("saved version {version}: {message}", version=saved.version, message=saved.message)


@keywords_group.command("backtest")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--days", default=7, show_default=True, help="How far back to look.")
@click.option("--examples", default=3, show_default=True, help="Example items per change.")
@click.pass_context
def backtest_command(ctx: click.Context, path: str, days: int, examples: int) -> None:
    """What the library at PATH would add and remove, rule by rule, compared with the
    current library, over the items stored in the last DAYS days."""
    proposed = _load(path)
    _compile(proposed, path)
    library = _library(ctx)
    version, live = library.current()
    now = ctx.obj.clock().now()
    say(
        "against version {version}, items first seen in the last {days} days",
        version=version,
        days=days,
    )
    for impact in backtest(library.store, live, proposed, days=days, now=now, examples=examples):
        say(
            "{rule}: {live} -> {proposed} (at least), +{added} -{removed}"
            if impact.truncated
            else "{rule}: {live} -> {proposed}, +{added} -{removed}",
            rule=impact.rule,
            live=impact.live,
            proposed=impact.proposed,
            added=impact.added,
            removed=impact.removed,
        )
        for sign, items in (("+", impact.added_examples), ("-", impact.removed_examples)):
            for item in items:
                click.echo(f"  {sign} {item.title}  {item.url}")
