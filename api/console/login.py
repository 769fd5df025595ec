"""Signing in and out of the console."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session
from werkzeug.wrappers import Response

from api.auth import LoginThrottle, check_csrf, sign_in, sign_out
from api.console.i18n import gettext as _
from api.context import parts

bp = Blueprint("login", __name__)
# After the password, an admin with a second factor has this long to give the code.
CODE_SECONDS = 300
ENGLISH: dict[str, str] = {
    "两步验证": "Two-step verification",
    "验证码或恢复码": "Code or recovery code",
    "请输入验证器应用显示的 6 位验证码；手机不在身边时，可输入一个恢复码。": (
        "Enter the 6-digit code your authenticator app shows; without your phone, enter a"
        " recovery code."
    ),
    "验证": "Verify",
    "验证码不正确": "Wrong code",
    "验证已超时，请重新登录": "Verification timed out; sign in again",
}


def local_path(target: str | None) -> str:
    """Only a path on this site may follow sign-in (no open redirect)."""
    if not target:
        return "/"
    parts_ = urlsplit(target)
    if parts_.scheme or parts_.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    next_url = local_path(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=next_url, error="")
    check_csrf()
    name = request.form.get("username", "").strip().lower()
    password = request.form.get("password", "")
    address = request.remote_addr or "?"
    throttle: LoginThrottle = current_app.extensions["yuqing.throttle"]
    wait = throttle.wait(address, name)
    if wait:
        error = _("尝试次数过多，请 %(seconds)s 秒后再试", seconds=wait)
        page = render_template("login.html", next=next_url, error=error, username=name)
        return page, 429
    user = parts().accounts.authenticate(name, password)
    if user is None:
        throttle.failed(address, name)
        current_app.logger.warning("sign-in failed for %r from %s", name, address)
        page = render_template(
            "login.html", next=next_url, error=_("用户名或密码不正确"), username=name
        )
        return page, 401
    if user.totp_secret:
        # The password was right; the session starts only with the second factor. The
        # signed cookie remembers whose code is awaited, and since when.
        session.clear()
        session["mfa_user"] = user.name
        session["mfa_at"] = parts().accounts.wall()
        return render_template("login_code.html", next=next_url, error="")
    throttle.succeeded(name)
    sign_in(user)
    return redirect(next_url)


@bp.post("/login/code")
def login_code() -> Response | str | tuple[str, int]:
    """The second step of an admin's sign-in: a TOTP code or a recovery code, throttled
    like passwords (per address and per account)."""
    check_csrf()
    next_url = local_path(request.form.get("next"))
    name = str(session.get("mfa_user", ""))
    started = session.get("mfa_at")
    accounts = parts().accounts
    if (
        not name
        or not isinstance(started, int | float)
        or not 0 <= accounts.wall() - started < CODE_SECONDS
    ):
        session.clear()
        page = render_template("login.html", next=next_url, error=_("验证已超时，请重新登录"))
        return page, 401
    address = request.remote_addr or "?"
    throttle: LoginThrottle = current_app.extensions["yuqing.throttle"]
    wait = throttle.wait(address, name)
    if wait:
        error = _("尝试次数过多，请 %(seconds)s 秒后再试", seconds=wait)
        return render_template("login_code.html", next=next_url, error=error), 429
    user = accounts.check_second_factor(name, request.form.get("code", ""))
    if user is None:
        throttle.failed(address, name)
        current_app.logger.warning("second factor failed for %r from %s", name, address)
        return render_template("login_code.html", next=next_url, error=_("验证码不正确")), 401
    throttle.succeeded(name)
    sign_in(user)
    return redirect(next_url)


@bp.post("/logout")
def logout() -> Response:
    sign_out()
    return redirect("/login")
