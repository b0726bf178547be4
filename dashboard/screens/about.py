"""About the data: what each layer is, where it comes from, and how privacy is protected."""

from __future__ import annotations

import streamlit as st

from dashboard.mapping import LAYER_TITLES
from dashboard.state import deployment, require_page, synthetic_loaded

policy = deployment().policies[require_page("about")]
st.header("About the data")
if synthetic_loaded():
    st.warning(
        "This store holds **synthetic demo data**: about 50 invented women over 18 months "
        "in Southampton. Only the police.uk layer is real (public) data.",
        icon="🧪",
    )

st.subheader("Layers")
ABOUT = {
    "incident": "Harm to a woman selling sex or by a dangerous buyer, reported by outreach, "
    "police or Ugly Mugs: violence, sexual assault, robbery, drugging, threats, "
    "kerb-crawling and vehicles of concern.",
    "outreach": "Contacts made by the night van or foot team: welfare checks, harm-reduction "
    "supplies, naloxone, referrals, safe places offered. Seen by outreach only.",
    "asb": "Anti-social behaviour reported by the community: soliciting, kerb-crawling, "
    "discarded needles or condoms, noise, street drinking.",
    "policeuk": "Public street-level crime from police.uk (Hampshire Constabulary, February "
    "2022): month only, locations already snapped to anonymous points. Contains "
    "public sector information licensed under the Open Government Licence v3.0.",
}
for layer in policy.layers:
    st.markdown(f"**{LAYER_TITLES[layer]}** — {ABOUT[layer]}")

st.subheader("How privacy is protected")
sharing = ", ".join(policy.sharing)
if policy.case_knowledge:
    how = f"""
- A hexagon is shown only when at least **{policy.k} different people** stand behind it
  (reports naming nobody count together as one person; ASB reports each count). Smaller ones
  are merged into the larger hexagon around them, or held back.
- Counts carry a small, fixed random adjustment (the method ONS used for the 2021 Census).
  Your filters are as fine as your work needs: your role holds the case knowledge these
  figures summarise, so they are not built to resist someone set on working backwards from
  many questions; police and council views are."""
else:
    how = f"""
- Your figures come from **monthly releases**: once a month has closed, its counts are worked
  out once, per hexagon and category group, and by time of night and group of nights for the
  whole area, and stored; every figure you see is a sum of them. Asking again, or asking a
  slightly different question, adds up the same fixed values, so nothing can be averaged out.
- A value is released only when at least **{policy.k} different people** stand behind it
  (reports naming nobody count together as one person; ASB reports each count). Smaller groups
  are in no figure at all, and no figure says how much was left out.
- Each value carries a small, fixed random adjustment (the method ONS used for the 2021
  Census), made once when the month was released."""
st.markdown(f"""
- No coordinates or names are stored: a point becomes a hexagon cell, a person's reference a
  keyed code that cannot be turned back into a name.
- As **{policy.title}** you see hexagons no smaller than resolution {policy.finest_res}, and
  only records shared at these levels: {sharing}.
{how}
{
    "- Counts are rounded to 5, and nothing under " + str(policy.min_shown) + " is shown."
    if policy.round_to > 1
    else ""
}

Boundaries: Contains OS and ONS data © Crown copyright and database right (Open Government
Licence v3.0).
""")
