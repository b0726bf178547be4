"""Partner releases in operation: which months have closed, and each month's release, made once.

A role without case knowledge (``case_knowledge = false`` in its policy) sees only releases
(:mod:`geo.releases`). There is one release a month, of every record shared with partners and
public data, whatever the roles: a role sees sums of it (its layers, its sharing levels, its
resolution or coarser), so a role tightened later, or a person holding two roles, still sees
each value once. A month's release is made the first time a view asks for it once the month has
closed (``release_after_days`` after its end, so that late reports arrive first) from the
store's SQL, stored, and never made again: records that arrive later for a released month stay
out of partner views, since a second release would be a second, differently perturbed look.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from geo.aggregate import CubeFilter
from geo.layers import LAYERS
from geo.releases import (
    DIMENSIONS,
    PLACES,
    PROVENANCE,
    RELEASE_RES,
    RELEASE_SHARING,
    TIMES,
    release_rows,
)
from ingest.agencies import Agencies
from store import Store
from streetsafe.settings import Settings

RELEASE_VERSION = 1  # how releases are made; a change makes new releases, with a new version
SCOPE = f"partners/r{RELEASE_RES}"  # what every release holds (see geo.releases)


@dataclass(frozen=True)
class ReleaseRules:
    """How the deployment releases: ``today``, ``after_days`` (how long after a month ends it
    is released) and ``references``: (agency, scheme) for agencies sharing person references
    (``Agencies.reference_schemes``); every other agency is a scheme of its own."""

    today: date
    after_days: int
    references: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, settings: Settings, today: date) -> ReleaseRules:
        """Return the rules of the deployment ``settings`` describe, on ``today``."""
        agencies = Agencies.load(settings.agencies)
        return cls(today, settings.release_after_days, agencies.reference_schemes())


def release_id(month: date) -> str:
    """Return the identifier of ``month``'s release: ``2026-10/partners/r8/v1``."""
    return f"{month:%Y-%m}/{SCOPE}/v{RELEASE_VERSION}"


def next_month(month: date) -> date:
    """Return the first day of the month after ``month``'s."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def closed(month: date, *, today: date, after_days: int) -> bool:
    """Whether ``month`` has closed: it ended at least ``after_days`` days before ``today``."""
    return next_month(month) + timedelta(days=after_days) <= today


def releasable_months(
    store: Store,
    *,
    layers: Sequence[str],
    sharing: Sequence[str],
    today: date,
    after_days: int,
) -> list[date]:
    """Return the closed months with records of ``layers`` and ``sharing`` levels.

    Only records the asking role may see count: a month with outreach-only contacts alone is no
    month of a partner's (listing it would tell them such records exist).
    """
    shared = [level for level in sharing if level in RELEASE_SHARING]
    months = store.months(layers=layers, sharing=shared)
    return [m for m in months if closed(m, today=today, after_days=after_days)]


def releases(
    store: Store, months: list[date], references: Sequence[tuple[str, str]] = ()
) -> pd.DataFrame:
    """Return the rows of the releases of ``months`` (closed ones), making those not made yet
    (``references``: agencies sharing person references, see :class:`ReleaseRules`).

    Each row carries its ``release`` id and ``month`` (see :meth:`Store.release_values`).
    """
    made = store.release_ids(SCOPE)
    for month in months:
        if month not in made:
            store.add_release(
                release_id(month),
                month=month,
                scope=SCOPE,
                version=RELEASE_VERSION,
                rows=make_release(store, month, dict(references)),
            )
    made = store.release_ids(SCOPE)
    return store.release_values([made[m] for m in months if m in made])


def make_release(
    store: Store, month: date, references: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Return ``month``'s release, from the store's SQL (the same on both engines)."""
    f = CubeFilter(
        layers=LAYERS,
        sharing=RELEASE_SHARING,
        date_from=month,
        date_to=next_month(month) - timedelta(days=1),
    )
    places = store.contributions(f, res=RELEASE_RES, by=(*DIMENSIONS[PLACES], *PROVENANCE))
    times = store.contributions(f, res=None, by=(*DIMENSIONS[TIMES], *PROVENANCE))
    return release_rows(places, times, references)
