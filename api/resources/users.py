"""``/api/users`` (admin: accounts, roles, disabling, passwords) and ``/api/tokens`` (anyone:
their own API tokens; admins may see and revoke anyone's).

The rules and the audit entries are :class:`api.accounts.Accounts`'s; these views only
translate. The console's admin pages call the functions here.
"""

from __future__ import annotations

from typing import Any, Literal

from apiflask import APIBlueprint
from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from api.accounts import has_role, public
from api.auth import actor, current_user, require
from api.context import parts
from api.errors import ApiError
from store.codec import to_doc
from store.model import ApiToken, User

bp = APIBlueprint("users", __name__, tag="users")

Role = Literal["viewer", "operator", "admin"]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="2-32 of a-z, 0-9, '_', '.', '-'")
    role: Role
    password: str = Field(description="at least 10 characters")
    display_name: str = Field("", max_length=100)
    email: str = Field("", max_length=200)


class UserChange(BaseModel):
    """What to change; each given field is applied (and audited) on its own."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(None, description="a new password, at least 10 characters")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(description="what the token is for, 1-100 characters")
    days: int | None = Field(
        None, ge=1, le=3650, description="days until it expires (default: the configured 90)"
    )


class TokensQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    all: bool = Field(False, description="admins: every user's tokens")


def find_user(name: str) -> User:
    user = parts().store.users.get(name)
    if user is None:
        raise ApiError(404, f"no user named {name}", field="name")
    return user


def users() -> list[dict[str, Any]]:
    return [public(u) for u in parts().store.users.list()]


def change(name: str, data: UserChange) -> User:
    """Apply ``data`` to ``name``; role first, so a demotion and a new password of the same
    request both hold."""
    accounts, who = parts().accounts, actor()
    user = find_user(name)
    if data.role is not None and data.role != user.role:
        user = accounts.set_role(name, data.role, actor=who)
    if data.disabled is not None and data.disabled != user.disabled:
        user = accounts.set_disabled(name, data.disabled, actor=who)
    if data.password is not None:
        user = accounts.set_password(name, data.password, actor=who)
    return user


def _me() -> User:
    user = current_user()
    assert user is not None  # require() let the request in
    return user


def tokens(every: bool = False) -> list[dict[str, Any]]:
    """The caller's tokens (with ``every``, an admin's view of all), oldest first, each
    with when it expires and whether it has."""
    me = _me()
    owner = None if every and has_role(me, "admin") else me.name
    return [shown(t) for t in parts().store.tokens.list(owner)]


def shown(token: ApiToken) -> dict[str, Any]:
    accounts = parts().accounts
    expires = accounts.expiry(token)
    return public(token) | {
        "expires": expires.isoformat(),
        "expired": token.revoked is None and parts().now() >= expires,
    }


def issue(label: str, days: int | None = None) -> tuple[ApiToken, str]:
    return parts().accounts.issue_token(_me().name, label, actor=actor(), days=days)


def sign_out_everywhere(name: str) -> int:
    find_user(name)
    return parts().accounts.sign_out_everywhere(name, actor=actor())


def reset_totp(name: str) -> User:
    """Turn ``name``'s second factor off (audited); 400 if it is not on."""
    find_user(name)
    return parts().accounts.reset_totp(name, actor=actor())


def revoke(token_id: str) -> ApiToken:
    """Revoke one of the caller's tokens; admins may revoke anyone's."""
    me = _me()
    token = parts().store.tokens.get(token_id)
    # Someone else's token is "not found" to a non-admin: ids are not to be probed.
    if token is None or (token.user != me.name and not has_role(me, "admin")):
        raise ApiError(404, f"no token {token_id} of yours", field="token_id")
    return parts().accounts.revoke_token(token_id, actor=actor())


# -- endpoints -----------------------------------------------------------------------


@bp.get("/users")
@bp.doc(summary="All users (without password hashes)")
@require("admin")
def list_users() -> Response:
    return jsonify(users=users())


@bp.post("/users")
@bp.input(UserIn, location="json")
@bp.doc(summary="Add a user", responses=[201, 400])
@require("admin")
def create_user(json_data: UserIn) -> tuple[Response, int]:
    user = parts().accounts.create(
        json_data.name.strip().lower(),
        json_data.role,
        json_data.password,
        actor=actor(),
        display_name=json_data.display_name,
        email=json_data.email,
    )
    return jsonify(public(user)), 201


@bp.get("/users/<name>")
@bp.doc(summary="One user", responses=[404])
@require("admin")
def show_user(name: str) -> Response:
    return jsonify(public(find_user(name)))


@bp.patch("/users/<name>")
@bp.input(UserChange, location="json")
@bp.doc(
    summary="Change a user's role, disable or enable them, or reset their password "
    "(disabling revokes their tokens; the last admin stays)",
    responses=[400, 404],
)
@require("admin")
def change_user(name: str, json_data: UserChange) -> Response:
    return jsonify(public(change(name, json_data)))


@bp.get("/users/<name>/sessions")
@bp.doc(summary="A user's open console sessions (ids are hashes; they sign nobody in)")
@require("admin")
def list_sessions(name: str) -> Response:
    find_user(name)
    open_ = parts().accounts.open_sessions(name)
    return jsonify(sessions=[to_doc(s) for s in open_])


@bp.delete("/users/<name>/sessions")
@bp.doc(
    summary="Sign a user out everywhere: every console session of theirs ends (audited); "
    "their API tokens are revoked one by one under /api/tokens",
    responses=[404],
)
@require("admin")
def end_sessions(name: str) -> Response:
    return jsonify(user=name, sessions_ended=sign_out_everywhere(name))


@bp.delete("/users/<name>/totp")
@bp.doc(
    summary="Reset a user's second factor (TOTP) and recovery codes, e.g. after a lost "
    "phone (audited); they sign in with the password alone and may enrol again",
    responses=[400, 404],
)
@require("admin")
def reset_second_factor(name: str) -> Response:
    return jsonify(public(reset_totp(name)))


@bp.get("/tokens")
@bp.input(TokensQuery, location="query")
@bp.doc(summary="Your API tokens (admins: all=true for everyone's); secrets are never shown")
@require("viewer")
def list_tokens(query_data: TokensQuery) -> Response:
    return jsonify(tokens=tokens(query_data.all))


@bp.post("/tokens")
@bp.input(TokenIn, location="json")
@bp.doc(summary="Create an API token for yourself; its secret is shown this once", responses=[201])
@require("viewer")
def create_token(json_data: TokenIn) -> tuple[Response, int]:
    token, secret = issue(json_data.label, json_data.days)
    return jsonify(shown(token) | {"secret": secret}), 201


@bp.delete("/tokens/<token_id>")
@bp.doc(summary="Revoke one of your tokens (admins: anyone's)", responses=[404])
@require("viewer")
def revoke_token(token_id: str) -> Response:
    return jsonify(shown(revoke(token_id)))
