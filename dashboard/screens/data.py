"""Data: upload a report file (the same readers as the CLI), see what happened to each row."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.state import current_viewer, require_page
from dashboard.upload import ingest_upload, undo_upload, upload_kinds
from geo.errors import StreetsafeError
from ingest.kinds import KINDS
from ingest.pipeline import IngestSummary, rejects_csv
from streetsafe.messages import user_message
from streetsafe.resources import data_file


def rejects_first(rejects: pd.DataFrame) -> pd.DataFrame:
    """The rejected rows as the page shows them: line, column and reason first, then the row
    as it came (the download keeps the file's own layout, to be fixed and sent again)."""
    lead = {"reject_line": "Line", "reject_columns": "Column", "reject_reasons": "Reason"}
    rest = [c for c in rejects.columns if c not in lead]
    shown = rejects.loc[:, [*(c for c in lead if c in rejects.columns), *rest]].rename(columns=lead)
    return shown.map(_cut) if len(shown) else shown


SHOWN_CHARS = 200  # a cell longer than this is cut short on the page (the download is whole)


def _cut(value: object) -> object:
    """A cell as the page shows it: a NUL byte as ␀, a field of megabytes cut short."""
    if not isinstance(value, str):
        return value
    text = value.replace("\x00", "\u2400")
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}… ({len(text):,} characters)"


require_page("data")
st.header("Add data")
st.write(
    "Upload a CSV of one report kind. Every row is accepted, rejected with its reason, or "
    "recognised as already stored; a file lands whole or not at all. Coordinates and person "
    "references are sealed on the way in and never stored."
)
kinds = upload_kinds(current_viewer())
if not kinds:
    st.info(
        "Uploads need sign-in: demo mode takes no files."
        if current_viewer().demo
        else "Your role uploads no kind of report."
    )
    st.stop()
st.caption(
    f"Every row is stamped **{current_viewer().agency}** (rows naming another agency are "
    'rejected), and "already stored" counts your agency\'s records only.'
)
kind = st.selectbox(
    "What the file holds", kinds, format_func=lambda k: KINDS[k].title, key="upload-kind"
)
upload = st.file_uploader("CSV file", type=["csv", "txt"], key="upload-file")

with st.expander("Templates (header and example rows)"):
    st.caption(
        "The example rows' record ids start with EXAMPLE-: they are refused if uploaded. "
        "Replace them with your own records."
    )
    for name in kinds:
        path = data_file("templates", f"{name}.csv")
        st.download_button(
            f"{KINDS[name].title} template",
            path.read_bytes(),
            file_name=path.name,
            mime="text/csv",
            key=f"template-{name}",
        )

if upload is not None and st.button("Ingest", type="primary"):
    try:
        summary = ingest_upload(current_viewer(), kind, upload.name, upload.getvalue())
    except StreetsafeError as exc:
        st.error(user_message(exc))
    else:
        st.session_state["last-summary"] = summary
        st.session_state.pop("undone", None)

last: IngestSummary | None = st.session_state.get("last-summary")
if st.session_state.get("undone"):
    st.success(st.session_state["undone"], icon="↩️")
if last is not None:
    summary = last
    st.subheader(f"{summary.source}: what happened")
    cols = st.columns(4)
    cols[0].metric("Accepted", f"{summary.accepted:,}")
    cols[1].metric("Rejected", f"{summary.rejected:,}")
    cols[2].metric("Already stored", f"{summary.duplicates:,}")
    cols[3].metric("Outside the study area", f"{summary.outside_area:,}")
    for note in summary.notes:
        st.warning(note, icon="🗺️")
    if summary.rejected:
        st.markdown("**Rejected rows**: fix them in the file below and upload it again.")
        st.dataframe(rejects_first(summary.rejects), hide_index=True)
        st.download_button(
            "Download the rejected rows",
            rejects_csv(summary.rejects),
            file_name=f"{summary.source.rsplit('.', 1)[0]}.rejects.csv",
            mime="text/csv",
        )
    if summary.dropped_columns:
        st.caption("Columns dropped, not stored: " + ", ".join(summary.dropped_columns))
    if summary.sharing_defaulted:
        st.caption(
            f"{summary.sharing_defaulted:,} rows gave no sharing level and were kept outreach-only."
        )
    if summary.accepted and summary.batch_id is not None:
        st.caption(
            "Sent the wrong file? Undo takes back exactly this file's records, while it is your "
            "agency's latest upload (months already released to partners keep them)."
        )
        if st.button(f"Undo this upload ({summary.accepted:,} records)", key="undo-upload"):
            try:
                removed = undo_upload(current_viewer(), summary)
            except StreetsafeError as exc:
                st.error(user_message(exc))
            else:
                st.session_state.pop("last-summary", None)
                st.session_state["undone"] = (
                    f"{summary.source}: the upload is undone, {removed:,} records removed."
                )
                st.rerun()
