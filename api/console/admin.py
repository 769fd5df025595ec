"""Console: user administration (``/admin/users``, admins) and one's own API tokens
(``/account/tokens``, everyone). The work is :mod:`api.resources.users`'s, as in the API."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request
from werkzeug.wrappers import Response

from api import totp
from api.accounts import ROLES, AccountError, has_role
from api.auth import LoginThrottle, actor, current_user, require
from api.console.i18n import gettext as _
from api.context import parts
from api.errors import ApiError
from api.resources import users as api

bp = Blueprint("console_admin", __name__)
ENGLISH: dict[str, str] = {
    "用户管理": "Users",
    "用户名": "User name",
    "显示名": "Display name",
    "邮箱": "Email",
    "角色": "Role",
    "状态": "Status",
    "已停用": "disabled",
    "创建时间": "Created",
    "添加用户": "Add user",
    "初始密码（至少 10 位）": "Initial password (at least 10 characters)",
    "添加": "Add",
    "修改角色": "Change role",
    "停用此用户": "Disable",
    "启用此用户": "Enable",
    "重置密码": "Reset password",
    "新密码": "New password",
    "确定停用该用户？其 API 令牌将被吊销。": "Disable this user? Their API tokens are revoked.",
    "我的 API 令牌": "My API tokens",
    "全部 API 令牌": "All API tokens",
    "用途": "Label",
    "所有者": "Owner",
    "最近使用": "Last used",
    "已吊销": "Revoked",
    "有效": "active",
    "创建令牌": "Create token",
    "吊销": "Revoke",
    "确定吊销该令牌？": "Revoke this token?",
    "令牌只显示这一次，请立即复制保存：": "The token is shown only this once; copy it now:",
    "用法": "Usage",
    "已保存。": "Saved.",
    "查看全部": "Show all",
    "只看我的": "Only mine",
    "全部退出登录": "Sign out everywhere",
    "确定让该用户在所有设备上退出登录？": "Sign this user out on every device?",
    "已结束 %(n)s 个会话。": "%(n)s sessions ended.",
    "到期时间": "Expires",
    "已过期": "expired",
    "有效天数": "Valid for (days)",
    "有效天数须为 1 到 3650 的整数": "Days must be a whole number from 1 to 3650",
    "两步验证": "Two-step verification",
    "已启用两步验证": "two-step verification on",
    "重置两步验证": "Reset two-step verification",
    "确定重置该用户的两步验证？其恢复码将作废。": (
        "Reset this user's two-step verification? Their recovery codes stop working."
    ),
    "我的两步验证": "My two-step verification",
    "两步验证已启用。剩余恢复码 %(n)s 个。": (
        "Two-step verification is on. %(n)s recovery codes left."
    ),
    "要更换手机或恢复码用完时，请另一位管理员在用户管理中重置。": (
        "To change phones, or when the recovery codes run out, ask another admin to reset it"
        " on the users page."
    ),
    "登录时除密码外，还需输入手机验证器应用每 30 秒变化的 6 位验证码。": (
        "Signing in then asks, besides the password, for the 6-digit code your phone's"
        " authenticator app shows, changing every 30 seconds."
    ),
    "1. 在验证器应用中添加账户：粘贴下面的地址，或手动输入密钥。密钥只显示这一次。": (
        "1. Add the account in your authenticator app: paste the address below, or type the"
        " key. The key is shown this once."
    ),
    "密钥": "Key",
    "2. 输入当前密码和应用显示的 6 位验证码，确认启用。": (
        "2. Enter your current password and the 6-digit code the app shows to switch it on."
    ),
    "当前密码": "Current password",
    "验证码": "Code",
    "启用两步验证": "Turn on two-step verification",
    "两步验证已启用。下面是恢复码，每个只能用一次，只显示这一次，请打印或抄写后妥善保存：": (
        "Two-step verification is on. These recovery codes work once each and are shown"
        " only this once; print or write them down and keep them safe:"
    ),
    "尝试次数过多，请 %(seconds)s 秒后再试": "Too many attempts; try again in %(seconds)s s",
}


def _is_admin() -> bool:
    user = current_user()
    return user is not None and has_role(user, "admin")


def _users_page(
    error: ApiError | AccountError | None = None, status: int = 200, ended: int | None = None
) -> tuple[str, int]:
    page = render_template(
        "admin/users.html",
        users=api.users(),
        roles=ROLES,
        error=error,
        saved=bool(request.args.get("saved")),
        ended=ended,
    )
    return page, status


@bp.get("/admin/users")
@require("admin")
def users() -> tuple[str, int]:
    return _users_page()


@bp.post("/admin/users")
@require("admin")
def create_user() -> Response | tuple[str, int]:
    form = request.form
    try:
        parts().accounts.create(
            form.get("name", "").strip().lower(),
            form.get("role", ""),
            form.get("password", ""),
            actor=actor(),
            display_name=form.get("display_name", ""),
            email=form.get("email", ""),
        )
    except AccountError as e:
        return _users_page(e, 400)
    return redirect("/admin/users?saved=1")


@bp.post("/admin/users/<name>")
@require("admin")
def change_user(name: str) -> Response | tuple[str, int]:
    """One change per form: ``role``, ``disabled`` (``1``/``0``) or ``password``."""
    form = request.form
    change = api.UserChange.model_validate(
        {
            "role": form["role"] if form.get("role") in ROLES else None,
            "disabled": {"1": True, "0": False}.get(form.get("disabled", "")),
            "password": form.get("password") or None,
        }
    )
    try:
        api.change(name, change)
    except AccountError as e:
        return _users_page(e, 400)
    return redirect("/admin/users?saved=1")


@bp.post("/admin/users/<name>/signout")
@require("admin")
def sign_out_everywhere(name: str) -> tuple[str, int]:
    """End every console session of ``name`` (an admin's own included: they sign in again)."""
    return _users_page(ended=api.sign_out_everywhere(name))


def _tokens_page(status: int = 200, **values: object) -> tuple[str, int]:
    defaults: dict[str, object] = {
        "tokens": api.tokens(),
        "every": False,
        "admin": _is_admin(),
        "secret": None,
        "token_days": parts().policy.token_days,
    }
    return render_template("admin/tokens.html", **(defaults | values)), status


@bp.get("/account/tokens")
@require("viewer")
def tokens() -> tuple[str, int]:
    every = bool(request.args.get("all")) and _is_admin()
    return _tokens_page(tokens=api.tokens(every), every=every)


@bp.post("/account/tokens")
@require("viewer")
def create_token() -> tuple[str, int]:
    days_text = request.form.get("days", "").strip()
    try:
        if days_text and not days_text.isdigit():
            raise AccountError(_("有效天数须为 1 到 3650 的整数"), "days")
        days = int(days_text) if days_text else None
        token, secret = api.issue(request.form.get("label", ""), days)
    except AccountError as e:
        return _tokens_page(400, error=e)
    # Rendered, never redirected: the secret is shown in this one response only.
    return _tokens_page(secret=secret, created=token)


@bp.post("/account/tokens/<token_id>/revoke")
@require("viewer")
def revoke_token(token_id: str) -> Response:
    api.revoke(token_id)
    back = "/account/tokens?all=1" if request.form.get("all") else "/account/tokens"
    return redirect(back)


@bp.post("/admin/users/<name>/totp/reset")
@require("admin")
def reset_totp(name: str) -> Response | tuple[str, int]:
    """Turn another user's (or one's own) second factor off, audited: a lost phone."""
    try:
        api.reset_totp(name)
    except AccountError as e:
        return _users_page(e, 400)
    return redirect("/admin/users?saved=1")


def _totp_page(status: int = 200, **values: object) -> tuple[str, int]:
    me = current_user()
    assert me is not None
    secret = str(values.pop("secret", "")) or totp.new_secret()
    defaults: dict[str, object] = {
        "me": me,
        "secret": secret,
        "uri": totp.uri(secret, me.name),
        "codes": None,
        "error": None,
    }
    return render_template("admin/totp.html", **(defaults | values)), status


@bp.get("/account/totp")
@require("admin")
def totp_page() -> tuple[str, int]:
    """Enrolment: a new secret, shown once as an otpauth URI and as text (nothing is
    stored until a first code confirms it); or, once on, how many recovery codes are
    left, never the secret."""
    return _totp_page()


@bp.post("/account/totp")
@require("admin")
def enable_totp() -> tuple[str, int]:
    """Confirm enrolment with the current password and a first code; the recovery codes
    are shown in this one response. Wrong passwords and codes count for the sign-in
    throttle, so a stolen session cannot guess the password here."""
    me = current_user()
    assert me is not None
    form = request.form
    secret = form.get("secret", "")[:128]
    address = request.remote_addr or "?"
    throttle: LoginThrottle = current_app.extensions["yuqing.throttle"]
    wait = throttle.wait(address, me.name)
    if wait:
        error = AccountError(_("尝试次数过多，请 %(seconds)s 秒后再试", seconds=wait), "code")
        return _totp_page(429, secret=secret, error=error)
    try:
        codes = parts().accounts.enable_totp(
            me.name, secret, form.get("code", ""), form.get("password", ""), actor=actor()
        )
    except AccountError as e:
        if e.field in ("password", "code"):
            throttle.failed(address, me.name)
        return _totp_page(400, secret="" if e.field == "secret" else secret, error=e)
    throttle.succeeded(me.name)
    updated = parts().store.users.get(me.name)
    return _totp_page(me=updated or me, codes=codes)
