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
from typing import Any

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

    cells: pd.DataFrame  # cell, resolution, layer, value, protection (+ any dimensions)
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
    map), ``person`` (nullable), ``n``, ``keysum`` and any ``by`` dimensions. Rows of a layer the
    role may not see must not be there; this is checked.
    """
    policy.check_res(res)
    policy.check_layers(tuple(contributions["layer"].unique()))
    rows = _Rows.of(contributions, by=by)
    view = PublishedView(cells=pd.DataFrame(), role=policy.name, res=res)
    out: list[_Published] = []

    public = rows.public
    if public.any():
        gid, first, _ = _group_ids(rows.keys[public], rows.cell[public])
        n = np.bincount(gid, weights=rows.n[public]).astype(np.int64)
        out.append(
            _Published(
                np.flatnonzero(public)[first], rows.cell[public][first], res, n, n, EXACT_PUBLIC
            )
        )

    pending = np.flatnonzero(~public)  # positions in ``rows`` still to publish
    cell = rows.cell.copy()
    level = res
    for step in range(policy.max_rollup + 1):
        if pending.size == 0:
            break
        gid, first, groups = _group_ids(rows.keys[pending], cell[pending])
        n = np.bincount(gid, weights=rows.n[pending], minlength=groups).astype(np.int64)
        people = _contributors(gid, groups, rows.person[pending], rows.n[pending])
        ok = people >= policy.k
        if ok.any():
            keysum = np.bincount(gid, weights=rows.keysum[pending], minlength=groups)
            value, label = _protect(n[ok], keysum[ok].astype(np.int64), policy, rolled=step > 0)
            rep = pending[first[ok]]
            out.append(_Published(rep, cell[rep], level, value, n[ok], label))
            if step > 0:
                view.rolled_up_groups += int(ok.sum())
        pending = pending[~ok[gid]]
        if not rows.has_cell or step == policy.max_rollup or level <= COARSEST_RES:
            break
        level -= 1
        cell[pending] = parent_cells(cell[pending], level)
    if pending.size:
        view.suppressed_groups = _group_ids(rows.keys[pending], cell[pending])[2]
        view.suppressed_records = int(rows.n[pending].sum())
    if policy.min_shown and out:
        for i, part in enumerate(out):
            shown = (part.value >= policy.min_shown) | (part.protection == EXACT_PUBLIC)
            view.suppressed_groups += int((~shown).sum())
            view.suppressed_records += int(part.n[~shown].sum())
            out[i] = part.subset(shown)
    view.cells = rows.frame(out, by=by)
    return view


@dataclass
class _Published:
    """Groups published at one step: representative rows, cells, resolution, values."""

    rows: npt.NDArray[np.intp]
    cells: npt.NDArray[np.int64]
    resolution: int
    value: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]
    protection: str

    def subset(self, keep: npt.NDArray[np.bool_]) -> _Published:
        """Return the groups where ``keep`` is true."""
        return _Published(
            self.rows[keep],
            self.cells[keep],
            self.resolution,
            self.value[keep],
            self.n[keep],
            self.protection,
        )


@dataclass
class _Rows:
    """The contributions as arrays: the gate's work is a few sorts and bincounts on these."""

    source: pd.DataFrame
    keys: npt.NDArray[np.int64]  # one code per combination of layer and ``by`` values
    cell: npt.NDArray[np.int64]
    person: npt.NDArray[np.int64]  # a code per person, -1 where none is named
    n: npt.NDArray[np.int64]
    keysum: npt.NDArray[np.int64]
    public: npt.NDArray[np.bool_]
    has_cell: bool

    @classmethod
    def of(cls, contributions: pd.DataFrame, *, by: tuple[str, ...]) -> _Rows:
        frame = contributions.reset_index(drop=True)
        keys = np.zeros(len(frame), dtype=np.int64)
        for col in ("layer", *by):
            codes, uniques = pd.factorize(frame[col], use_na_sentinel=False)
            keys = keys * (len(uniques) + 1) + codes
        has_cell = "cell" in frame.columns
        person, _ = pd.factorize(frame["person"], use_na_sentinel=True)
        return cls(
            source=frame,
            keys=keys,
            cell=frame["cell"].to_numpy(dtype=np.int64)
            if has_cell
            else np.zeros(len(frame), np.int64),
            person=np.asarray(person, dtype=np.int64),
            n=frame["n"].to_numpy(dtype=np.int64),
            keysum=frame["keysum"].to_numpy(dtype=np.int64),
            public=frame["layer"].isin(PUBLIC_LAYERS).to_numpy(),
            has_cell=has_cell,
        )

    def frame(self, parts: list[_Published], *, by: tuple[str, ...]) -> pd.DataFrame:
        """Return the published groups as rows, sorted by layer, ``by``, resolution and cell.

        Key values come from a representative row of each group. Built from arrays in one go:
        the gate runs on every filter change, and pandas' per-column steps cost more than the
        protection itself.
        """
        columns = ["layer", *by]
        if not parts:
            return pd.DataFrame(columns=[*columns, "cell", "resolution", "value", "protection"])
        names = [*columns, *(["cell"] if self.has_cell else []), "resolution", "value"]
        rep = np.concatenate([p.rows for p in parts])
        data: dict[str, Any] = {c: self.source[c].array.take(rep) for c in columns}
        if self.has_cell:
            data["cell"] = np.concatenate([p.cells for p in parts])
        data["resolution"] = np.concatenate([np.full(p.rows.size, p.resolution) for p in parts])
        data["value"] = np.concatenate([p.value for p in parts])
        protection = np.concatenate(
            [np.full(p.rows.size, p.protection, dtype=object) for p in parts]
        )
        # by layer, ``by``, resolution, then cell; lexsort's last key is the primary one
        keys = [*columns, "resolution", *(["cell"] if self.has_cell else [])]
        order = np.lexsort([_sort_key(data[c]) for c in reversed(keys)])
        out = pd.DataFrame({c: data[c].take(order) for c in names})
        out["protection"] = protection[order]
        return out


def _sort_key(values: Any) -> npt.NDArray[np.int64]:
    """Return integer codes ordering ``values`` as ``sort_values`` would (missing ones last)."""
    codes, uniques = pd.Series(values, copy=False).factorize(sort=True, use_na_sentinel=True)
    return np.where(codes < 0, len(uniques), codes).astype(np.int64)


def _group_ids(
    keys: npt.NDArray[np.int64], cell: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], int]:
    """Group rows by (key, cell): each row's group, one representative row per group, groups."""
    if keys.size == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp), 0
    order = np.lexsort((cell, keys))
    k, c = keys[order], cell[order]
    starts = np.ones(order.size, dtype=bool)
    starts[1:] = (k[1:] != k[:-1]) | (c[1:] != c[:-1])
    sorted_gid = np.cumsum(starts) - 1
    gid = np.empty(order.size, dtype=np.intp)
    gid[order] = sorted_gid
    return gid, order[starts], int(sorted_gid[-1]) + 1


def _contributors(
    gid: npt.NDArray[np.intp], groups: int, person: npt.NDArray[np.int64], n: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Return per group: distinct people named, plus one per record that names nobody.

    Where no person reference exists, a report (not a person) is the unit of protection.
    """
    known = person >= 0
    span = int(person.max(initial=0)) + 1
    pairs = np.unique(gid[known].astype(np.int64) * span + person[known])
    people = np.bincount((pairs // span).astype(np.intp), minlength=groups)
    anonymous = np.bincount(gid[~known], weights=n[~known], minlength=groups)
    return (people + anonymous).astype(np.int64)


def _protect(
    n: npt.NDArray[np.int64], keysum: npt.NDArray[np.int64], policy: RolePolicy, *, rolled: bool
) -> tuple[npt.NDArray[np.int64], str]:
    value = n
    labels = [ROLLED_UP] if rolled else []
    if policy.perturb:
        value = perturb(value, keysum, k=policy.k)
        labels.append(PERTURBED)
    if policy.round_to > 1:
        value = round_to(value, policy.round_to)
        labels.append(ROUNDED)
    return value, ", ".join(labels) or "exact"
