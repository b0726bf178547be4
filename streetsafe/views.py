"""The one door: a role's view of the store, always through the privacy gate.

Pages, exports and later features call these functions; none of them ever holds raw
contributions. A role with case knowledge (outreach) gets live views (:func:`published_view`,
:func:`area_view`): its filters go to the store, the gate protects the answer. Every other role
gets sums of monthly releases (:func:`release_view`, :func:`release_area_view`), and a live view
asked for it is refused. The role's policy decides the layers, sharing levels and finest
resolution before the store is asked anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.aggregate import Coded, Contributions, CubeFilter
from geo.errors import PolicyError
from geo.privacy import PublishedView, RolePolicy, publish
from geo.releases import release_view as sum_releases
from geo.wards import Areas
from store import CountSource, Store
from streetsafe.filters import ReleaseRequest
from streetsafe.releases import released

LATEST_MONTHS = 3  # a partner view without months shows the latest this many released


def restrict(f: CubeFilter, policy: RolePolicy) -> CubeFilter:
    """Return ``f`` as the role may ask it: its layers checked, its sharing levels imposed."""
    policy.check_layers(f.layers)
    sharing = tuple(s for s in f.sharing if s in policy.sharing)
    return replace(f, sharing=sharing or ("none",))


def published_view(
    store: CountSource,
    policy: RolePolicy,
    f: CubeFilter,
    *,
    res: int | None,
    by: tuple[str, ...] = (),
    sun_at: tuple[float, float] | None = None,
) -> PublishedView:
    """Return what ``policy``'s role may see of the records ``f`` selects, at ``res``.

    With ``res`` None the counts are not broken down by cell (trends); ``by`` breaks them down
    by hour, weekday, month, category or hours after sunset (reckoned at ``sun_at``, the study
    area's centre). Only for a role with case knowledge.
    """
    _live(policy)
    view_res = policy.finest_res if res is None else res
    policy.check_res(view_res)
    allowed = restrict(f, policy)
    contributions, unknown = store.view_counts(allowed, res=res, by=by, sun_at=sun_at)
    view = publish(contributions, policy, res=view_res, by=by)
    if unknown:
        view.notes.append(
            f"{unknown:,} records with no known time of night (police.uk publishes the month "
            "only) are left out by the hour or weekday filter"
        )
    return view


def area_view(
    store: CountSource,
    policy: RolePolicy,
    f: CubeFilter,
    areas: Areas,
    *,
    by: tuple[str, ...] = (),
) -> PublishedView:
    """Return ``policy``'s view of the records ``f`` selects, per named area (ward) and ``by``.

    A record reaches an area through its cell at the role's finest resolution (the cell's
    centre decides), never through the finer cell it is stored at: an area's figure places a
    record no more finely than the role's map does. Each (layer, area, ``by``) group is
    protected like a cell (``k`` people, perturbation, rounding), without roll-up. Only for a
    role with case knowledge.
    """
    _live(policy)
    allowed = restrict(f, policy)
    cells = store.cube(allowed, res=policy.finest_res, by=by)  # asked with cells: never None
    area = _areas_of(np.asarray(cells.cell, dtype=np.int64), areas)
    inside = area.codes >= 0
    by_area = Contributions(
        keys={"layer": cells.keys["layer"], "area": area} | {d: cells.keys[d] for d in by},
        cell=None,
        person=cells.person,
        n=cells.n,
        keysum=cells.keysum,
    ).take(np.flatnonzero(inside))
    view = publish(by_area, policy, res=policy.finest_res, by=("area", *by))
    if not inside.all():
        view.notes.append("records whose hexagon's centre lies outside every ward are not counted")
    return view


def _areas_of(cells: npt.NDArray[np.int64], areas: Areas) -> Coded:
    """Return each cell's area (by the cell's centre) as a coded column."""
    distinct, where = np.unique(cells, return_inverse=True)
    of_distinct = Coded.of(pd.Series(areas.of_cells(distinct), dtype="str"))
    return Coded(of_distinct.codes[where], of_distinct.values)


def _live(policy: RolePolicy) -> None:
    if not policy.case_knowledge:
        raise PolicyError(
            f"role {policy.name!r} sees monthly releases only, not the records' live detail"
        )


# --- partner roles: sums of releases --------------------------------------------------------


def release_months(store: Store, request: ReleaseRequest) -> tuple[list[date], list[str]]:
    """Return the released months ``request`` covers, and a note if it asked for months after
    the latest released. Every month the operator releases is listed, whatever it holds: which
    months exist says nothing about the records."""
    available = sorted(store.release_ids())
    if request.first is None and request.last is None:
        return available[-LATEST_MONTHS:], []
    first = request.first or (available[0] if available else date.min)
    last = request.last or (available[-1] if available else date.max)
    months = [m for m in available if first <= m <= last]
    notes = []
    latest_open = max(available, default=None)
    if request.last is not None and (latest_open is None or request.last > latest_open):
        notes.append(
            f"months after {latest_open:%Y-%m} are not released yet"
            if latest_open
            else "no month is released yet"
        )
    return months, notes


def release_view(
    store: Store,
    policy: RolePolicy,
    request: ReleaseRequest,
    *,
    by: tuple[str, ...] = (),
    with_cells: bool = True,
) -> PublishedView:
    """Return what ``policy``'s role sees of the months ``request`` covers: sums of releases.

    With cells it is a map at ``request.res`` (by category group or month too, if ``by``
    says); without, figures for the whole study area by ``by`` (night band, group of nights,
    category group, month).
    """
    months, notes = release_months(store, request)
    values, ids = released(store, months)
    view = sum_releases(
        values,
        policy,
        res=request.res if with_cells else None,
        by=by,
        layers=request.layers,
        groups=request.groups,
        releases=ids,
    )
    view.notes.extend([_coverage(months), *notes])
    return view


def release_area_view(
    store: Store,
    policy: RolePolicy,
    request: ReleaseRequest,
    areas: Areas,
    *,
    by: tuple[str, ...] = (),
) -> PublishedView:
    """Return the released figures per named area (ward): sums of the released hexagons whose
    centre lies in it, so that the map and the area table agree, and no area figure holds a
    record the map does not show."""
    cells = release_view(store, policy, replace(request, res=policy.finest_res), by=by)
    frame = cells.cells
    area = _areas_of(frame["cell"].to_numpy(dtype=np.int64), areas).decoded()
    summed = (
        frame.assign(area=area)
        .dropna(subset=["area"])
        .groupby(["layer", "area", *by], as_index=False, sort=True)
        .agg(value=("value", "sum"), protection=("protection", "first"))
    )
    return PublishedView(
        cells=summed,
        role=policy.name,
        res=policy.finest_res,
        notes=cells.notes,
        release=cells.release,
    )


def _coverage(months: list[date]) -> str:
    if not months:
        return "no month is released yet: partner figures come from whole months once closed"
    span = f"{months[0]:%Y-%m}" if len(months) == 1 else f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}"
    return f"released figures for the whole months {span}"


@dataclass(frozen=True)
class Coverage:
    """What stretch of time a role's data covers, per layer: first and last night of records
    with a time, first and last month of any (police.uk publishes the month only). For a role
    that sees releases, the released months instead.

    Dates only, never a count: which nights the data starts and ends on is what a viewer needs
    to read an empty or a partial view, and says nothing about any one record that the role's
    views do not.
    """

    nights: dict[str, tuple[date, date]] = field(default_factory=dict)
    months: dict[str, tuple[date, date]] = field(default_factory=dict)
    released: tuple[date, ...] = ()

    @property
    def first_night(self) -> date | None:
        """The earliest night of any layer with times (None: no timed records)."""
        return min((a for a, _ in self.nights.values()), default=None)

    @property
    def last_night(self) -> date | None:
        """The latest night of any layer with times."""
        return max((b for _, b in self.nights.values()), default=None)

    def empty(self, layers: tuple[str, ...]) -> bool:
        """Whether none of ``layers`` holds anything (for a partner: anything released)."""
        return not any(layer in self.months for layer in layers)

    def timed(self, layers: tuple[str, ...]) -> bool:
        """Whether any of ``layers`` holds records with a time of night."""
        return any(layer in self.nights for layer in layers)

    def text(self, titles: dict[str, str]) -> str:
        """Return the coverage in words, e.g. "data: nights 2025-11-01 to 2026-10-31;
        police.uk street crime: 2022-02 (months only)"."""
        if self.released:
            return f"released months {month_spans(self.released)}"
        if not self.months:
            return "no data loaded yet"
        parts = []
        if self.nights:
            parts.append(f"nights {self.first_night:%Y-%m-%d} to {self.last_night:%Y-%m-%d}")
        for layer, (first, last) in self.months.items():
            if layer not in self.nights:
                span = f"{first:%Y-%m}" if first == last else f"{first:%Y-%m} to {last:%Y-%m}"
                parts.append(f"{titles.get(layer, layer)}: {span} (month only)")
        return "data: " + "; ".join(parts)


def coverage(store: Store, policy: RolePolicy) -> Coverage:
    """Return the stretch of time ``policy``'s role's data covers.

    A role that sees releases gets the released months, and per layer the first and last
    month its own view of the releases shows a figure in: never a month whose groups all fell
    under its ``k`` (that a held-back record exists is itself a disclosure). A role with case
    knowledge (the outreach lead, whose team made the contacts) gets the first and last night
    of its layers' records at its sharing levels.
    """
    layers, sharing = list(policy.layers), list(policy.sharing)
    marks = ", ".join("?" for _ in layers)
    if not policy.case_knowledge:
        released_months = tuple(sorted(store.release_ids()))
        if not released_months:
            return Coverage()
        everything = ReleaseRequest(
            role=policy.name,
            res=policy.finest_res,
            layers=policy.layers,
            first=released_months[0],
            last=released_months[-1],
        )
        shown = release_view(store, policy, everything, by=("month",), with_cells=False).cells
        months = pd.to_datetime(shown["month"]).dt.date
        frame = (
            shown.assign(month=months)
            .groupby("layer", as_index=False)
            .agg(first_month=("month", "min"), last_month=("month", "max"))
        )
        return Coverage(months=_spans(frame, "month"), released=released_months)
    frame = store.query(
        "SELECT layer, min(night) AS first_night, max(night) AS last_night, "
        "min(month) AS first_month, max(month) AS last_month FROM records "
        f"WHERE layer IN ({marks}) "
        f"AND sharing IN ({', '.join('?' for _ in sharing)}) GROUP BY layer ORDER BY layer",
        [*layers, *sharing],
    )
    return Coverage(nights=_spans(frame, "night"), months=_spans(frame, "month"))


def _spans(frame: pd.DataFrame, what: str) -> dict[str, tuple[date, date]]:
    """Return layer -> (first, last) of the frame's ``first_<what>``, ``last_<what>``."""
    rows = frame.dropna(subset=[f"first_{what}"])
    firsts = pd.to_datetime(rows[f"first_{what}"]).dt.date
    lasts = pd.to_datetime(rows[f"last_{what}"]).dt.date
    return {str(layer): (a, b) for layer, a, b in zip(rows["layer"], firsts, lasts, strict=True)}


def month_spans(months: tuple[date, ...] | list[date]) -> str:
    """Return months as runs: "2022-02, 2025-04 to 2026-10"."""
    runs: list[list[date]] = []
    for month in sorted(months):
        if (
            runs
            and (month.year * 12 + month.month) - (runs[-1][-1].year * 12 + runs[-1][-1].month) == 1
        ):
            runs[-1].append(month)
        else:
            runs.append([month])
    return ", ".join(
        f"{run[0]:%Y-%m}" if len(run) == 1 else f"{run[0]:%Y-%m} to {run[-1]:%Y-%m}" for run in runs
    )
