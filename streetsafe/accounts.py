"""Local accounts, for teams without an identity provider: argon2id hashes, slowed failures.

A password is kept only as its argon2id hash (``argon2-cffi``'s defaults, RFC 9106's second
recommended setting). A failed sign-in is answered after a delay that doubles with each failure
in a row (capped), and after :data:`LOCK_AFTER` failures the account is locked for
:data:`LOCK_MINUTES`; an unknown email costs the same hash check as a known one, so the answer
does not say which emails have accounts. Every outcome is written to the audit trail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from geo.errors import ConfigError, StreetsafeError
from store import Store, UserRow
from store._access import now_utc
from streetsafe import audit
from streetsafe.access import ADMIN, fold_email

MIN_PASSWORD = 12
LOCK_AFTER = 5  # failures in a row
LOCK_MINUTES = 15
MAX_DELAY = 8.0  # seconds
_HASHER = PasswordHasher()
# checked against when the email has no account, so that both take as long
_DUMMY_HASH = _HASHER.hash("streetsafe: no such account")


class AccountError(StreetsafeError, ValueError):
    """An account cannot be made or changed as asked."""


@dataclass(frozen=True)
class SignedIn:
    """A local account that signed in."""

    email: str
    role: str
    agency: str


def hash_password(password: str, *, email: str = "") -> str:
    """Return the argon2id hash of ``password``, after checking it is long enough."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if email and fold_email(email) in password.casefold():
        raise AccountError("a password must not contain the account's email")
    return _HASHER.hash(password)


def check_email(email: str) -> str:
    """Return ``email`` folded, or refuse something that is not one."""
    folded = fold_email(email)
    local, _, domain = folded.partition("@")
    if not local or "." not in domain or " " in folded:
        raise AccountError(f"{email!r} is not an email address")
    return folded


def add_user(
    store: Store,
    email: str,
    *,
    role: str,
    agency: str,
    password: str,
    roles: Collection[str],
    agency_of: Callable[[str], str | None],
) -> UserRow:
    """Create a local account with ``role`` (one of ``roles`` or ``admin``) and ``agency``
    (one the deployment knows); audit it as the operator's act."""
    email = check_email(email)
    if role not in {*roles, ADMIN}:
        raise ConfigError(f"role {role!r} is not a role here (roles: {', '.join([*roles, ADMIN])})")
    canonical = agency_of(agency) if role != ADMIN or agency else agency
    if canonical is None:
        raise ConfigError(f"agency {agency!r} is not in the agencies file (STREETSAFE_AGENCIES)")
    user = UserRow(email, role, canonical, hash_password(password, email=email))
    store.add_user(user)
    audit.record(store, audit.USER_CREATED, audit.OPERATOR, user=email, role=role, agency=canonical)
    return user


def disable_user(store: Store, email: str) -> None:
    """Turn an account off (kept, for the audit trail's sake); audit it."""
    email = fold_email(email)
    if store.user(email) is None:
        raise AccountError(f"there is no account for {email}")
    store.update_user(email, disabled=True)
    audit.record(store, audit.USER_ARCHIVED, audit.OPERATOR, user=email)


def set_password(store: Store, email: str, password: str) -> None:
    """Give an account a new password (and unlock it); audit it."""
    email = fold_email(email)
    if store.user(email) is None:
        raise AccountError(f"there is no account for {email}")
    store.update_user(
        email, password_hash=hash_password(password, email=email), failed=0, locked_until=None
    )
    audit.record(store, audit.USER_UPDATED, audit.OPERATOR, user=email, change="password")


def failure_delay(failed: int) -> float:
    """Seconds to wait before answering the ``failed``-th failure in a row."""
    return float(min(MAX_DELAY, 0.25 * 2.0 ** max(failed - 1, 0)))


def sign_in(
    store: Store, email: str, password: str, *, sleep: Callable[[float], None] = time.sleep
) -> SignedIn | None:
    """Return the account if ``password`` is its password, else None (after a delay).

    The same None answers an unknown email, a wrong password, a disabled and a locked account:
    which it was is written to the audit trail, not told to the person at the keyboard.
    """
    email = fold_email(email)
    user = store.user(email)
    who = audit.Actor(email, user.role if user else "", user.agency if user else "")
    now = now_utc()
    if user is None:
        _matches(_DUMMY_HASH, password)
        audit.record(store, audit.LOGIN_FAIL, who, via="local", reason="no such account")
        sleep(failure_delay(1))
        return None
    if user.locked_until is not None and user.locked_until > now:
        _matches(user.password_hash, password)
        audit.record(store, audit.LOGIN_FAIL, who, via="local", reason="locked")
        sleep(MAX_DELAY)
        return None
    good = _matches(user.password_hash, password)
    if good and not user.disabled:
        store.update_user(email, failed=0, locked_until=None)
        audit.record(store, audit.LOGIN_SUCCESS, who, via="local")
        return SignedIn(email, user.role, user.agency)
    failed = user.failed + 1
    if user.disabled:
        audit.record(store, audit.LOGIN_FAIL, who, via="local", reason="account disabled")
    elif failed >= LOCK_AFTER:
        until = now + timedelta(minutes=LOCK_MINUTES)
        store.update_user(email, failed=failed, locked_until=until)
        audit.record(store, audit.LOGIN_LOCK, who, via="local", failures=failed)
    else:
        store.update_user(email, failed=failed)
        audit.record(store, audit.LOGIN_FAIL, who, via="local", reason="wrong password")
    sleep(failure_delay(failed))
    return None


def _matches(stored: str, password: str) -> bool:
    try:
        return bool(_HASHER.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False
