"""Partner releases in operation: which months have closed, and each month's release, made once.

A role without case knowledge (``case_knowledge = false`` in its policy) sees only releases
(:mod:`geo.releases`). Roles that share sharing levels, layers and resolution share a scope,
and so one release a month: a person holding both sees each value once. A month's release is
made the first time a view asks for it once the month has closed (``release_after_days`` after
its end, so that late reports arrive first) from the store's SQL, stored, and never made again.
Records that arrive later for a released month stay out of partner views: making the release
again would give a second, differently perturbed look at the same records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from geo.aggregate import CubeFilter
from geo.privacy import RolePolicy
from geo.releases import DIMENSIONS, PLACES, TIMES, release_rows
from store import Store

RELEASE_VERSION = 1  # how releases are made; a change makes new releases, with a new version


@dataclass(frozen=True)
class ReleaseScope:
    """What one release covers: the sharing levels, layers and resolution of its roles."""

    sharing: tuple[str, ...]
    layers: tuple[str, ...]
    res: int

    @classmethod
    def of(cls, policy: RolePolicy) -> ReleaseScope:
        """Return the scope of ``policy``'s releases."""
        return cls(tuple(sorted(policy.sharing)), tuple(sorted(policy.layers)), policy.finest_res)

    @property
    def key(self) -> str:
        """The scope as a short text: ``partners+public/asb+incident+policeuk/r8``."""
        return f"{'+'.join(self.sharing)}/{'+'.join(self.layers)}/r{self.res}"


def release_id(scope: ReleaseScope, month: date) -> str:
    """Return the identifier of ``month``'s release for ``scope``: ``2026-10/<scope>/v1``."""
    return f"{month:%Y-%m}/{scope.key}/v{RELEASE_VERSION}"


def month_start(day: date) -> date:
    """Return the first day of ``day``'s month."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    """Return the first day of the month after ``month``'s."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def closed(month: date, *, today: date, after_days: int) -> bool:
    """Whether ``month`` has closed: it ended at least ``after_days`` days before ``today``."""
    return next_month(month) + timedelta(days=after_days) <= today


def releasable_months(
    store: Store, scope: ReleaseScope, *, today: date, after_days: int
) -> list[date]:
    """Return the closed months with records in ``scope``: those its releases are made for.

    Only records the scope's roles may see count: a month with outreach-only contacts alone is
    no month of theirs (listing it would tell them such records exist).
    """
    months = store.months(layers=scope.layers, sharing=scope.sharing)
    return [m for m in months if closed(m, today=today, after_days=after_days)]


def releases(store: Store, scope: ReleaseScope, months: list[date]) -> pd.DataFrame:
    """Return the rows of the releases of ``months`` (closed ones), making those not made yet.

    Each row carries its ``release`` id and ``month`` (see :meth:`Store.release_values`).
    """
    made = store.release_ids(scope.key)
    for month in months:
        if month not in made:
            store.add_release(
                release_id(scope, month),
                month=month,
                scope=scope.key,
                version=RELEASE_VERSION,
                rows=make_release(store, scope, month),
            )
    made = store.release_ids(scope.key)
    return store.release_values([made[m] for m in months if m in made])


def make_release(store: Store, scope: ReleaseScope, month: date) -> pd.DataFrame:
    """Return ``month``'s release for ``scope``, from the store's SQL (the same on both engines)."""
    f = CubeFilter(
        layers=scope.layers,
        sharing=scope.sharing,
        date_from=month,
        date_to=next_month(month) - timedelta(days=1),
    )
    places = store.cube(f, res=scope.res, by=DIMENSIONS[PLACES])
    times = store.cube(f, res=None, by=DIMENSIONS[TIMES])
    return release_rows(places, times)
