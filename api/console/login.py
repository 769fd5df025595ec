"""Signing in and out of the console."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request
from werkzeug.wrappers import Response

from api.auth import LoginThrottle, check_csrf, sign_in, sign_out
from api.console.i18n import gettext as _
from api.context import parts

bp = Blueprint("login", __name__)


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
    throttle.succeeded(name)
    sign_in(user)
    return redirect(next_url)


@bp.post("/logout")
def logout() -> Response:
    sign_out()
    return redirect("/login")
