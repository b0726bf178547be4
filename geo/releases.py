"""Partner releases: a month's counts, published once with fixed dimensions, never recomputed.

Roles outside case knowledge (police, community safety) never put a question of their own to
the records. For each calendar month that has closed, streetsafe makes one release of every
record shared with partners (and public data), whatever roles exist: two tables of groups, each
group's record count perturbed once with the cell-key method and stored beside the number of
people behind it.

- ``places``: layer x hexagon (at :data:`RELEASE_RES`) x category group;
- ``times``: layer x category group x night band x group of nights, over the whole study area.

A role's view of releases (:func:`release_view`) keeps the groups with at least its ``k``
people, lifts them to ``k``, rounds them as the role rounds, drops those under its
``min_shown``, and sums what was asked for: coarser hexagons, fewer layers, a subset of
category groups. So every figure a partner sees is a sum of values fixed once: asking again,
asking a slightly different question, or a role tightened later, sums the same values, and a
record lies under one value of each table, two in all. A group with fewer than ``k`` people is
in no figure, and no figure says how much was left out. Nothing here talks to a database.

Each group is counted within one **pool** of sources: the trusted ones (the operator's files,
a role with case knowledge), or one partner's own files. A partner could otherwise plant people
to lift a hexagon over ``k`` and so reveal who else is there; within its own pool it can only
publish what it put in itself. Who counts towards ``k`` is reckoned cautiously
(:func:`people`): the most distinct references any one reference scheme gives (agencies
reference one woman differently), and reports naming nobody add one person only where no one
is named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import FilterError
from geo.hexes import cell_resolutions, parent_cells
from geo.layers import PARTNERS, PUBLIC, PUBLIC_LAYERS, REPORT_LAYERS
from geo.privacy import (
    EXACT_PUBLIC,
    PERTURBATION_TABLE,
    PERTURBED,
    ROUNDED,
    PublishedView,
    RolePolicy,
    round_to,
)

PLACES = "places"
TIMES = "times"
# What a release holds: every record shared with partners, and public data, at this resolution
# (the finest any shipped role without case knowledge sees); roles see sums of it.
RELEASE_SHARING = (PARTNERS, PUBLIC)
RELEASE_RES = 8
# The fixed dimensions of each table, besides the layer (and, in places, the hexagon).
DIMENSIONS = {
    PLACES: ("category_group",),
    TIMES: ("category_group", "band", "weekday_group"),
}
# What the store's count cube is broken down by, besides a table's dimensions, to count people
# as a release does: each record's agency, and its pool ("" for the trusted sources, else the
# partner or file it came from).
PROVENANCE = ("agency", "pool")
TRUSTED_POOL = ""
# What a partner view may break its figures down by: a table's dimensions, or the month.
VIEW_DIMENSIONS = ("category_group", "band", "weekday_group", "month")
# A release's rows, as stored: one per group of one table.
COLUMNS = (
    "table",
    "layer",
    "cell",  # 0 in the times table
    "category_group",
    "band",  # "" in the places table
    "weekday_group",  # "" in the places table
    "pool",  # whose sources the group counts: "" the trusted ones, else one partner's
    "value",  # the record count with its cell-key offset; exact for public data
    "people",  # as k counts them, cautiously (see people()); never shown
    "public",
)
RELEASED = "released"
_MAX_ROW = PERTURBATION_TABLE.shape[0] - 1


def release_rows(
    places: pd.DataFrame, times: pd.DataFrame, references: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Return a month's release: its two tables' groups, each value perturbed once.

    ``references`` maps agencies that share person references to their scheme's name (see
    :func:`people`); any other agency's references are a scheme of their own.

    ``places`` and ``times`` are the month's count cube as the store's SQL gives it
    (:meth:`store.Store.contributions`): rows of layer, cell (places only), the table's
    :data:`DIMENSIONS`, :data:`PROVENANCE`, person, ``n`` and ``keysum``.
    """
    parts = []
    for table, cube in ((PLACES, places), (TIMES, times)):
        keys = ["layer", *(["cell"] if table == PLACES else []), *DIMENSIONS[table], "pool"]
        missing = [c for c in (*keys, *PROVENANCE, "person", "n", "keysum") if c not in cube]
        if missing:
            raise FilterError(f"the {table} table's cube lacks {', '.join(missing)}")
        parts.append(_table_rows(table, cube, keys, references or {}))
    return pd.concat(parts, ignore_index=True).loc[:, list(COLUMNS)]


def _table_rows(
    table: str, cube: pd.DataFrame, keys: list[str], references: Mapping[str, str]
) -> pd.DataFrame:
    groups = cube.groupby(keys, as_index=False, sort=True).agg(
        n=("n", "sum"), keysum=("keysum", "sum")
    )
    groups = groups.merge(people(cube, keys, references), on=keys, how="left")
    n = groups["n"].to_numpy(dtype=np.int64)
    key = groups["keysum"].to_numpy(dtype=np.int64) % 256
    offset = PERTURBATION_TABLE[np.minimum(n, _MAX_ROW), key]
    public = groups["layer"].isin(PUBLIC_LAYERS).to_numpy()
    out = groups.assign(
        table=table,
        value=np.where(public, n, n + offset),
        people=np.where(public, 0, groups["people"].fillna(0).to_numpy(dtype=np.int64)),
        public=public,
    )
    for column in ("band", "weekday_group"):
        if column not in out.columns:
            out[column] = ""
    if "cell" not in out.columns:
        out["cell"] = np.int64(0)
    text = dict.fromkeys(("layer", "category_group", "band", "weekday_group", "pool"), str)
    return out.astype(text)


def people(
    cube: pd.DataFrame, keys: list[str], references: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Return the people behind each group of ``cube`` (by ``keys``), as a release counts them.

    In layers of reports about places each report counts; in the others, the most distinct
    references any one reference scheme gives in the group (one woman referenced by the police
    and by outreach counts once), plus one when reports naming nobody are all the group has
    (they may be about a woman already counted). An agency's scheme is ``references[agency]``,
    or the agency itself.
    """
    reports = cube["layer"].isin(REPORT_LAYERS)
    counted = cube[reports].groupby(keys)["n"].sum()
    about_people = cube[~reports]
    named = about_people[about_people["person"].notna()]
    agency = named["agency"].astype("string").fillna("")
    named = named.assign(scheme=agency.replace(dict(references or {})))
    per_agency = named.groupby([*keys, "scheme"])["person"].nunique().groupby(keys).max()
    unnamed = about_people[about_people["person"].isna()].groupby(keys).size() > 0
    total = pd.concat([counted, per_agency, unnamed.astype(np.int64)], axis=1).fillna(0)
    total.columns = pd.Index(["reports", "named", "unnamed"])
    total["people"] = total["reports"] + total["named"] + total["unnamed"] * (total["named"] == 0)
    return total["people"].astype(np.int64).reset_index()


def release_view(
    values: pd.DataFrame,
    policy: RolePolicy,
    *,
    res: int | None,
    by: tuple[str, ...] = (),
    layers: tuple[str, ...],
    groups: tuple[str, ...] | None = None,
    releases: tuple[str, ...] = (),
) -> PublishedView:
    """Return what ``policy``'s role sees of released ``values``: sums of their groups.

    ``values`` are the rows of the releases ``releases`` (:data:`COLUMNS`, plus ``month`` and
    ``release``); the view names those releases, whatever rows it shows. With ``res`` the
    figures are per hexagon at ``res`` (the release's resolution or coarser), from the places
    table; without, for the whole study area, from the times table when ``by`` names a night
    band or group of nights, else from the places table. ``groups`` limits the category groups
    (None: all).
    """
    unknown = [d for d in by if d not in VIEW_DIMENSIONS]
    if unknown:
        raise FilterError(
            f"a release is published by {', '.join(VIEW_DIMENSIONS)}, not by {unknown[0]!r}"
        )
    policy.check_layers(layers)
    table = TIMES if {"band", "weekday_group"} & set(by) else PLACES
    values = values[_sharing_allowed(values, policy)]
    if res is not None:
        policy.check_res(res)
        if table == TIMES:
            raise FilterError("night bands and groups of nights are published for the whole area")
    rows = values[(values["table"] == table) & values["layer"].isin(layers)]
    if groups is not None:
        rows = rows[rows["category_group"].isin(groups)]
    shown = shown_groups(rows, policy)
    keys = ["layer", *by]
    if res is not None:
        shown = shown.assign(cell=_cells_at(shown["cell"].to_numpy(dtype=np.int64), res))
        keys.append("cell")
    summed = shown.groupby(keys, as_index=False, sort=True).agg(
        value=("value", "sum"), public=("public", "all")
    )
    label = _label(policy)
    frame: dict[str, Any] = {c: summed[c].to_numpy() for c in keys}
    frame["resolution"] = np.full(len(summed), res if res is not None else 0, dtype=np.int64)
    frame["value"] = summed["value"].to_numpy(dtype=np.int64)
    frame["protection"] = np.where(summed["public"].to_numpy(dtype=bool), EXACT_PUBLIC, label)
    cells = pd.DataFrame(frame)
    if res is None:
        cells = cells.drop(columns="resolution")
    return PublishedView(
        cells=cells.reset_index(drop=True),
        role=policy.name,
        res=policy.finest_res if res is None else res,
        release=", ".join(sorted(releases)) or None,
    )


def _sharing_allowed(values: pd.DataFrame, policy: RolePolicy) -> Any:
    """Which rows the role's sharing levels allow: public rows are the public data's, the
    others were shared with partners."""
    public = values["public"].to_numpy(dtype=bool)
    return np.where(public, PUBLIC in policy.sharing, PARTNERS in policy.sharing)


def shown_groups(rows: pd.DataFrame, policy: RolePolicy) -> pd.DataFrame:
    """Return the groups the role may see, with the values it sees."""
    public = rows["public"].to_numpy(dtype=bool)
    enough = rows["people"].to_numpy(dtype=np.int64) >= policy.k
    kept = rows[public | enough]
    value = kept["value"].to_numpy(dtype=np.int64)
    private = ~kept["public"].to_numpy(dtype=bool)
    # a group of k people shows at least k: its noise never makes it look smaller than k
    value = np.where(private, np.maximum(value, policy.k), value)
    if policy.round_to > 1:
        value = np.where(private, round_to(value, policy.round_to), value)
    out = kept.assign(value=value)
    if policy.min_shown:
        out = out[~private | (value >= policy.min_shown)]
    return out


def _cells_at(cells: np.ndarray[Any, np.dtype[np.int64]], res: int) -> np.ndarray[Any, Any]:
    """Return each released cell at ``res`` (its own resolution or coarser)."""
    if cells.size == 0:
        return cells
    finest = int(cell_resolutions(cells[:1])[0])
    if res > finest:
        raise FilterError(f"the release is published down to resolution {finest}, not {res}")
    return cells if res == finest else parent_cells(cells, res)


def _label(policy: RolePolicy) -> str:
    labels = [RELEASED, PERTURBED]
    if policy.round_to > 1:
        labels.append(ROUNDED)
    return ", ".join(labels)
