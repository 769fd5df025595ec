"""How the ``yuqing`` command reports a problem: one line naming it, exit code 2 for what
the user can fix (a wrong file, field, name or setting), 1 for an outage (the store cannot
be reached); a traceback only for a bug."""

from __future__ import annotations

from typing import Any

import click

from keywords.io import ImportFailed
from rules.syntax import ParseError
from store import ConflictError, NotFound, StoreError, StoreUnavailable
from store.errors import Invalid
from yuqing.config import ConfigError


class UserError(click.ClickException):
    """Something the user can fix: one line (or a list of lines), exit code 2."""

    exit_code = 2


class Outage(click.ClickException):
    """A part yuqing needs cannot be reached: one line, exit code 1."""

    exit_code = 1


class Interrupted(click.ClickException):
    """Stopped by Ctrl-C, cleanly: one line saying what was left how, exit code 130 (as
    a shell reports a command ended by SIGINT)."""

    exit_code = 130


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
            if answer is None or answer is error:
                raise
            raise answer from error
