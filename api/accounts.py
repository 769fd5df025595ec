"""User accounts and API tokens: the operations on them, without HTTP.

Passwords are hashed with argon2; an API token's secret is shown once and only its
SHA-256 is kept (the secret is random enough that a slow hash would add nothing). Every
change is one operation of :class:`Accounts` that writes one audit entry per record it
changes (disabling a user also revokes each live token of theirs, each audited on its own
so every token's history is complete), never with a hash in it. Bookkeeping that changes
no meaning (a rehash on sign-in, a token's last use) is not audited.

Console sessions live in the store (:class:`~store.model.UserSession`): the cookie holds a
random secret, the store its SHA-256. Signing out, a password change, a role change,
disabling and an admin's "sign out everywhere" revoke them; a session also ends when unused
for :attr:`AccountPolicy.idle` or older than :attr:`AccountPolicy.absolute`. API tokens end
at their expiry (default :attr:`AccountPolicy.token_days`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api import totp
from api.passwords import weakness
from store import ConflictError, Invalid, Store
from store.acting import Acting
from store.codec import to_doc
from store.model import ApiToken, User, UserSession

ROLES = ("viewer", "operator", "admin")  # each role may do what those before it may
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
MIN_PASSWORD = 10
MAX_LABEL = 100
TOKEN_PREFIX = "yq_"
_TOKEN = re.compile(r"^yq_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$")
# A token used again within this time keeps its recorded last use: no write per request.
LAST_USED_EVERY = timedelta(minutes=1)
MAX_TOKEN_DAYS = 3650
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
# A token checked within this many seconds is not read from the store again (two store
# reads per API request otherwise). Revoking a token, and changing or disabling its
# user, through this process's Accounts takes effect at once; done by another process
# (another API replica, the CLI), within this time.
TOKEN_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class AccountPolicy:
    """How long sessions and tokens live (``[api]`` in the configuration)."""

    idle: timedelta = timedelta(hours=2)
    absolute: timedelta = timedelta(hours=12)
    token_days: int = 90


class AccountError(Invalid):
    """Bad input for an account operation; ``field`` names the offending input."""

    field: str

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field)


def has_role(user: User, role: str) -> bool:
    """Whether ``user`` may act as ``role`` (admins may do what operators may, and so on).
    A disabled user has no role."""
    return not user.disabled and ROLES.index(user.role) >= ROLES.index(role)


# Options of the password hasher: argon2-cffi's defaults (RFC 9106's second recommended
# parameter set) unless changed here. Test suites lower the cost, as Django's test
# settings do, so that creating a user or signing in costs milliseconds, not 0.3 s.
HASHER_OPTIONS: dict[str, Any] = {}


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


class Accounts:
    """Users and tokens in ``store``; ``clock`` gives the (time zone aware) time."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        policy: AccountPolicy | None = None,
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or AccountPolicy()
        self.hasher = PasswordHasher(**HASHER_OPTIONS)
        # TOTP codes follow the real time of the admin's phone, never a test or demo clock
        # that the business ``clock`` may be.
        self.wall = wall
        # token digest -> (token, its user, monotonic time read); see TOKEN_CACHE_SECONDS
        self._checked: dict[str, tuple[ApiToken, User, float]] = {}
        self.token_cache_seconds = TOKEN_CACHE_SECONDS
        self._checked_lock = threading.Lock()

    def forget_tokens(self) -> None:
        """Drop the recently checked tokens: the next request with each reads the store
        (after any change to a token or a user, which may end what a token grants)."""
        with self._checked_lock:
            self._checked.clear()

    def create(
        self,
        name: str,
        role: str,
        password: str,
        *,
        actor: str,
        display_name: str = "",
        email: str = "",
    ) -> User:
        """A new user; :class:`AccountError` if the name is taken or an input is bad."""
        if not NAME.match(name):
            raise AccountError(
                "name must be 2-32 characters of a-z, 0-9, '_', '.' or '-', "
                "starting with a letter or digit",
                "name",
            )
        _check_role(role)
        self._check_password(name, password, display_name)
        now = self.clock()
        user = User(
            name=name,
            role=role,
            password_hash=self.hasher.hash(password),
            created=now,
            updated=now,
            display_name=display_name.strip(),
            email=email.strip(),
        )
        try:
            self.store.users.put(user)
        except ConflictError as e:
            raise AccountError(f"a user named {name} exists already", "name") from e
        self._audit(actor, "user.create", f"user:{name}", None, public(user))
        return user

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs and they are enabled, else None. Takes as
        long for an unknown name as for a wrong password."""
        user = self.store.users.get(name) if NAME.match(name) else None
        if user is None:
            self._verify(_dummy_hash(self.hasher), password)
            return None
        if not self._verify(user.password_hash, password) or user.disabled:
            return None
        if self.hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(password)
            # If it changed meanwhile, the next login rehashes.
            with suppress(ConflictError):
                self.store.users.put(user)
        return user

    def set_role(self, name: str, role: str, *, actor: str) -> User:
        """Give ``name`` the role ``role``; the last admin cannot be demoted."""
        _check_role(role)
        user = self._user(name)
        if user.role == "admin" and role != "admin":
            self._keep_an_admin(user, "role")
        changed = self._change(user, actor, "user.role", role=role)
        self._end_sessions(name)  # the new role holds from the next sign-in on
        return changed

    def set_disabled(self, name: str, disabled: bool, *, actor: str) -> User:
        """Disable (which also revokes the user's tokens) or enable ``name``."""
        user = self._user(name)
        if disabled and user.role == "admin":
            self._keep_an_admin(user, "disabled")
        changed = self._change(
            user, actor, "user.disable" if disabled else "user.enable", disabled=disabled
        )
        if disabled:
            self._end_sessions(name)
            for token in self.store.tokens.list(name):
                if token.revoked is None:
                    self._revoke(token, actor)
        return changed

    def set_password(self, name: str, password: str, *, actor: str) -> User:
        """Replace ``name``'s password."""
        user = self._user(name)
        self._check_password(name, password, user.display_name)
        changed = self._change(
            user, actor, "user.password", password_hash=self.hasher.hash(password)
        )
        self._end_sessions(name)
        return changed

    # -- the second factor (TOTP, admins) --------------------------------------------

    def enable_totp(
        self, name: str, secret: str, code: str, password: str, *, actor: str
    ) -> list[str]:
        """Make ``secret`` (shown to the admin ``name`` at enrolment) their second factor,
        once their ``password`` and a first ``code`` from their app prove it; the recovery
        codes, shown once and kept only as hashes."""
        user = self._user(name)
        if user.role != "admin":
            raise AccountError("two-step verification is for admins only", "name")
        if user.totp_secret:
            raise AccountError(
                "two-step verification is on already; to change it, have an admin reset it first",
                "code",
            )
        if not self._verify(user.password_hash, password):
            raise AccountError("wrong password", "password")
        try:
            step = totp.matching_step(secret, code, self.wall())
            totp.secret_bytes(secret)
        except ValueError as e:
            raise AccountError("invalid key; start the enrolment again", "secret") from e
        if step is None:
            raise AccountError(
                "wrong code: enter the 6 digits your authenticator app shows now", "code"
            )
        codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
        self._change(
            user,
            actor,
            "user.totp.enable",
            totp_secret=secret.strip().replace(" ", "").upper(),
            totp_step=step,
            recovery_codes=[_digest(_plain(c)) for c in codes],
        )
        return codes

    def check_second_factor(self, name: str, code: str) -> User | None:
        """The enabled user ``name`` if ``code`` is their app's current code (not used
        before) or one of their unused recovery codes (used up by this, audited), else
        None."""
        user = self.store.users.get(name) if NAME.match(name) else None
        if user is None or user.disabled or not user.totp_secret or len(code) > 64:
            return None
        plain = _plain(code)
        if plain.isdigit():
            step = totp.matching_step(user.totp_secret, plain, self.wall(), after=user.totp_step)
            if step is None:
                return None
            user.totp_step = step
            try:
                self.store.users.put(user)  # a code used at once elsewhere: one of them wins
            except ConflictError:
                return None
            return user
        digest = _digest(plain)
        if not any(hmac.compare_digest(digest, kept) for kept in user.recovery_codes):
            return None
        left = [kept for kept in user.recovery_codes if kept != digest]
        try:
            return self._change(user, name, "user.totp.recovery", recovery_codes=left)
        except ConflictError:
            return None

    def reset_totp(self, name: str, *, actor: str) -> User:
        """Turn ``name``'s second factor off (a lost phone): they sign in with the password
        alone and may enrol again."""
        user = self._user(name)
        if not user.totp_secret:
            raise AccountError(f"{name} has no two-step verification on", "name")
        return self._change(
            user, actor, "user.totp.reset", totp_secret="", totp_step=0, recovery_codes=[]
        )

    # -- console sessions ------------------------------------------------------------

    def start_session(self, user: User, address: str = "") -> str:
        """A new session for ``user``; its secret, for the cookie (the store keeps only its
        hash). Sessions long past any timeout are pruned on the way."""
        now = self.clock()
        secret = secrets.token_urlsafe(32)
        record = UserSession(
            id=_digest(secret), user=user.name, created=now, last_seen=now, address=address[:64]
        )
        self.store.sessions.put(record)
        self.store.sessions.prune(now - self.policy.absolute - timedelta(days=1))
        return secret

    def session_user(self, secret: str) -> User | None:
        """The enabled user of the live session ``secret``, else None; records its use (at
        most once a minute, so a busy page does not write on every request)."""
        if not secret or len(secret) > 100:
            return None
        record = self.store.sessions.get(_digest(secret))
        now = self.clock()
        if (
            record is None
            or record.revoked is not None
            or now - record.created >= self.policy.absolute
            or now - record.last_seen >= self.policy.idle
        ):
            return None
        user = self.store.users.get(record.user)
        if user is None or user.disabled:
            return None
        if now - record.last_seen >= LAST_USED_EVERY:
            record.last_seen = now
            # A concurrent request touched it, or a revocation won: either way it stands.
            with suppress(ConflictError):
                self.store.sessions.put(record)
        return user

    def end_session(self, secret: str) -> None:
        """Sign out: the session ``secret`` is revoked (a replayed cookie then fails)."""
        record = self.store.sessions.get(_digest(secret)) if secret else None
        if record is not None and record.revoked is None:
            record.revoked = self.clock()
            self.store.sessions.put(record)

    def sign_out_everywhere(self, name: str, *, actor: str) -> int:
        """End every open session of ``name`` (audited); how many were open."""
        self._user(name)
        ended = self._end_sessions(name)
        self._audit(actor, "user.signout", f"user:{name}", None, {"sessions_ended": ended})
        return ended

    def open_sessions(self, name: str) -> list[UserSession]:
        """``name``'s sessions that would still sign them in, oldest first."""
        now = self.clock()
        return [s for s in self.store.sessions.list(name) if self._live(s, now)]

    def _live(self, record: UserSession, now: datetime) -> bool:
        return (
            record.revoked is None
            and now - record.created < self.policy.absolute
            and now - record.last_seen < self.policy.idle
        )

    def _end_sessions(self, name: str) -> int:
        now, ended = self.clock(), 0
        for record in self.store.sessions.list(name):
            if record.revoked is None:
                ended += self._live(record, now)
                record.revoked = now
                # A touch in between: read again and revoke that.
                while True:
                    try:
                        self.store.sessions.put(record)
                        break
                    except ConflictError:
                        fresh = self.store.sessions.get(record.id)
                        if fresh is None or fresh.revoked is not None:
                            break
                        fresh.revoked, record = now, fresh
        return ended

    def issue_token(
        self, user: str, label: str, *, actor: str, days: int | None = None
    ) -> tuple[ApiToken, str]:
        """A new token for ``user`` and its secret, which is not kept and cannot be
        shown again; it expires after ``days`` (default :attr:`AccountPolicy.token_days`)."""
        owner = self._user(user, field="user")
        if owner.disabled:
            raise AccountError(f"user {user} is disabled", "user")
        label = label.strip()
        if not label or len(label) > MAX_LABEL:
            raise AccountError(f"label must be 1-{MAX_LABEL} characters", "label")
        days = self.policy.token_days if days is None else days
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise AccountError(f"days must be 1-{MAX_TOKEN_DAYS}", "days")
        now = self.clock()
        token_id = secrets.token_hex(8)
        secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        token = ApiToken(
            id=token_id,
            user=user,
            label=label,
            token_hash=_digest(secret),
            created=now,
            expires=now + timedelta(days=days),
        )
        self.store.tokens.put(token)
        self._audit(actor, "token.issue", f"token:{token_id}", None, public(token))
        return token, secret

    def by_token(self, secret: str) -> User | None:
        """The enabled user whose live token ``secret`` is, else None. A token checked in
        the last :data:`TOKEN_CACHE_SECONDS` is not read again (its expiry still is)."""
        match = _TOKEN.match(secret)
        if not match:
            return None
        digest, now = _digest(secret), self.clock()
        with self._checked_lock:
            hit = self._checked.get(digest)
        if (
            hit is not None
            and time.monotonic() - hit[2] < self.token_cache_seconds
            and not _use_due(hit[0], now)  # else read again below and record the use
        ):
            return hit[1] if now < self.expiry(hit[0]) else None
        token = self.store.tokens.get(match.group(1))
        if (
            token is None
            or token.revoked is not None
            or now >= self.expiry(token)
            or not hmac.compare_digest(token.token_hash, digest)
        ):
            return None
        user = self.store.users.get(token.user)
        if user is None or user.disabled:
            return None
        if _use_due(token, now):
            token.last_used = now
            with suppress(ConflictError):  # a concurrent request recorded the use
                self.store.tokens.put(token)
        with self._checked_lock:
            if len(self._checked) >= 10_000:  # many tokens: start over rather than grow
                self._checked.clear()
            self._checked[digest] = (token, user, time.monotonic())
        return user

    def expiry(self, token: ApiToken) -> datetime:
        """When ``token`` stops working; one issued before tokens had an expiry ends
        ``token_days`` after it was made."""
        return token.expires or token.created + timedelta(days=self.policy.token_days)

    def revoke_token(self, token_id: str, *, actor: str) -> ApiToken:
        """Revoke the token (it stays listed); revoking it again changes nothing."""
        token = self.store.tokens.get(token_id)
        if token is None:
            raise AccountError(f"no token with id {token_id}", "token_id")
        return token if token.revoked is not None else self._revoke(token, actor)

    def _revoke(self, token: ApiToken, actor: str) -> ApiToken:
        before = public(token)
        token.revoked = self.clock()
        self.store.tokens.put(token)
        self.forget_tokens()
        self._audit(actor, "token.revoke", f"token:{token.id}", before, public(token))
        return token

    def _user(self, name: str, field: str = "name") -> User:
        user = self.store.users.get(name)
        if user is None:
            raise AccountError(f"no user named {name}", field)
        return user

    def _change(self, user: User, actor: str, action: str, **changes: Any) -> User:
        before = public(user)
        for key, value in changes.items():
            setattr(user, key, value)
        user.updated = self.clock()
        self.store.users.put(user)
        self.forget_tokens()  # a token's user is kept with it
        self._audit(actor, action, f"user:{user.name}", before, public(user))
        return user

    def _keep_an_admin(self, user: User, field: str) -> None:
        others = [u for u in self.store.users.list() if u.role == "admin" and not u.disabled]
        if [u.name for u in others] == [user.name]:
            raise AccountError(f"{user.name} is the last enabled admin", field)

    def _check_password(self, name: str, password: str, display_name: str = "") -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"password must have at least {MIN_PASSWORD} characters", "password")
        if password == name:
            raise AccountError("password must not be the user name", "password")
        problem = weakness(password, name, display_name)
        if problem:
            raise AccountError(problem, "password")

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _audit(self, actor: str, action: str, target: str, before: Any, after: Any) -> None:
        Acting(actor, self.store, self.clock).audit(action, target, before, after)


def public(record: User | ApiToken) -> dict[str, Any]:
    """``record`` as data fit for the audit log and the API: without its hash, and for a
    user whether a second factor is on and how many recovery codes are left, never the
    secret or the codes."""
    doc = to_doc(record)
    doc.pop("password_hash", None)
    doc.pop("token_hash", None)
    if isinstance(record, User):
        for key in ("totp_secret", "totp_step", "recovery_codes"):
            doc.pop(key, None)
        doc["totp"] = bool(record.totp_secret)
        doc["recovery_codes_left"] = len(record.recovery_codes)
    return doc


def _recovery_code() -> str:
    """``xxxxx-xxxxx``: 50 bits, easy to read out and type."""
    chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def _plain(code: str) -> str:
    return code.strip().lower().replace("-", "").replace(" ", "")


def _use_due(token: ApiToken, now: datetime) -> bool:
    """Whether a use of ``token`` at ``now`` is to be recorded (see LAST_USED_EVERY)."""
    return token.last_used is None or now - token.last_used >= LAST_USED_EVERY


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}", "role")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
