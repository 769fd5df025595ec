"""Who is asking and what they may do.

Two ways in: the console's session cookie (signed, HttpOnly, SameSite=Lax; it carries only
the id of a session kept in the store, see :mod:`api.accounts`; every unsafe request also
carries the session's CSRF token) and API tokens for scripts
(``Authorization: Bearer yq_...``, hashed at rest). Roles are ordered
viewer < operator < admin; :func:`require` guards each view.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from api.accounts import ROLES, has_role
from api.context import parts
from api.errors import ApiError
from store.acting import Acting
from store.model import User

F = TypeVar("F", bound=Callable[..., Any])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def current_user() -> User | None:
    """The signed-in user of this request, or None (checked once per request)."""
    if "user" not in g:
        g.user, g.via = _identify()
    return cast(User | None, g.user)


def actor() -> str:
    """The name recorded in audit entries and alert timelines for this request."""
    user = current_user()
    return user.name if user else "anonymous"


def acting() -> Acting:
    """The current user changing the app's store by its clock: what every operation takes
    first (see :mod:`store.acting`)."""
    p = parts()
    return Acting(actor(), p.store, p.clock)


def _identify() -> tuple[User | None, str]:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return parts().accounts.by_token(header[7:].strip()), "token"
    sid = session.get("sid")
    if not sid:
        return None, "none"
    # Revoked (sign-out, password or role change, disabling), idle or too old: gone.
    user = parts().accounts.session_user(str(sid))
    if user is None:
        session.clear()
        return None, "none"
    return user, "session"


def require(role: str) -> Callable[[F], F]:
    """Let the view run only for a signed-in user with at least ``role``.

    The check also runs in :func:`protect` before the request body is validated, so
    an anonymous or under-privileged caller learns nothing about the endpoint."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            refusal = _authorize(role)
            return refusal if refusal is not None else view(*args, **kwargs)

        guarded.required_role = role  # type: ignore[attr-defined]  # read by protect()
        return cast(F, guarded)

    return decorate


def _authorize(role: str) -> Response | None:
    user = current_user()
    if user is None:
        if not request.path.startswith("/api/"):
            return redirect(url_for("login.login", next=request.full_path.rstrip("?")))
        raise ApiError(
            401,
            "sign in, or send an API token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="yuqing"'},
        )
    if not has_role(user, role):
        raise ApiError(403, f"this needs the {role} role; you are {user.role}")
    return None


def csrf_token() -> str:
    """This session's CSRF token; forms and htmx send it back. Signed in, it is derived
    from the session id (the cookie holds nothing else); before sign-in (the login form)
    it is a random value kept in the cookie."""
    sid = session.get("sid")
    if sid:
        key = str(current_app.config["SECRET_KEY"]).encode()
        return hmac.new(key, f"csrf|{sid}".encode(), hashlib.sha256).hexdigest()
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return cast(str, token)


def check_csrf() -> None:
    """Refuse an unsafe request whose CSRF token is missing or not this session's."""
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    expected = csrf_token() if session.get("sid") or session.get("csrf") else ""
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise ApiError(403, "the form has expired or did not come from this site; reload it")


def protect() -> Response | None:
    """Before every request: the view's role (see :func:`require`), then the CSRF
    token of a session-authenticated unsafe request."""
    view = current_app.view_functions.get(request.endpoint or "")
    role = getattr(view, "required_role", None)
    if role is not None:
        refusal = _authorize(role)
        if refusal is not None:
            return refusal
    if request.method not in SAFE_METHODS:
        current_user()
        if g.via == "session":
            check_csrf()
    return None


def sign_in(user: User) -> None:
    """Start a fresh session for ``user`` (a new id and CSRF token: no fixation)."""
    secret = parts().accounts.start_session(user, request.remote_addr or "")
    session.clear()
    session.permanent = True
    session["sid"] = secret
    g.user, g.via = user, "session"


def sign_out() -> None:
    """End this browser's session in the store too: its cookie, replayed, signs in nobody."""
    sid = session.get("sid")
    if sid:
        parts().accounts.end_session(str(sid))
    session.clear()
    g.user, g.via = None, "none"


class LoginThrottle:
    """Failed sign-ins slow further attempts down; they never lock an account.

    After ``free`` failures each further one doubles the wait before the next attempt
    (1 s, 2 s, 4 s, ...), counted per client address (up to ``address_cap``: one address
    guessing gets nowhere) and per account over all addresses (up to ``account_cap``: a
    guess spread over many addresses still gets a few tries a minute, while the duty
    officer whose account is under attack waits at most that long, never a lockout).
    Failures are forgotten ``window`` seconds after the last one. Kept in the process:
    behind several API replicas each counts its own share, which still bounds guessing."""

    def __init__(
        self,
        free: int = 5,
        address_cap: float = 900.0,
        account_cap: float = 30.0,
        window: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.window, self.clock = free, window, clock
        self.caps = {"ip": address_cap, "user": account_cap}
        self._failures: dict[str, tuple[int, float]] = {}  # key: (count, last failure)
        self._lock = threading.Lock()

    def _keys(self, address: str, name: str) -> list[tuple[str, float]]:
        return [(f"ip:{address}", self.caps["ip"]), (f"user:{name}", self.caps["user"])]

    def wait(self, address: str, name: str) -> int:
        """Whole seconds until another attempt is allowed (0: go ahead)."""
        now = self.clock()
        longest = 0.0
        with self._lock:
            for key, cap in self._keys(address, name):
                count, last = self._failures.get(key, (0, now))
                if now - last >= self.window:
                    self._failures.pop(key, None)
                elif count >= self.free:
                    delay = min(2.0 ** (count - self.free), cap)
                    longest = max(longest, last + delay - now)
        return math.ceil(longest) if longest > 0 else 0

    MAX_KEYS = 50_000  # past this, keys without a failure in the window are dropped

    def failed(self, address: str, name: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= self.MAX_KEYS:  # guesses from very many addresses
                self._failures = {
                    k: v for k, v in self._failures.items() if now - v[1] < self.window
                }
            for key, _cap in self._keys(address, name):
                count, last = self._failures.get(key, (0, now))
                self._failures[key] = (1 if now - last >= self.window else count + 1, now)

    def succeeded(self, name: str) -> None:
        """The account's count restarts; the address's does not (an attacker signing in to
        an account of their own must not reset their guessing budget)."""
        with self._lock:
            self._failures.pop(f"user:{name}", None)


HSTS_SECONDS = 365 * 24 * 3600


def security_headers(response: Response) -> Response:
    """No inline scripts, no framing, no referrer leaking acknowledge tokens; HSTS when
    the console is served over https (the browser then never tries plain http again)."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
    if "user" in g and g.user is not None:
        response.headers.setdefault("Cache-Control", "no-store")
    return response
