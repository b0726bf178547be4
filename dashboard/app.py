"""The streetsafe dashboard (Streamlit entry point): role, theme, and the pages a role may see."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.state import (
    PAGE_TITLES,
    ROLE_KEY,
    current_role,
    deployment,
    pages_for,
    synthetic_loaded,
)

HERE = Path(__file__).parent
DARK_CSS = """
<style>
.stApp, [data-testid="stSidebar"], [data-testid="stHeader"] {
  background-color: #0b0d12; color: #c9ccd1;
}
.stApp h1, .stApp h2, .stApp h3, .stApp p, .stApp label, .stApp span { color: #c9ccd1; }
</style>
"""

st.set_page_config(page_title="streetsafe", page_icon="🌙", layout="wide")
policies = deployment().policies
role = current_role()

with st.sidebar:
    st.markdown("**streetsafe** · night-time street safety")
    st.info("Demo mode: there is no sign-in yet; choose the role to view as.", icon="🔓")
    st.selectbox(
        "Role",
        list(policies),
        index=list(policies).index(role),
        key=ROLE_KEY,
        format_func=lambda name: policies[name].title,
    )
    dark = st.toggle("Low-light mode (for the van at night)", key="dark")
role = current_role()
if st.query_params.get("role") != role:
    st.query_params["role"] = role
if dark:
    st.markdown(DARK_CSS, unsafe_allow_html=True)
if synthetic_loaded():
    st.warning(
        "**Synthetic demo data.** The women, incidents, contacts and reports shown are "
        "invented; only the police.uk layer is real public data.",
        icon="🧪",
    )

pages = [
    st.Page(
        HERE / "screens" / f"{name}.py",
        title=PAGE_TITLES[name][0],
        icon=PAGE_TITLES[name][1],
        default=name == "night_map",
    )
    for name in pages_for(role)
]
st.navigation(pages).run()
