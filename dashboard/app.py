"""The streetsafe dashboard (Streamlit entry point); a placeholder until the dashboard lands."""

from __future__ import annotations

import streamlit as st

from dashboard.store_status import store_status

st.set_page_config(page_title="streetsafe", layout="wide")
st.title("streetsafe")
status = store_status()
if status.synthetic:
    st.warning("Synthetic demo data: no real person or report is shown.")
st.write(
    "The night map arrives with the dashboard issue. The store holds "
    f"{status.records:,} sealed records ({status.engine} engine)."
)
