"""Uploads from the Data page: the CLI's readers and pipeline, into the dashboard's store.

A signed-in person uploads only to the layers their role's policy lists (``uploads``); every
row is stamped with their agency, so duplicates are looked for among their agency's records
only and the summary says nothing about any other agency's. Each upload, and each refusal, is
written to the audit trail (counts and the file's SHA-256, never its name or rows).
"""

from __future__ import annotations

import hashlib
import io

from dashboard.state import (
    Viewer,
    data_changed,
    deployment,
    ingesting,
    seal_context_for,
    store,
)
from geo.errors import PolicyError, StreetsafeError, UndoError
from ingest.kinds import KINDS
from ingest.pipeline import IngestSummary, Uploader, ingest_file
from streetsafe import audit
from streetsafe.access import ADMIN

ANOTHER_AGENCY = "another agency"  # the reason of a row naming an agency not the uploader's


def upload_kinds(who: Viewer) -> list[str]:
    """Return the report kinds ``who`` may upload (none in demo mode)."""
    if who.demo or who.role == ADMIN:
        return []
    allowed = deployment().policies[who.role].uploads
    return [name for name, kind in KINDS.items() if kind.layer in allowed]


def ingest_upload(who: Viewer, kind: str, name: str, data: bytes) -> IngestSummary:
    """Ingest a file of ``kind`` ``who`` uploaded; raises the same errors as ``streetsafe ingest``,
    and :class:`PolicyError` for a kind the role may not upload.

    The file is the uploader's agency's: a partner's records count towards no one's ``k`` in
    the releases (its agency's records are a pool of their own).
    """
    digest = hashlib.sha256(data).hexdigest()
    if kind not in upload_kinds(who):
        with store() as st_:
            audit.record(st_, audit.AUTHZ_FAIL, who.actor, asked="upload", kind=kind, sha256=digest)
        if who.demo:
            raise PolicyError("uploads need sign-in: demo mode takes no files")
        allowed = ", ".join(KINDS[k].title for k in upload_kinds(who)) or "nothing"
        title = KINDS[kind].title if kind in KINDS else kind
        raise PolicyError(f"your role may not upload {title} files (it uploads: {allowed})")
    dep = deployment()
    trusted = dep.policies[who.role].case_knowledge
    uploader = Uploader(who.agency, trusted=trusted, agency=who.agency)
    ctx = seal_context_for(dep.settings.store)
    with ingesting(), store() as st_:
        try:
            summary = ingest_file(
                st_, kind, io.BytesIO(data), ctx=ctx, source=name, uploader=uploader
            )
        except StreetsafeError as exc:
            audit.record(
                st_, audit.UPLOAD_VALIDATION, who.actor, kind=kind, sha256=digest, refused=str(exc)
            )
            raise
        audit.record(
            st_,
            audit.UPLOAD_COMPLETE,
            who.actor,
            kind=kind,
            sha256=digest,
            rows=summary.rows,
            accepted=summary.accepted,
            rejected=summary.rejected,
            already_stored=summary.duplicates,
        )
        others = summary.rejected_by_reason.get(ANOTHER_AGENCY, 0)
        if others:
            audit.record(
                st_,
                audit.AUTHZ_FAIL,
                who.actor,
                asked="records of another agency",
                rows=others,
                sha256=digest,
            )
    data_changed()
    return summary


def undo_upload(who: Viewer, summary: IngestSummary) -> int:
    """Take back the upload ``summary`` describes, which ``who`` made in this session: remove
    exactly its records; return how many. Audited, and so is a refusal (a later upload of the
    agency came after it, or it was undone already): :class:`UndoError` says which."""
    if summary.batch_id is None:
        raise UndoError("this upload stored nothing: there is nothing to undo")
    with store() as st_:
        try:
            removed = st_.undo_upload(summary.batch_id, uploaded_by=who.agency)
        except StreetsafeError as exc:
            audit.record(
                st_, audit.UPLOAD_UNDONE, who.actor, batch=summary.batch_id, refused=str(exc)
            )
            raise
        audit.record(
            st_,
            audit.UPLOAD_UNDONE,
            who.actor,
            batch=summary.batch_id,
            kind=summary.kind,
            removed=removed,
        )
    data_changed()
    return removed
