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

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.aggregate import COARSEST_RES, Contributions
from geo.errors import FilterError, PolicyError
from geo.hexes import CELL_BITS, CELL_MASK, parent_cells
from geo.layers import PUBLIC_LAYERS, REPORT_LAYERS

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
    uploads: tuple[str, ...] = ()  # the layers it may add reports to (the Data page)
    # trusted with the records' detail (live views, fine filters); else monthly releases only
    case_knowledge: bool = False
    pages: tuple[str, ...] = ()  # the dashboard's pages the role gets, in menu order
    default_layers: tuple[str, ...] = ()  # what its maps show first (empty: all its layers)

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
    release: str | None = None  # the releases a partner's view sums (None: a live view)
    # the contributions' rows behind the values shown: for audits and the benchmark's costs
    shown_rows: npt.NDArray[np.intp] | None = field(default=None, repr=False)

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

_KEY_LIMIT = 1 << (63 - CELL_BITS)  # keys below this fit above a cell in one int64
_RANK_LIMIT = _KEY_LIMIT // 16  # ranks below this fit above a resolution and a cell
_DENSE_PAIRS = 1 << 22  # groups x people up to this: distinct people counted in a table


def publish(
    contributions: pd.DataFrame | Contributions,
    policy: RolePolicy,
    *,
    res: int,
    by: tuple[str, ...] = (),
) -> PublishedView:
    """Protect ``contributions`` for ``policy`` at resolution ``res``.

    ``contributions`` is the store's answer (:class:`~geo.aggregate.Contributions`), or a frame
    with columns ``layer``, ``cell`` (at ``res``; absent for views without a map), ``person``
    (nullable), ``n``, ``keysum`` and any ``by`` dimensions. Rows of a layer the role may not see
    must not be there; this is checked.
    """
    policy.check_res(res)
    if isinstance(contributions, pd.DataFrame):
        contributions = Contributions.from_frame(contributions, by=by)
    elif contributions.by != by:
        raise FilterError(f"contributions are broken down by {contributions.by}, not by {by}")
    policy.check_layers(contributions.layers())
    rows = _Rows.of(contributions)
    out: list[_Published] = []
    rolled_up = suppressed_groups = suppressed_records = 0

    public = rows.public
    if public.any():
        gid, first, _ = _group_ids(rows.keys[public], rows.cell[public])
        n = np.bincount(gid, weights=rows.n[public]).astype(np.int64)
        where = np.flatnonzero(public)
        out.append(
            _Published(where[first], rows.cell[where[first]], res, n, n, EXACT_PUBLIC, where, gid)
        )

    pending = np.flatnonzero(~public)  # positions in ``rows`` still to publish
    cell = rows.cell.copy()
    level = res
    for step in range(policy.max_rollup + 1):
        if pending.size == 0:
            break
        gid, first, groups = _group_ids(rows.keys[pending], cell[pending])
        n = np.bincount(gid, weights=rows.n[pending], minlength=groups).astype(np.int64)
        people = _contributors(
            gid, groups, rows.person[pending], rows.n[pending], rows.reports[pending]
        )
        ok = people >= policy.k
        if ok.any():
            keysum = np.bincount(gid, weights=rows.keysum[pending], minlength=groups)
            value, label = _protect(n[ok], keysum[ok].astype(np.int64), policy, rolled=step > 0)
            rep = pending[first[ok]]
            members = ok[gid]
            number = np.cumsum(ok) - 1  # each published group's place in this step's groups
            out.append(
                _Published(
                    rep,
                    cell[rep],
                    level,
                    value,
                    n[ok],
                    label,
                    pending[members],
                    number[gid[members]],
                )
            )
            if step > 0:
                rolled_up += int(ok.sum())
        pending = pending[~ok[gid]]
        if not rows.has_cell or step == policy.max_rollup or level <= COARSEST_RES:
            break
        level -= 1
        cell[pending] = parent_cells(cell[pending], level)
    if pending.size:
        suppressed_groups = _group_ids(rows.keys[pending], cell[pending])[2]
        suppressed_records = int(rows.n[pending].sum())
    if policy.min_shown and out:
        for i, part in enumerate(out):
            shown = (part.value >= policy.min_shown) | (part.protection == EXACT_PUBLIC)
            suppressed_groups += int((~shown).sum())
            suppressed_records += int(part.n[~shown].sum())
            out[i] = part.subset(shown)
    return PublishedView(
        cells=rows.frame(out),
        role=policy.name,
        res=res,
        suppressed_groups=suppressed_groups,
        suppressed_records=suppressed_records,
        rolled_up_groups=rolled_up,
        shown_rows=np.sort(np.concatenate([p.members for p in out] or [np.empty(0, np.intp)])),
    )


@dataclass
class _Published:
    """Groups published at one step: representative rows, cells, resolution, values."""

    rows: npt.NDArray[np.intp]
    cells: npt.NDArray[np.int64]
    resolution: int
    value: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]
    protection: str
    members: npt.NDArray[np.intp]  # every row the groups hold
    member_of: npt.NDArray[np.intp]  # each member's group, by its place among the groups

    def subset(self, keep: npt.NDArray[np.bool_]) -> _Published:
        """Return the groups where ``keep`` is true."""
        number = np.cumsum(keep) - 1
        held = keep[self.member_of]
        return _Published(
            self.rows[keep],
            self.cells[keep],
            self.resolution,
            self.value[keep],
            self.n[keep],
            self.protection,
            self.members[held],
            number[self.member_of[held]],
        )


@dataclass
class _Rows:
    """The contributions as arrays: the gate's work is a few sorts and bincounts on these."""

    source: Contributions
    keys: npt.NDArray[np.int64]  # one code per combination of layer and ``by`` values
    cell: npt.NDArray[np.int64]
    person: npt.NDArray[np.int64]  # a code per person, -1 where none is named
    n: npt.NDArray[np.int64]
    keysum: npt.NDArray[np.int64]
    public: npt.NDArray[np.bool_]
    reports: npt.NDArray[np.bool_]  # a layer whose reports each count as one (REPORT_LAYERS)
    has_cell: bool

    @classmethod
    def of(cls, contributions: Contributions) -> _Rows:
        keys = np.zeros(len(contributions), dtype=np.int64)
        for column in contributions.keys.values():
            keys = keys * (len(column.values) + 1) + (column.codes + 1)
        layer = contributions.keys["layer"]
        public = [str(v) in PUBLIC_LAYERS for v in layer.values]
        reports = [str(v) in REPORT_LAYERS for v in layer.values]
        return cls(
            source=contributions,
            keys=keys,
            cell=np.zeros(len(contributions), np.int64)
            if contributions.cell is None
            else contributions.cell,
            person=contributions.person,
            n=contributions.n,
            keysum=contributions.keysum,
            public=np.array([*public, False])[layer.codes],
            reports=np.array([*reports, False])[layer.codes],
            has_cell=contributions.cell is not None,
        )

    def frame(self, parts: list[_Published]) -> pd.DataFrame:
        """Return the published groups as rows, sorted by layer, ``by``, resolution and cell.

        Key values come from a representative row of each group. Built from arrays in one go:
        the gate runs on every filter change, and pandas' per-column steps cost more than the
        protection itself.
        """
        columns = list(self.source.keys)
        names = [*columns, *(["cell"] if self.has_cell else []), "resolution", "value"]
        if not parts:
            return pd.DataFrame(columns=[*names, "protection"])
        sizes = [p.rows.size for p in parts]
        rep = np.concatenate([p.rows for p in parts])
        cell = np.concatenate([p.cells for p in parts])
        resolution = np.repeat(np.array([p.resolution for p in parts], dtype=np.int64), sizes)
        # by layer, ``by``, resolution, then cell
        keys = self.source.keys.values()
        rank = np.zeros(rep.size, dtype=np.int64)
        for column in keys:
            rank = rank * (len(column.values) + 1) + column.ranks(rep)
        if rank.size and int(rank.max()) < _RANK_LIMIT:  # one sort on one number
            order = np.argsort(((rank * 16 + resolution) << CELL_BITS) | (cell & CELL_MASK))
        else:
            order = np.lexsort((cell, resolution, rank))
        out: dict[str, Any] = {c: self.source.keys[c].decoded(rep[order]) for c in columns}
        if self.has_cell:
            out["cell"] = cell[order]
        out["resolution"] = resolution[order]
        out["value"] = np.concatenate([p.value for p in parts])[order]
        which = np.repeat(np.arange(len(parts)), sizes)
        labels = tuple(p.protection for p in parts)
        out["protection"] = _label_array(labels).take(which[order])
        return _frame_of(out)


def _frame_of(columns: dict[str, Any]) -> pd.DataFrame:
    """Return a frame of ``columns`` (arrays of one length, each the frame's own), quickly.

    ``pd.DataFrame(columns)`` checks and converts each column and infers the labels' type: a
    third of the gate's time on a map view. These arrays need none of it; a test holds the two
    equal.
    """
    rows = len(next(iter(columns.values())))
    frame: pd.DataFrame = pd.DataFrame._from_arrays(  # type: ignore[attr-defined]
        list(columns.values()),
        columns=_labels_index(tuple(columns)),
        index=pd.RangeIndex(rows),
        verify_integrity=False,
    )
    return frame


@functools.lru_cache(maxsize=64)
def _labels_index(names: tuple[str, ...]) -> pd.Index:
    return pd.Index(list(names))


@functools.cache
def _label_array(labels: tuple[str, ...]) -> Any:
    """Return the protection labels as a string array (made once: a view takes from it)."""
    return pd.array(labels, dtype="str")


def _group_ids(
    keys: npt.NDArray[np.int64], cell: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], int]:
    """Group rows by (key, cell): each row's group, one representative row per group, groups."""
    if keys.size == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp), 0
    if int(keys.max()) < _KEY_LIMIT:
        # One sort on one number: below bit 52 an H3 cell's base cell and digits name it (its
        # unused digits are 7, which a used digit never is), and the key fits above them.
        combined = (keys << CELL_BITS) | (cell & CELL_MASK)
        order = np.argsort(combined)
        ordered = combined[order]
        starts = np.ones(order.size, dtype=bool)
        starts[1:] = ordered[1:] != ordered[:-1]
    else:
        order = np.lexsort((cell, keys))
        k, c = keys[order], cell[order]
        starts = np.ones(order.size, dtype=bool)
        starts[1:] = (k[1:] != k[:-1]) | (c[1:] != c[:-1])
    sorted_gid = np.cumsum(starts) - 1
    gid = np.empty(order.size, dtype=np.intp)
    gid[order] = sorted_gid
    return gid, order[starts], int(sorted_gid[-1]) + 1


def _contributors(
    gid: npt.NDArray[np.intp],
    groups: int,
    person: npt.NDArray[np.int64],
    n: npt.NDArray[np.int64],
    reports: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int64]:
    """Return how many people stand behind each group: what ``k`` is compared with.

    Distinct people named; where no one is named, one for all the records naming nobody (they
    may all be one woman's: three anonymous reports about her must not publish her street, and
    beside named women they may be about one of them); in the layers of reports about places
    (:data:`~geo.layers.REPORT_LAYERS`), each report counts as one.
    """
    named = (person >= 0) & ~reports
    span = int(person.max(initial=-1)) + 1
    pairs = gid[named].astype(np.int64) * span + person[named]
    if groups * span <= _DENSE_PAIRS:  # a table of groups x people: no sort needed
        seen = np.zeros(groups * span, dtype=bool)
        seen[pairs] = True
        people = np.count_nonzero(seen.reshape(groups, span), axis=1)
    else:
        people = np.bincount((np.unique(pairs) // span).astype(np.intp), minlength=groups)
    unnamed = np.bincount(gid[~named & ~reports], minlength=groups) > 0
    counted = np.bincount(gid[reports], weights=n[reports], minlength=groups)
    return np.asarray(people + (unnamed & (people == 0)) + counted, dtype=np.int64)


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
