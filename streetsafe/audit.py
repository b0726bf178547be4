"""The audit trail: who signed in, who was refused, who saw, exported and uploaded what.

Events are named after the OWASP logging vocabulary. An entry holds the actor (an email, or
``operator`` for the command line), their role and agency, and a detail with what was asked:
the page, the release or the filters, how many cells came back; for an upload the counts and
the file's SHA-256 (never its name or rows). It never holds a record, a coordinate or a person
reference: the trail is readable by the admin role, who sees no data.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from ingest.files import safe_cell
from store import Store, chain_hash
from store._access import GENESIS

# The events streetsafe writes (OWASP Logging Vocabulary Cheat Sheet names).
LOGIN_SUCCESS = "authn_login_success"
LOGIN_FAIL = "authn_login_fail"
LOGIN_LOCK = "authn_login_lock"
AUTHZ_FAIL = "authz_fail"
AUTHZ_CHANGE = "authz_change"
SENSITIVE_READ = "sensitive_read"
UPLOAD_COMPLETE = "upload_complete"
UPLOAD_VALIDATION = "upload_validation"  # a file refused whole
UPLOAD_UNDONE = "upload_undone"  # a file's records taken back by its uploader
USER_CREATED = "user_created"
USER_UPDATED = "user_updated"
USER_ARCHIVED = "user_archived"
SESSION_EXPIRED = "session_expired"
LOGOUT = "authn_logout"
EVENTS = (
    LOGIN_SUCCESS,
    LOGIN_FAIL,
    LOGIN_LOCK,
    LOGOUT,
    SESSION_EXPIRED,
    AUTHZ_FAIL,
    AUTHZ_CHANGE,
    SENSITIVE_READ,
    UPLOAD_COMPLETE,
    UPLOAD_VALIDATION,
    UPLOAD_UNDONE,
    USER_CREATED,
    USER_UPDATED,
    USER_ARCHIVED,
)


@dataclass(frozen=True)
class Actor:
    """Who did something: an email (or ``operator``), with the role and agency they had."""

    who: str
    role: str = ""
    agency: str = ""


OPERATOR = Actor("operator", "operator")
ANONYMOUS = Actor("anonymous")


def record(store: Store, event: str, actor: Actor, **detail: Any) -> int:
    """Append one event to the store's audit trail; return its sequence number."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    return store.append_audit(
        event, actor=actor.who, role=actor.role, agency=actor.agency, detail=detail
    )


@dataclass(frozen=True)
class Verification:
    """What ``audit verify`` found: how many entries, the last one's hash, and each break."""

    entries: int
    head: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the chain is whole."""
        return not self.problems


def verify(store: Store, *, head: str | None = None) -> Verification:
    """Check the chain of the store's audit trail.

    An edited entry no longer matches its hash; a deleted one leaves a gap in the sequence and
    a "previous hash" that matches nothing. Deleting the newest entries leaves a whole, shorter
    chain: pass the ``head`` hash noted from an earlier check (kept away from the store) to
    find that too.
    """
    entries = store.audit_entries()
    problems: list[str] = []
    prev, expected_seq, seen_head = GENESIS, 1, head is None
    for row in entries.itertuples(index=False):
        row_: Any = row
        seq = int(row_.seq)
        if seq != expected_seq:
            problems.append(f"entry {expected_seq} to {seq - 1} missing (deleted)")
        if row_.prev_hash != prev:
            problems.append(f"entry {seq}: does not follow the entry before it")
        logged_at = pd.Timestamp(row_.logged_at).to_pydatetime()
        digest = chain_hash(
            str(row_.prev_hash),
            seq=seq,
            at=logged_at,
            event=str(row_.event),
            actor=str(row_.actor),
            role=str(row_.role),
            agency=str(row_.agency),
            detail=str(row_.detail),
        )
        if digest != row_.hash:
            problems.append(f"entry {seq}: changed since it was written")
        seen_head = seen_head or row_.hash == head
        prev, expected_seq = str(row_.hash), seq + 1
    if not seen_head:
        problems.append(f"the entry with hash {head} is gone: the newest entries were deleted")
    return Verification(len(entries), prev, problems)


def export(
    store: Store, *, since: datetime | None = None, actor: str | None = None, fmt: str = "csv"
) -> str:
    """Return the audit entries (from ``since``, of ``actor``) as CSV or JSON lines."""
    frame = store.audit_entries(since=since, actor=actor)
    records: list[Any] = list(frame.itertuples(index=False))
    rows = [
        {
            "seq": int(r.seq),
            "logged_at_utc": pd.Timestamp(r.logged_at).isoformat(),
            "event": r.event,
            "actor": r.actor,
            "role": r.role,
            "agency": r.agency,
            "detail": json.loads(r.detail),
            "hash": r.hash,
        }
        for r in records
    ]
    if fmt == "json":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt!r} (csv or json)")
    out = io.StringIO()
    names = ["seq", "logged_at_utc", "event", "actor", "role", "agency", "detail", "hash"]
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {**row, "detail": json.dumps(row["detail"], ensure_ascii=False)}
        # an actor's email or an agency's name reaches a spreadsheet as text, never a formula
        writer.writerow({k: safe_cell(v) if isinstance(v, str) else v for k, v in cells.items()})
    return out.getvalue()


def describe(detail: Mapping[str, Any]) -> str:
    """Return an entry's detail as short text for the Audit page."""
    return "; ".join(f"{k}: {v}" for k, v in detail.items())
