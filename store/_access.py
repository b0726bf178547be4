"""The store's tables of people who sign in and of what they did: local accounts, audit trail.

Both engines keep them beside the records. The audit trail is append-only and chained: each
entry carries the SHA-256 of the entry before it and of itself (see :func:`chain_hash`), so an
edited or a deleted entry breaks the chain where it was (``streetsafe audit verify``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from geo.errors import StoreError
from store._engine import EngineHooks

GENESIS = "0" * 64  # the "previous hash" of the first entry
AUDIT_COLUMNS = (
    "seq",
    "logged_at",
    "event",
    "actor",
    "role",
    "agency",
    "detail",
    "prev_hash",
    "hash",
)
USER_COLUMNS = (
    "email",
    "role",
    "agency",
    "password_hash",
    "disabled",
    "failed",
    "locked_until",
    "created_at",
    "changed_at",
)


@dataclass(frozen=True)
class UserRow:
    """A local account as stored (the password only as its argon2id hash)."""

    email: str
    role: str
    agency: str
    password_hash: str
    disabled: bool = False
    failed: int = 0  # failed sign-ins since the last success
    locked_until: datetime | None = None  # UTC, naive
    created_at: datetime | None = None
    changed_at: datetime | None = None


def now_utc() -> datetime:
    """Return the time now in UTC, naive (as the stores keep times)."""
    return datetime.now(UTC).replace(tzinfo=None)


def chain_hash(
    prev_hash: str,
    *,
    seq: int,
    at: datetime,
    event: str,
    actor: str,
    role: str,
    agency: str,
    detail: str,
) -> str:
    """Return the hash of one audit entry: over the entry before it and every field of this
    one, so that changing or removing any entry breaks every hash after it."""
    body = json.dumps(
        [prev_hash, seq, at.isoformat(timespec="microseconds"), event, actor, role, agency, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class AccessTables(EngineHooks):
    """Local accounts and the audit trail, for :class:`store.Store` (both engines)."""

    url: str

    # --- local accounts --------------------------------------------------------------------

    def add_user(self, user: UserRow) -> None:
        """Store a new account; refuse an email that already has one."""
        if self.user(user.email) is not None:
            raise StoreError(f"there is already an account for {user.email}")
        at = now_utc()
        self._execute(
            f"INSERT INTO users ({', '.join(USER_COLUMNS)}) VALUES "
            f"({', '.join('?' for _ in USER_COLUMNS)})",
            (
                user.email,
                user.role,
                user.agency,
                user.password_hash,
                user.disabled,
                user.failed,
                user.locked_until,
                at,
                at,
            ),
        )

    def user(self, email: str) -> UserRow | None:
        """Return the account of ``email`` (as given: emails are folded before they get here)."""
        rows = self._execute(
            f"SELECT {', '.join(USER_COLUMNS)} FROM users WHERE email = ?", (email,)
        )
        if not rows:
            return None
        values = dict(zip(USER_COLUMNS, rows[0], strict=True))
        values["disabled"] = bool(values["disabled"])
        values["failed"] = int(values["failed"])
        return UserRow(**values)

    def users(self) -> list[UserRow]:
        """Return every account, by email."""
        emails = [str(r[0]) for r in self._execute("SELECT email FROM users ORDER BY email")]
        return [u for u in map(self.user, emails) if u is not None]

    def has_users(self) -> bool:
        """Return whether any local account exists (enabled or not)."""
        return bool(self._execute("SELECT count(*) FROM users")[0][0])

    def update_user(self, email: str, **changes: Any) -> None:
        """Change some of an account's fields (``role``, ``agency``, ``password_hash``,
        ``disabled``, ``failed``, ``locked_until``)."""
        allowed = set(USER_COLUMNS) - {"email", "created_at", "changed_at"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))} of an account")
        if self.user(email) is None:
            raise StoreError(f"there is no account for {email}")
        sets = ", ".join(f"{name} = ?" for name in changes)
        self._execute(
            f"UPDATE users SET {sets}, changed_at = ? WHERE email = ?",
            (*changes.values(), now_utc(), email),
        )

    def add_failure(self, email: str) -> int:
        """Count one more failed sign-in of ``email``; return the count, counted in one
        statement (two servers counting at once lose neither)."""
        rows = self._execute(
            "UPDATE users SET failed = failed + 1, changed_at = ? WHERE email = ? RETURNING failed",
            (now_utc(), email),
        )
        return int(rows[0][0]) if rows else 0

    # --- the audit trail -------------------------------------------------------------------

    def append_audit(
        self, event: str, *, actor: str, role: str, agency: str, detail: Mapping[str, Any]
    ) -> int:
        """Append one entry to the audit trail; return its sequence number.

        One transaction, the trail locked while the entry is chained to the last one, so that
        two servers writing at once still make one chain.
        """
        text = json.dumps(dict(detail), ensure_ascii=False, sort_keys=True, default=str)
        with self._transaction():
            self._lock_audit()
            last = self._execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            seq, prev = (int(last[0][0]) + 1, str(last[0][1])) if last else (1, GENESIS)
            at = now_utc()
            digest = chain_hash(
                prev,
                seq=seq,
                at=at,
                event=event,
                actor=actor,
                role=role,
                agency=agency,
                detail=text,
            )
            self._execute(
                f"INSERT INTO audit ({', '.join(AUDIT_COLUMNS)}) VALUES "
                f"({', '.join('?' for _ in AUDIT_COLUMNS)})",
                (seq, at, event, actor, role, agency, text, prev, digest),
            )
        return seq

    def audit_entries(
        self,
        *,
        since: datetime | None = None,
        actor: str | None = None,
        events: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Return audit entries in order (all columns), from ``since`` (UTC, naive), of one
        ``actor`` or of some ``events`` only, if given."""
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("logged_at >= ?")
            params.append(since)
        if actor is not None:
            clauses.append("actor = ?")
            params.append(actor)
        if events is not None:
            clauses.append(f"event IN ({', '.join('?' for _ in events) or 'NULL'})")
            params += list(events)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._execute(
            f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit {where} ORDER BY seq", params
        )
        frame = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
        return frame.astype({"seq": "int64"}) if len(frame) else frame

    # --- engine hooks ----------------------------------------------------------------------

    def _lock_audit(self) -> None:
        """Hold other writers of the audit trail off until this transaction ends."""
