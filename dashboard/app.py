"""The streetsafe dashboard (Streamlit entry point): who is looking, theme, and their pages."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import theme
from dashboard.signin import gate, sign_out_button
from dashboard.state import (
    PAGE_TITLES,
    deployment,
    note_policy_changes,
    pages_for,
    synthetic_loaded,
)
from streetsafe.access import ADMIN

HERE = Path(__file__).parent
st.set_page_config(page_title="streetsafe", page_icon="🌙", layout="wide")
note_policy_changes()
with st.sidebar:
    st.markdown("**streetsafe** · night-time street safety")
    dark = st.toggle("Low-light mode (for the van at night)", key="dark")
theme.apply(dark=dark)

viewer = gate()  # the sign-in page (and nothing else) until someone is signed in
policies = deployment().policies
with st.sidebar:
    if not viewer.demo:  # (demo mode: the role chooser is in the sidebar, the banner above)
        title = "Administrator" if viewer.role == ADMIN else policies[viewer.role].title
        st.caption(f"Signed in as **{viewer.email}**  \n{title} · {viewer.agency or '—'}")
        sign_out_button()
synthetic = viewer.role != ADMIN and synthetic_loaded()
if viewer.demo:
    st.warning(
        (
            "**Demo, with synthetic demo data.** No one is signed in: the role is chosen in the "
            "sidebar. The women, incidents, contacts and reports shown are invented; only the "
            "police.uk layer is real public data."
            if synthetic
            else "**Demo.** No one is signed in: the role is chosen in the sidebar (started with "
            "--demo; keep it to this machine)."
        ),
        icon="🧪",
    )
elif synthetic:
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
        default=i == 0,
    )
    for i, name in enumerate(pages_for(viewer.role))
]
st.navigation(pages).run()
