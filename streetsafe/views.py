"""The one door: a role's view of the store, always through the privacy gate.

Pages, exports and later features call :func:`published_view`; none of them ever holds raw
contributions. The role's policy decides the layers, sharing levels and finest resolution the
query may touch before the store is asked anything.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from geo.aggregate import Coded, Contributions, CubeFilter
from geo.privacy import PublishedView, RolePolicy, publish
from geo.wards import Areas
from store import CountSource


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
    area's centre).
    """
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

    Records are placed by their storage cell's centre; each (layer, area, ``by``) group is
    protected like a cell (``k`` people, perturbation, rounding), without roll-up.
    """
    allowed = restrict(f, policy)
    cells = store.cube(allowed, res=store.storage_res, by=by)  # asked with cells: never None
    distinct, where = np.unique(np.asarray(cells.cell, dtype=np.int64), return_inverse=True)
    of_distinct = Coded.of(pd.Series(areas.of_cells(distinct), dtype="str"))
    area = Coded(of_distinct.codes[where], of_distinct.values)
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
        view.notes.append("records whose cell centre lies outside every ward are not counted")
    return view
