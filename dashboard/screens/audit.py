"""Audit trail (admin role only): who signed in, was refused, saw, exported and uploaded what."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import streamlit as st

from dashboard.state import audit_read, require_page, store
from ingest.files import spreadsheet_csv
from streetsafe import audit

require_page("audit")
st.header("Audit trail")
st.caption(
    "Every sign-in and refusal, every view and export (role, release or filters, number of "
    "cells), every upload (counts and the file's SHA-256) and every change of accounts, "
    "policies or the access map. Entries are chained: an edited or deleted one is found by "
    "the check below (and `streetsafe audit verify`)."
)
side = st.sidebar
since_day = side.date_input("From (UTC)", value=datetime.now(UTC).date() - timedelta(days=7))
who = side.text_input("Person (email)", placeholder="everyone").strip().casefold() or None
events = side.multiselect("Events", audit.EVENTS, placeholder="every event")
since = datetime.combine(since_day, time())
with store() as st_:
    entries = st_.audit_entries(since=since, actor=who, events=events or None)
audit_read("audit", None, cells=len(entries))
if entries.empty:
    st.info("No entries for these filters.")
else:
    table = entries.assign(detail=entries["detail"].map(lambda d: audit.describe(json.loads(d))))[
        ["seq", "logged_at", "event", "actor", "role", "agency", "detail"]
    ]
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button(
        "Download these entries (CSV)",
        spreadsheet_csv(table),
        file_name="streetsafe-audit.csv",
        mime="text/csv",
    )
if st.button("Check the chain"):
    with store() as st_:
        found = audit.verify(st_)
    if found.ok:
        st.success(f"The chain is whole: {found.entries:,} entries, the last {found.head[:16]}…")
    else:
        st.error("The audit trail was changed: " + "; ".join(found.problems))
