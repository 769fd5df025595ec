"""How the ``yuqing`` command reports a problem: one line naming it, exit code 2 for what
the user can fix (a wrong file, field, name or setting), 1 for an outage (the store cannot
be reached); a traceback only for a bug. The problem is said in Chinese, or in English
with ``YUQING_LANG=en``: the layers below refuse in English, and the console's catalog
(:mod:`api.console.messages`) has their Chinese. What a command prints for a person
follows the same rule through :mod:`yuqing.cli.words`."""

from __future__ import annotations

import os
import re
from typing import IO, Any

import click

from keywords.io import ImportFailed
from rules.syntax import ParseError
from store import ConflictError, NotFound, StoreError, StoreUnavailable
from store.errors import Invalid
from yuqing.config import ConfigError


class Said(click.ClickException):
    """A problem the command reports (headed 错误：, or Error: in English)."""

    def show(self, file: IO[Any] | None = None) -> None:
        head = "Error: " if language() == "en" else "错误："
        click.echo(head + self.format_message(), file=file, err=file is None)


class UserError(Said):
    """Something the user can fix: one line (or a list of lines), exit code 2."""

    exit_code = 2


class Outage(Said):
    """A part yuqing needs cannot be reached: one line, exit code 1."""

    exit_code = 1


class Interrupted(Said):
    """Stopped by Ctrl-C, cleanly: one line saying what was left how, exit code 130 (as
    a shell reports a command ended by SIGINT)."""

    exit_code = 130


def language() -> str:
    """``en`` or ``zh`` (the default: operators read Chinese), from ``YUQING_LANG``."""
    chosen = os.environ.get("YUQING_LANG", "").strip().lower()
    return "en" if chosen.startswith("en") else "zh"


_INDENT = re.compile(r"^(\s*)(.*)$", re.S)


def in_language(message: str) -> str:
    """``message`` (English, one refusal per line, list items indented) in the language
    the operator reads; a line the catalog does not know stays as it is."""
    if language() == "en":
        return message
    from api.console.messages import chinese  # only on the error path: Flask comes with it

    lines = []
    for line in message.split("\n"):
        indent, text = _INDENT.match(line).groups()  # type: ignore[union-attr]
        lines.append(indent + chinese(text) if text else line)
    return "\n".join(lines)


def explain(error: BaseException) -> click.ClickException | None:
    """The command's answer to ``error``, or None for a bug (shown with its traceback)."""
    if isinstance(error, click.ClickException):
        return error
    if isinstance(error, ImportFailed):
        lines = "\n".join(f"  {p}" for p in error.problems)
        return UserError(f"{len(error.problems)} problem(s), nothing changed:\n{lines}")
    if isinstance(error, Invalid | NotFound | ConflictError):
        field = getattr(error, "field", None)
        text = str(error)
        return UserError(text if not field or text.startswith(field) else f"{field}: {text}")
    if isinstance(error, ParseError):
        return UserError(f"expression: {error}")
    if isinstance(error, ConfigError):
        return UserError(str(error))
    if isinstance(error, StoreUnavailable | StoreError):
        return Outage(str(error))
    if isinstance(error, FileNotFoundError | IsADirectoryError | PermissionError):
        return UserError(f"{error.filename}: {error.strerror}")
    return None


class Commands(click.Group):
    """The ``yuqing`` group: what a command raises becomes :func:`explain`'s answer."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            answer = explain(error)
            if isinstance(answer, Said):
                # Said again in the operator's language (Click's own usage errors are not
                # in the catalog: they stay as Click says them).
                raise type(answer)(in_language(answer.message)) from error
            if answer is None or answer is error:
                raise
            raise answer from error
