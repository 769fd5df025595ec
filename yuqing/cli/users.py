"""``yuqing users``: accounts and API tokens from the command line (the first admin too)."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from api.accounts import ROLES, AccountError, Accounts
from store import StoreError
from yuqing.cli.context import login_actor
from yuqing.cli.errors import UserError
from yuqing.cli.words import pad, say, text


@contextmanager
def _accounts(ctx: click.Context) -> Iterator[Accounts]:
    """Accounts on the configured store; account errors become usage errors naming the
    input, and the store is closed afterwards."""
    store = ctx.obj.store()
    try:
        yield Accounts(store, ctx.obj.clock(), ctx.obj.config().api.policy())
    except AccountError as e:
        raise click.BadParameter(e.message, param_hint=e.field) from e
    except StoreError as e:
        raise UserError(str(e)) from e
    finally:
        store.close()


@click.group("users")
def users_group() -> None:
    """Console users and their API tokens."""


@users_group.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Same as --role admin.")
@click.option("--role", type=click.Choice(ROLES), help="Default: viewer.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Generate a strong password and print it once.")
@click.option("--display-name", default="", help="Name shown in the console, e.g. 张伟.")
@click.option("--email", default="")
@click.pass_context
def users_create(
    ctx: click.Context,
    name: str,
    admin: bool,
    role: str | None,
    password_stdin: bool,
    generate: bool,
    display_name: str,
    email: str,
) -> None:
    """Create the user NAME (the first admin with --admin). Without --password-stdin or
    --generate the password is asked for twice, hidden."""
    if admin and role not in (None, "admin"):
        raise click.UsageError("--admin and --role contradict each other")
    password = _new_password(password_stdin, generate)
    with _accounts(ctx) as accounts:
        user = accounts.create(
            name,
            "admin" if admin else role or "viewer",
            password,
            actor=login_actor(),
            display_name=display_name,
            email=email,
        )
    say("created {name} ({role})", name=user.name, role=user.role)
    if generate:
        _show_once(password)


@users_group.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Generate a strong password and print it once.")
@click.pass_context
def users_password(ctx: click.Context, name: str, password_stdin: bool, generate: bool) -> None:
    """Set a new password for NAME (their open sessions end)."""
    password = _new_password(password_stdin, generate)
    with _accounts(ctx) as accounts:
        accounts.set_password(name, password, actor=login_actor())
    say("password of {name} changed", name=name)
    if generate:
        _show_once(password)


def _new_password(from_stdin: bool, generate: bool) -> str:
    if from_stdin and generate:
        raise click.UsageError("use either --password-stdin or --generate")
    if generate:
        return secrets.token_urlsafe(18)
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt(text("Password"), hide_input=True, confirmation_prompt=True))


def _show_once(password: str) -> None:
    say("password: {password}", password=password)
    say("Note it now: it is not stored and cannot be shown again.")


@users_group.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Users by name, each with its live API tokens."""
    with _accounts(ctx) as accounts:
        tokens = accounts.store.tokens.list()
        for user in accounts.store.users.list():
            state = text("disabled" if user.disabled else "enabled")
            shown = f"  {user.display_name}" if user.display_name else ""
            click.echo(
                f"{user.name:<20} {user.role:<9} {pad(state, 9)} {user.created:%Y-%m-%d}{shown}"
            )
            for t in tokens:
                if t.user == user.name and t.revoked is None:
                    used = f"{t.last_used:%Y-%m-%d %H:%M}" if t.last_used else text("never")
                    ends = f"{accounts.expiry(t):%Y-%m-%d %H:%M}"
                    say(
                        "    token {id}  {label}  (last used {used})  expires {ends}",
                        id=t.id,
                        label=t.label,
                        used=used,
                        ends=ends,
                    )


@users_group.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx: click.Context, name: str) -> None:
    """Disable NAME: no more logins, and its API tokens are revoked."""
    with _accounts(ctx) as accounts:
        accounts.set_disabled(name, True, actor=login_actor())
    say("disabled {name}; its tokens are revoked", name=name)


@users_group.command("enable")
@click.argument("name")
@click.pass_context
def users_enable(ctx: click.Context, name: str) -> None:
    """Let NAME log in again (revoked tokens stay revoked)."""
    with _accounts(ctx) as accounts:
        accounts.set_disabled(name, False, actor=login_actor())
    say("enabled {name}", name=name)


@users_group.command("token")
@click.argument("name")
@click.option("--label", required=True, help="What the token is for, e.g. 日报脚本.")
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    help="Days until it expires (default: api.token_days, 90).",
)
@click.pass_context
def users_token(ctx: click.Context, name: str, label: str, days: int | None) -> None:
    """Issue an API token for NAME and print its secret once."""
    with _accounts(ctx) as accounts:
        token, secret = accounts.issue_token(name, label, actor=login_actor(), days=days)
    say("token {id} for {name}: {secret}", id=token.id, name=name, secret=secret)
    say("Note it now: only its hash is stored, it cannot be shown again.")
    if token.expires:
        say("It expires {time}.", time=f"{token.expires:%Y-%m-%d %H:%M %Z}")


@users_group.command("signout")
@click.argument("name")
@click.pass_context
def users_signout(ctx: click.Context, name: str) -> None:
    """Sign NAME out everywhere: every console session of theirs ends (audited)."""
    with _accounts(ctx) as accounts:
        ended = accounts.sign_out_everywhere(name, actor=login_actor())
    say("signed {name} out of {n} open session(s)", name=name, n=ended)


@users_group.command("reset-totp")
@click.argument("name")
@click.pass_context
def users_reset_totp(ctx: click.Context, name: str) -> None:
    """Turn NAME's second factor (TOTP) off, e.g. after a lost phone (audited); they sign
    in with the password alone and may enrol again."""
    with _accounts(ctx) as accounts:
        accounts.reset_totp(name, actor=login_actor())
    say("two-step verification of {name} reset", name=name)


@users_group.command("revoke")
@click.argument("token_id")
@click.pass_context
def users_revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke the API token TOKEN_ID."""
    with _accounts(ctx) as accounts:
        accounts.revoke_token(token_id, actor=login_actor())
    say("revoked token {id}", id=token_id)
