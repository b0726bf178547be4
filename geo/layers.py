"""The layers, categories and sharing levels streetsafe knows: the one list of each.

A layer is what a record reports (one map layer each); its categories say what happened; a
sharing level is what the woman (or, for public data, the source) agreed to. Category groups
are the coarser, fixed groups partner releases publish. Report kinds (``ingest.kinds``), the
store, the privacy gate, role policies and the dashboard all take them from here.
"""

from __future__ import annotations

INCIDENT = "incident"  # harm to a woman selling sex, or by a dangerous buyer
OUTREACH = "outreach"  # a contact made by an outreach team
ASB = "asb"  # community-reported anti-social behaviour
POLICEUK = "policeuk"  # police.uk street-level crime (public, month only)
LAYERS = (INCIDENT, OUTREACH, ASB, POLICEUK)
# Published and anonymised at source: exempt from the people threshold and the noise.
PUBLIC_LAYERS = frozenset({POLICEUK})
# Reports about places, made by the partners themselves: each report counts as one towards the
# people threshold. In the other layers a report is about a woman: distinct references count,
# and reports naming nobody count together as one person in a group (they may all be her).
REPORT_LAYERS = frozenset({ASB})

OUTREACH_ONLY = "outreach_only"  # she did not consent to sharing beyond outreach
PARTNERS = "partners"  # may be counted in police and council views
PUBLIC = "public"  # police.uk rows
SHARING_LEVELS = (OUTREACH_ONLY, PARTNERS, PUBLIC)
# Without a stated level a record is seen by outreach only: when in doubt, protect.
DEFAULT_SHARING = OUTREACH_ONLY

# Each layer's categories, code -> label, in the order people are shown them.
CATEGORIES: dict[str, dict[str, str]] = {
    INCIDENT: {
        "violence": "Violence",
        "sexual_assault": "Sexual assault",
        "robbery": "Robbery",
        "drugging": "Drugging (spiking)",
        "threats": "Threats or intimidation",
        "kerb_crawling": "Kerb-crawling",
        "vehicle_of_concern": "Vehicle of concern (dangerous buyer)",
    },
    OUTREACH: {
        "welfare_check": "Welfare check",
        "harm_reduction": "Harm-reduction supplies",
        "naloxone": "Naloxone given",
        "referral": "Referral made",
        "safe_place": "Safe place offered",
    },
    ASB: {
        "soliciting": "Soliciting",
        "kerb_crawling": "Kerb-crawling",
        "discarded_needles": "Discarded needles",
        "discarded_condoms": "Discarded condoms",
        "noise": "Noise",
        "street_drinking": "Street drinking",
    },
    POLICEUK: {
        crime: crime
        for crime in (
            "Anti-social behaviour",
            "Bicycle theft",
            "Burglary",
            "Criminal damage and arson",
            "Drugs",
            "Other crime",
            "Other theft",
            "Possession of weapons",
            "Public order",
            "Robbery",
            "Shoplifting",
            "Theft from the person",
            "Vehicle crime",
            "Violence and sexual offences",
        )
    },
}

# The fixed category groups a partner release publishes (group code -> (label, categories)):
# few enough that a group in a hexagon and a month has people enough to be shown, and the
# distinctions the partners act on. police.uk's crime types are public: each is its own group.
CATEGORY_GROUPS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    INCIDENT: {
        "harm": (
            "Harm to women (violence, sexual assault, robbery, drugging, threats)",
            ("violence", "sexual_assault", "robbery", "drugging", "threats"),
        ),
        "buyers": (
            "Dangerous buyers (kerb-crawling, vehicles of concern)",
            ("kerb_crawling", "vehicle_of_concern"),
        ),
    },
    OUTREACH: {
        "contacts": ("Outreach contacts", tuple(CATEGORIES[OUTREACH])),
    },
    ASB: {
        "street_trade": ("Soliciting and kerb-crawling", ("soliciting", "kerb_crawling")),
        "litter": ("Discarded needles and condoms", ("discarded_needles", "discarded_condoms")),
        "nuisance": ("Noise and street drinking", ("noise", "street_drinking")),
    },
    POLICEUK: {crime: (crime, (crime,)) for crime in CATEGORIES[POLICEUK]},
}


def category_group(layer: str, category: str) -> str:
    """Return the release's group of a layer's category."""
    for group, (_, members) in CATEGORY_GROUPS[layer].items():
        if category in members:
            return group
    raise KeyError(f"category {category!r} of the {layer!r} layer is in no group")
