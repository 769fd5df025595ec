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
        click.echo(f"已读取 {lines} 行…", err=True)

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
    click.echo(f"已读取 {len(lines)} 个区划（跳过村级代码 {villages} 个），正在比对…", err=True)
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
    click.echo(
        f"已保存词库版本 {change.version.version}：新增 {s['added']}，更名 {s['renamed']}，"
        f"撤销 {s['removed']}，恢复 {s['restored']}，未变 {s['unchanged']}"
    )
    for label, found in (
        ("新增", plan.added),
        ("更名（旧名保留为曾用名）", plan.renamed),
        ("撤销", plan.removed),
        ("恢复", plan.restored),
    ):
        for entry in found[:SHOWN]:
            click.echo(f"  {label}：{entry}")
        if len(found) > SHOWN:
            click.echo(f"  {label}：……等 {len(found)} 个")
