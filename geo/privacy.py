"""The privacy gate: the one door every count passes through on its way to a viewer.

Input: the store's contributions for a view (one row per layer x cell x person [x dimension]
with a record count and a record-key sum, see :mod:`geo.aggregate`) and the viewer's role
policy. Output: a :class:`PublishedView` — cell, resolution, layer, value and how it was
protected — and a summary of what was held back. Dashboards, exports and later features read
only this.

Steps, per layer (each layer is its own map layer):

1. **Threshold on people**: a cell is published only if at least ``k`` distinct people stand
   behind it (reports count as people where no person reference exists).
2. **Roll-up, not just suppression**: the records of a cell below ``k`` move to its H3 parent,
   up to ``max_rollup`` levels; the parent is published at its own resolution if its merged
   records reach ``k``. A record is never counted in two published cells of one view.
3. **Cell-key perturbation** (as ONS used for Census 2021 flexible tables): the cell key is the
   sum of its records' keys mod 256; a fixed table maps (count, cell key) to a small zero-mean
   adjustment. The same set of records always gets the same value, so repeating or re-slicing a
   query cannot average the noise away. Values never land between 1 and k-1.
4. **Rounding** (roles that publish outside the partnership): to a multiple of ``round_to``,
   then nothing under ``min_shown`` is shown.

Public police.uk rows are anonymised at source: exempt from ``k`` and perturbation, but still
shown only at the role's resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.aggregate import COARSEST_RES, PUBLIC_LAYERS
from geo.errors import PolicyError
from geo.hexes import parent_cells

# Protection labels, combined with ", " in the ``protection`` column.
EXACT_PUBLIC = "public data"
PERTURBED = "perturbed"
ROLLED_UP = "rolled up"
ROUNDED = "rounded"

PUBLISHED_COLUMNS = ("cell", "resolution", "layer", "value", "protection")


@dataclass(frozen=True)
class RolePolicy:
    """What one role may see, and how its counts are protected."""

    name: str
    title: str
    layers: tuple[str, ...]
    finest_res: int
    k: int
    sharing: tuple[str, ...]
    perturb: bool = True
    round_to: int = 1
    min_shown: int = 0
    max_rollup: int = 2
    can_upload: bool = False

    def check_layers(self, layers: tuple[str, ...]) -> None:
        """Raise :class:`PolicyError` if the role may not see one of ``layers``."""
        for layer in layers:
            if layer not in self.layers:
                raise PolicyError(
                    f"role {self.name!r} may not see the {layer!r} layer "
                    f"(it may see: {', '.join(self.layers)})"
                )

    def check_res(self, res: int) -> None:
        """Raise :class:`PolicyError` if ``res`` is finer than the role may see."""
        if res > self.finest_res:
            raise PolicyError(
                f"role {self.name!r} may see hexagons down to resolution {self.finest_res}, "
                f"not {res}"
            )


@dataclass
class PublishedView:
    """What a viewer may see: protected values, and what was held back."""

    cells: pd.DataFrame  # PUBLISHED_COLUMNS (+ any dimensions asked for)
    role: str
    res: int
    suppressed_groups: int = 0
    suppressed_records: int = 0  # exact: for tests and audit, never shown as it stands
    rolled_up_groups: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """The sum of published values (itself protected: a sum of protected values)."""
        return int(self.cells["value"].sum()) if len(self.cells) else 0


# --- the perturbation table ------------------------------------------------------------------

_MAX_ROW = 63  # counts above this use the last row: the noise is the same small spread
# Offsets -4..+4 with triangular weights (5 - |offset|): mean exactly 0, standard deviation 2.
# The spread is a trade: with the narrower -2..+2 an attacker subtracting two views that differ
# by a few records recovered the true difference about 26% of the time; here about 14%.
_OFFSETS = np.arange(-4, 5, dtype=np.int64)
_WEIGHTS = 5 - np.abs(_OFFSETS)  # 1 2 3 4 5 4 3 2 1


def _perturbation_table() -> npt.NDArray[np.int64]:
    """Return the fixed (count, cell key) -> offset table: each row a shuffle of the offsets."""
    rng = np.random.default_rng(2021)  # fixed: the table is public, the record keys are not
    # 250 entries in the exact proportions of the weights, and 6 zeros: 256 cell keys a row.
    per_row = np.concatenate([np.repeat(_OFFSETS, _WEIGHTS * 10), np.zeros(6, dtype=np.int64)])
    table = np.stack([rng.permutation(per_row) for _ in range(_MAX_ROW + 1)])
    table[0] = 0  # an empty cell stays empty
    return table


PERTURBATION_TABLE = _perturbation_table()


def perturb(n: npt.ArrayLike, cell_key: npt.ArrayLike, *, k: int) -> npt.NDArray[np.int64]:
    """Return the cell-key perturbed count of each (count, cell key); never in 1..k-1.

    Counts of k or more stay at k or above (the few that the table would push below k are
    lifted to k); counts under k are not publishable and come back as 0.
    """
    n_arr = np.asarray(n, dtype=np.int64)
    key = np.asarray(cell_key, dtype=np.int64) % 256
    value = n_arr + PERTURBATION_TABLE[np.minimum(n_arr, _MAX_ROW), key]
    return np.where(n_arr >= k, np.maximum(value, k), 0)


def round_to(value: npt.ArrayLike, step: int) -> npt.NDArray[np.int64]:
    """Round to the nearest multiple of ``step`` (halves up)."""
    v = np.asarray(value, dtype=np.int64)
    return ((v + step // 2) // step) * step if step > 1 else v


# --- the gate --------------------------------------------------------------------------------


def publish(
    contributions: pd.DataFrame,
    policy: RolePolicy,
    *,
    res: int,
    by: tuple[str, ...] = (),
) -> PublishedView:
    """Protect ``contributions`` for ``policy`` at resolution ``res``.

    ``contributions`` has columns ``layer``, ``cell`` (at ``res``; absent for views without a
    map), ``person`` (nullable), ``n``, ``keysum`` and any ``by`` dimensions. Rows of a layer or
    sharing level the role may not see must not be there; this is checked.
    """
    policy.check_res(res)
    layers = tuple(contributions["layer"].unique())
    policy.check_layers(layers)
    has_cell = "cell" in contributions.columns
    public = contributions["layer"].isin(PUBLIC_LAYERS).to_numpy()
    parts: list[pd.DataFrame] = []
    view = PublishedView(cells=pd.DataFrame(), role=policy.name, res=res)

    if public.any():
        parts.append(_publish_public(contributions[public], by=by, has_cell=has_cell, res=res))

    pending = contributions[~public]
    level = res
    for step in range(policy.max_rollup + 1):
        if pending.empty:
            break
        gid, groups = _groups(pending, by=by, has_cell=has_cell)
        ok = (groups["people"] >= policy.k).to_numpy()
        if ok.any():
            parts.append(_protect(groups[ok], policy, level=level, rolled=step > 0))
            if step > 0:
                view.rolled_up_groups += int(ok.sum())
        pending = pending[~ok[gid]]
        if not has_cell or step == policy.max_rollup or level <= COARSEST_RES:
            break
        level -= 1
        pending = pending.assign(cell=parent_cells(pending["cell"].to_numpy(), level))
    if not pending.empty:
        view.suppressed_groups = len(_groups(pending, by=by, has_cell=has_cell)[1])
        view.suppressed_records = int(pending["n"].sum())
    cells = pd.concat(parts, ignore_index=True) if parts else _empty(by)
    if policy.min_shown:
        shown = (cells["value"] >= policy.min_shown) | (cells["protection"] == EXACT_PUBLIC)
        view.suppressed_groups += int((~shown).sum())
        view.suppressed_records += int(cells.loc[~shown, "_n"].sum())
        cells = cells[shown]
    cells = cells.drop(columns="_n")
    order = [c for c in ("layer", *by, "resolution", "cell") if c in cells.columns]
    view.cells = cells.sort_values(order).reset_index(drop=True)
    return view


def _groups(
    rows: pd.DataFrame, *, by: tuple[str, ...], has_cell: bool
) -> tuple[npt.NDArray[np.intp], pd.DataFrame]:
    """Return each row's group number, and per group: records, key sum, distinct contributors.

    Contributors are distinct people where records name one, plus one per record that names
    nobody (a report, not a person, is then the unit).
    """
    keys = ["layer", *by, *(["cell"] if has_cell else [])]
    gid = np.asarray(rows.groupby(keys, sort=False, dropna=False).ngroup(), dtype=np.intp)
    tagged = rows.assign(_gid=gid)
    known = tagged["person"].notna().to_numpy()
    people = tagged.loc[known, ["_gid", "person"]].drop_duplicates().groupby("_gid").size()
    anonymous = tagged.loc[~known].groupby("_gid")["n"].sum()
    agg = tagged.groupby("_gid", sort=True).agg(
        **{k: (k, "first") for k in keys}, n=("n", "sum"), keysum=("keysum", "sum")
    )
    agg["people"] = people.reindex(agg.index, fill_value=0) + anonymous.reindex(
        agg.index, fill_value=0
    )
    return gid, agg.reset_index(drop=True)


def _protect(groups: pd.DataFrame, policy: RolePolicy, *, level: int, rolled: bool) -> pd.DataFrame:
    value = groups["n"].to_numpy(dtype=np.int64)
    labels = [ROLLED_UP] if rolled else []
    if policy.perturb:
        value = perturb(value, groups["keysum"].to_numpy(), k=policy.k)
        labels.append(PERTURBED)
    if policy.round_to > 1:
        value = round_to(value, policy.round_to)
        labels.append(ROUNDED)
    out = groups.drop(columns=["keysum", "people"]).rename(columns={"n": "_n"})
    out["value"] = value
    out["resolution"] = level
    out["protection"] = ", ".join(labels) or "exact"
    return out


def _publish_public(
    rows: pd.DataFrame, *, by: tuple[str, ...], has_cell: bool, res: int
) -> pd.DataFrame:
    keys = ["layer", *by, *(["cell"] if has_cell else [])]
    out = rows.groupby(keys, sort=False, dropna=False)["n"].sum().reset_index(name="value")
    out["_n"] = out["value"]
    out["resolution"] = res
    out["protection"] = EXACT_PUBLIC
    return out


def _empty(by: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(columns=["layer", *by, "cell", "resolution", "value", "protection", "_n"])
