"""The one door: a role's view of the store, always through the privacy gate.

Pages, exports and later features call :func:`published_view`; none of them ever holds raw
contributions. The role's policy decides the layers, sharing levels and finest resolution the
query may touch before the store is asked anything.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from geo.aggregate import CubeFilter
from geo.privacy import PublishedView, RolePolicy, publish
from geo.wards import Areas
from ingest.stores import Store


def restrict(f: CubeFilter, policy: RolePolicy) -> CubeFilter:
    """Return ``f`` as the role may ask it: its layers checked, its sharing levels imposed."""
    policy.check_layers(f.layers)
    sharing = tuple(s for s in f.sharing if s in policy.sharing)
    return replace(f, sharing=sharing or ("none",))


def published_view(
    store: Store,
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
    contributions = store.contributions(allowed, res=res, by=by, sun_at=sun_at)
    view = publish(contributions, policy, res=view_res, by=by)
    unknown = store.unknown_time_count(allowed)
    if unknown:
        view.notes.append(
            f"{unknown:,} records with no known time of night (police.uk publishes the month "
            "only) are left out by the hour or weekday filter"
        )
    return view


def area_view(
    store: Store,
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
    cells = store.contributions(allowed, res=store.storage_res, by=by)
    codes, uniques = pd.factorize(cells["cell"])
    cells["area"] = areas.of_cells(uniques.to_numpy())[codes]
    grouped = (
        cells.dropna(subset=["area"])
        .groupby(["layer", "area", *by, "person"], dropna=False, as_index=False)
        .agg(n=("n", "sum"), keysum=("keysum", "sum"))
    )
    view = publish(grouped, policy, res=policy.finest_res, by=("area", *by))
    outside = int(cells.loc[cells["area"].isna(), "n"].sum())
    if outside:
        view.notes.append("records whose cell centre lies outside every ward are not counted")
    return view
