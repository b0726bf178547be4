"""Partner releases in operation: which months have closed, and each month's release, made once.

A role without case knowledge (``case_knowledge = false`` in its policy) sees only releases
(:mod:`geo.releases`). There is one release a month, of every record shared with partners and
public data, whatever the roles: a role sees sums of it (its layers, its sharing levels, its
resolution or coarser), so a role tightened later, or a person holding two roles, still sees
each value once.

Releases are made by the operator (``streetsafe release``, monthly, e.g. from cron), never by a
view: whoever first asked would otherwise decide when a month is frozen and with which rules,
and which months exist would follow the records (a month listed, or not, says whether it holds
any). The operator releases every closed month (``release_after_days`` after its end, so that
late reports arrive first) from the first month the store holds records of, empty or not; a
month's release is stored and never made again, whatever changes later: records that arrive
after it stay out of partner views, since a second release would be a second, differently
perturbed look at the same records.

Which month the releases start in is seen by partners (the months they may choose). Taken from
the records, it would say when the earliest record was made, even one no partner figure shows.
So it is the operator's choice (``STREETSAFE_RELEASE_FROM``), else the first month of public
police.uk data; only a store with neither falls back to its first record's month, and
``streetsafe release`` then says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from geo.aggregate import CubeFilter
from geo.layers import LAYERS, POLICEUK
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

RELEASE_VERSION = 1  # how releases are made; a change applies to months not yet released
SCOPE = f"partners/r{RELEASE_RES}"  # what every release holds (see geo.releases)


@dataclass(frozen=True)
class ReleaseRules:
    """How the deployment releases: ``today``, ``after_days`` (how long after a month ends it
    is released) and ``references``: (agency, scheme) for agencies sharing person references
    (``Agencies.reference_schemes``); every other agency is a scheme of its own."""

    today: date
    after_days: int
    references: tuple[tuple[str, str], ...] = ()
    start: date | None = None  # the first month released (None: see first_release_month)

    @classmethod
    def of(cls, settings: Settings, today: date) -> ReleaseRules:
        """Return the rules of the deployment ``settings`` describe, on ``today``."""
        agencies = Agencies.load(settings.agencies)
        start = (
            datetime.strptime(settings.release_from, "%Y-%m").date()
            if settings.release_from
            else None
        )
        return cls(today, settings.release_after_days, agencies.reference_schemes(), start)


def release_id(month: date) -> str:
    """Return the identifier of ``month``'s release: ``2026-10/partners/r8/v1``."""
    return f"{month:%Y-%m}/{SCOPE}/v{RELEASE_VERSION}"


def next_month(month: date) -> date:
    """Return the first day of the month after ``month``'s."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def closed(month: date, *, today: date, after_days: int) -> bool:
    """Whether ``month`` has closed: it ended at least ``after_days`` days before ``today``."""
    return next_month(month) + timedelta(days=after_days) <= today


def first_release_month(store: Store, start: date | None = None) -> tuple[date | None, bool]:
    """Return the first month to release, and whether it was taken from the private records:
    ``start`` (the operator's), else public police.uk data's first month, else the first
    record's (the only choice that follows the records)."""
    if start is not None:
        return start.replace(day=1), False
    public = min(store.months(layers=[POLICEUK]), default=None)
    if public is not None:
        return public, False
    first = min(store.months(), default=None)
    return first, first is not None


def closed_months(
    store: Store, *, today: date, after_days: int, start: date | None = None
) -> list[date]:
    """Return every closed month from the first to release (:func:`first_release_month`): the
    months the operator releases, with records or without."""
    first, _ = first_release_month(store, start)
    months: list[date] = []
    month = first
    while month is not None and closed(month, today=today, after_days=after_days):
        months.append(month)
        month = next_month(month)
    return months


def released(store: Store, months: Sequence[date]) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Return the rows of the stored releases of ``months`` (those released), with each row's
    ``release`` id and ``month`` (see :meth:`Store.release_values`), and the releases' ids."""
    made = store.release_ids()
    ids = tuple(made[m] for m in months if m in made)
    return store.release_values(list(ids)), ids


def make_releases(
    store: Store, rules: ReleaseRules, *, through: date | None = None
) -> list[tuple[date, str, int]]:
    """Release every closed month (up to ``through``'s, if given) not yet released.

    Returns (month, release id, rows) for each release made. Months already released are
    left as they are, whatever has arrived since.
    """
    made = store.release_ids()
    out = []
    for month in closed_months(
        store, today=rules.today, after_days=rules.after_days, start=rules.start
    ):
        if month in made or (through is not None and month > through):
            continue
        rows = make_release(store, month, dict(rules.references))
        rid = release_id(month)
        if store.add_release(rid, month=month, scope=SCOPE, version=RELEASE_VERSION, rows=rows):
            out.append((month, rid, len(rows)))
    return out


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
