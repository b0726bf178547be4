"""The layers and sharing levels streetsafe knows: the one list of each, used everywhere.

A layer is what a record reports (one map layer each); a sharing level is what the woman (or,
for public data, the source) agreed to. Report kinds (``ingest.kinds``), the store, the privacy
gate, role policies and the dashboard all take them from here.
"""

from __future__ import annotations

INCIDENT = "incident"  # harm to a woman selling sex, or by a dangerous buyer
OUTREACH = "outreach"  # a contact made by an outreach team
ASB = "asb"  # community-reported anti-social behaviour
POLICEUK = "policeuk"  # police.uk street-level crime (public, month only)
LAYERS = (INCIDENT, OUTREACH, ASB, POLICEUK)
# Published and anonymised at source: exempt from the people threshold and the noise.
PUBLIC_LAYERS = frozenset({POLICEUK})

OUTREACH_ONLY = "outreach_only"  # she did not consent to sharing beyond outreach
PARTNERS = "partners"  # may be counted in police and council views
PUBLIC = "public"  # police.uk rows
SHARING_LEVELS = (OUTREACH_ONLY, PARTNERS, PUBLIC)
# Without a stated level a record is seen by outreach only: when in doubt, protect.
DEFAULT_SHARING = OUTREACH_ONLY
