"""Local accounts, for teams without an identity provider: argon2id hashes, slowed failures.

A password is kept only as its argon2id hash (``argon2-cffi``'s defaults, RFC 9106's second
recommended setting). A failed sign-in is answered after a delay that doubles with each failure
in a row (capped), and after :data:`LOCK_AFTER` failures the account is locked for
:data:`LOCK_MINUTES`; an unknown email costs the same hash check as a known one, so the answer
does not say which emails have accounts. Every outcome is written to the audit trail.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from geo.errors import StreetsafeError
from store import Store, UserRow
from store._access import now_utc
from streetsafe import audit
from streetsafe.access import check_role_agency, fold_email, plausible_email

MIN_PASSWORD = 12
LOCK_AFTER = 5  # failures in a row
LOCK_MINUTES = 15
MAX_DELAY = 8.0  # seconds
_HASHER = PasswordHasher()
# checked against when the email has no account, so that both take as long
_DUMMY_HASH = _HASHER.hash("streetsafe: no such account")
_NOT_AN_EMAIL = audit.Actor("(not an email)")  # what was typed is not written down


class AccountError(StreetsafeError, ValueError):
    """An account cannot be made or changed as asked."""


@dataclass(frozen=True)
class SignedIn:
    """A local account that signed in."""

    email: str
    role: str
    agency: str
    stamp: str  # see account_stamp


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
    role, canonical = check_role_agency(role, agency, roles=roles, agency_of=agency_of)
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


Borrow = Callable[[], AbstractContextManager[Store]]


def sign_in(
    store: Store | Borrow,
    email: str,
    password: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SignedIn | None:
    """Return the account if ``password`` is its password, else None (after a delay).

    The same None, after the same delays, answers an unknown email, a wrong password, a
    disabled and a paused account: which it was is written to the audit trail, not told to
    the person at the keyboard. ``store`` may be a function lending the store (the
    dashboard's, shared): it is held to read and to write, never while the hash is checked.
    """
    borrow: Borrow = (lambda: nullcontext(store)) if isinstance(store, Store) else store
    email = fold_email(email)
    if not plausible_email(email):
        _matches(_DUMMY_HASH, password)
        with borrow() as st:
            audit.record(st, audit.LOGIN_FAIL, _NOT_AN_EMAIL, via="local", reason="not an email")
        sleep(_unknown_failure(email))
        return None
    with borrow() as st:
        user = st.user(email)
    who = audit.Actor(email, user.role if user else "", user.agency if user else "")
    now = now_utc()
    if user is None:
        _matches(_DUMMY_HASH, password)
        with borrow() as st:
            audit.record(st, audit.LOGIN_FAIL, who, via="local", reason="no such account")
        sleep(_unknown_failure(email))
        return None
    good = _matches(user.password_hash, password)  # outside the store's lock: it takes a while
    with borrow() as st:
        if user.locked_until is not None and user.locked_until > now:
            audit.record(st, audit.LOGIN_FAIL, who, via="local", reason="locked")
            delay = MAX_DELAY
        elif good and not user.disabled:
            st.update_user(email, failed=0, locked_until=None)
            audit.record(st, audit.LOGIN_SUCCESS, who, via="local")
            return SignedIn(email, user.role, user.agency, account_stamp(user))
        else:
            failed = st.add_failure(email)
            delay = failure_delay(failed)
            if user.disabled:
                audit.record(st, audit.LOGIN_FAIL, who, via="local", reason="account disabled")
            elif failed >= LOCK_AFTER:
                st.update_user(email, locked_until=now + timedelta(minutes=LOCK_MINUTES))
                audit.record(st, audit.LOGIN_LOCK, who, via="local", failures=failed)
            else:
                audit.record(st, audit.LOGIN_FAIL, who, via="local", reason="wrong password")
    sleep(delay)
    return None


def account_stamp(user: UserRow) -> str:
    """Return what a session is signed in under: the account's role, agency, password and
    state. A session whose account no longer has this stamp (disabled, new password, another
    role) is signed out."""
    text = "\n".join((user.role, user.agency, user.password_hash, str(user.disabled)))
    return hashlib.sha256(text.encode()).hexdigest()


# Failures in a row for emails without an account, so that their delays grow as a real
# account's do (else the delay would say which emails have one). In memory, bounded.
_UNKNOWN: OrderedDict[str, int] = OrderedDict()
_UNKNOWN_LOCK = threading.Lock()
_UNKNOWN_KEPT = 10_000


def _unknown_failure(email: str) -> float:
    with _UNKNOWN_LOCK:
        failed = _UNKNOWN.pop(email, 0) + 1
        _UNKNOWN[email] = failed
        while len(_UNKNOWN) > _UNKNOWN_KEPT:
            _UNKNOWN.popitem(last=False)
    return failure_delay(failed) if failed <= LOCK_AFTER else MAX_DELAY


def _matches(stored: str, password: str) -> bool:
    try:
        return bool(_HASHER.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False
