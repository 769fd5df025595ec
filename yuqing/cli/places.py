"""``yuqing places ...``: the administrative divisions the gazetteer knows, updated from
the official code list."""

from __future__ import annotations

from pathlib import Path

import click

from keywords import operations
from keywords.io import ImportFailed
from keywords.library import KeywordLibrary
from keywords.places import read_codes
from keywords.validate import InvalidLibrary
from store import ConflictError, Store
from yuqing.cli.errors import UserError
from yuqing.cli.words import say, text

SHOWN = 10  # changes of each kind listed on the terminal


@click.group("places")
def places_group() -> None:
    """The administrative divisions (gazetteer) and their updates."""


@places_group.command("import-codes")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--author", required=True, help="Who is importing (recorded in the history).")
@click.option(
    "--no-remove",
    "keep",
    is_flag=True,
    help="Only add and rename: do not mark divisions missing from a partial list removed.",
)
@click.pass_context
def import_codes_command(ctx: click.Context, path: str, author: str, keep: bool) -> None:
    """Update the divisions from the official code list (CSV or TXT, one division a line:
    a 12-digit 统计用区划代码 or a 6-digit 民政部 code, then the name), all or nothing."""

    def progress(lines: int) -> None:
        say("{lines} line(s) read…", err=True, lines=lines)

    try:
        lines, villages = read_codes(
            Path(path).read_bytes(), ctx.obj.config().imports.limits(), progress
        )
    except ImportFailed as e:
        raise UserError(
            f"{path}: nothing imported, {len(e.problems)} problem(s):\n"
            + "\n".join(f"  {p.message}" for p in e.problems)
        ) from e
    except ValueError as e:
        raise UserError(f"{path}: {e}") from e
    say(
        "{n} division(s) read ({villages} village code(s) skipped), comparing…",
        err=True,
        n=len(lines),
        villages=villages,
    )
    store: Store = ctx.obj.store()
    ctx.call_on_close(store.close)
    acting = ctx.obj.acting(KeywordLibrary(store).store, author)
    details = {"filename": Path(path).name}
    try:
        change, plan = operations.import_codes(
            acting, lines, villages=villages, remove=not keep, details=details
        )
    except ImportFailed as e:
        raise UserError(
            f"{path}: nothing imported:\n" + "\n".join(f"  {p.message}" for p in e.problems)
        ) from e
    except (InvalidLibrary, ConflictError) as e:
        raise UserError(f"{path}: nothing imported: {e}") from e
    s = plan.summary()
    say(
        "saved library version {version}: {added} added, {renamed} renamed, {removed} removed, "
        "{restored} restored, {unchanged} unchanged",
        version=change.version.version,
        added=s["added"],
        renamed=s["renamed"],
        removed=s["removed"],
        restored=s["restored"],
        unchanged=s["unchanged"],
    )
    for label, found in (
        (text("added"), plan.added),
        (text("renamed (the old name kept as a former name)"), plan.renamed),
        (text("removed"), plan.removed),
        (text("restored"), plan.restored),
    ):
        for entry in found[:SHOWN]:
            say("  {label}: {entry}", label=label, entry=entry)
        if len(found) > SHOWN:
            say("  {label}: … {n} in all", label=label, n=len(found))
