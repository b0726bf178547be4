"""The report kinds streetsafe reads: their columns, categories and rules.

Column names are matched after normalisation (case, spaces and punctuation folded to ``_``),
so ``Occurred at``, ``occurred_at`` and ``OCCURRED-AT`` are the same column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from geo.layers import ASB, CATEGORIES, INCIDENT, OUTREACH, POLICEUK

SEVERITIES = {"low": 1, "medium": 2, "high": 3}

# Columns a reader recognises but never keeps: they are dropped and reported once per file.
REJECT_COLUMNS = ("reject_line", "reject_columns", "reject_reasons")


@dataclass(frozen=True)
class Kind:
    """One report kind: how its CSV looks and which values it accepts."""

    name: str  # as typed on the command line
    layer: str
    title: str
    categories: dict[str, str]  # code -> label
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    person_required: bool = False
    has_severity: bool = False
    location_columns: tuple[str, ...] = ("latitude", "longitude", "place")

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the kind reads, required first."""
        return self.required + tuple(c for c in self.optional if c not in self.required)


_NATIVE_OPTIONAL = ("record_id", "latitude", "longitude", "place", "person_ref", "sharing")

INCIDENTS = Kind(
    name="incidents",
    layer=INCIDENT,
    title="Incident",
    categories=CATEGORIES[INCIDENT],
    required=("occurred_at", "category", "agency", "severity"),
    optional=_NATIVE_OPTIONAL,
    has_severity=True,
)

OUTREACH_CONTACTS = Kind(
    name="outreach",
    layer=OUTREACH,
    title="Outreach contact",
    categories=CATEGORIES[OUTREACH],
    required=("occurred_at", "category", "agency", "person_ref"),
    optional=_NATIVE_OPTIONAL,
    person_required=True,
)

ASB_REPORTS = Kind(
    name="asb",
    layer=ASB,
    title="Community ASB report",
    categories=CATEGORIES[ASB],
    required=("occurred_at", "category", "agency"),
    optional=_NATIVE_OPTIONAL,
)

POLICEUK_FILE = Kind(
    name="policeuk",
    layer=POLICEUK,
    title="police.uk street-level crime",
    categories=CATEGORIES[POLICEUK],
    required=("month", "longitude", "latitude", "crime_type"),
    optional=(
        "crime_id",
        "reported_by",
        "falls_within",
        "location",
        "lsoa_code",
        "lsoa_name",
        "last_outcome_category",
        "context",
    ),
    location_columns=("latitude", "longitude"),
)

KINDS = {k.name: k for k in (INCIDENTS, OUTREACH_CONTACTS, ASB_REPORTS, POLICEUK_FILE)}
KIND_BY_LAYER = {k.layer: k for k in KINDS.values()}

# What each kind keeps; every other column is dropped (free text, names, extras).
KEPT_COLUMNS = {
    **dict.fromkeys(
        ("incidents", "outreach", "asb"),
        (
            "record_id",
            "occurred_at",
            "latitude",
            "longitude",
            "place",
            "category",
            "agency",
            "person_ref",
            "sharing",
            "severity",
        ),
    ),
    # the street police.uk names for its public snap point goes to the place index, not the
    # records (see geo/places.py)
    "policeuk": (
        "crime_id",
        "month",
        "reported_by",
        "longitude",
        "latitude",
        "location",
        "crime_type",
    ),
}

_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalise_name(text: str) -> str:
    """Fold a name to ``snake_case``: ``Sexual Assault`` -> ``sexual_assault``."""
    return _NON_WORD.sub("_", text.strip().lower()).strip("_")


def category_codes_for(kind: Kind) -> dict[str, str]:
    """Map every accepted spelling (code or label, normalised) to the category code."""
    out = {}
    for code, label in kind.categories.items():
        out[normalise_name(code)] = code
        out[normalise_name(label)] = code
    return out
