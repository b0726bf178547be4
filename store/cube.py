"""The count cube held in memory: the store's cube queries answered from arrays.

A view is asked again on every filter change, and a database spends most of a small query's
time before and after the work (planning, a result frame). :class:`ResidentCube` keeps the few
columns a cube query reads, coded small and sorted by layer and sharing level, night and time of
night, and answers :meth:`ResidentCube.contributions` with binary searches for the runs of rows
a view selects, a table lookup for the conditions left, and one count per group. Its answers
are the same as the store's SQL (``store/_queries.py``); a property test holds the two
together.

It holds no coordinates: sealed records have none. People are numbered in the order first seen,
which is all the privacy gate needs to count them; the pseudonyms are kept only to number the
records of the next file alike, and never leave the cube. Nothing here talks to a database: the
store hands the records over as Arrow tables (:meth:`ResidentCube.build`,
:meth:`ResidentCube.extend`).
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from geo.aggregate import Coded, Contributions, CubeFilter, value_ranks
from geo.errors import FilterError, StoreError
from geo.hexes import descendant_range, parent_cells
from geo.layers import LAYERS
from geo.nights import MINUTES_PER_DAY, HourRange

# The columns a cube query reads, as the store keeps them.
_SCHEMA = pa.schema(
    [
        ("layer", pa.string()),
        ("sharing", pa.string()),
        ("category", pa.string()),
        ("person", pa.int64()),
        ("night", pa.date32()),
        ("local_minute", pa.int16()),
        ("weekday", pa.int8()),
        ("month", pa.date32()),
        ("cell", pa.int64()),
        ("record_key", pa.int16()),
    ]
)
COLUMNS = tuple(_SCHEMA.names)
# Dimensions a view may break its counts down by, answered here (``after_sunset`` is not: its
# hours depend on the place, and the store's SQL reckons them).
DIMENSIONS = ("hour", "weekday", "month", "category")

_NO_NIGHT = np.iinfo(np.int32).max  # month-only records sort after every night
_SLOTS = MINUTES_PER_DAY + 1  # a minute of the day, or none (0)
_SLOT_BITS = 14  # (weekday + 1) * _SLOTS + minute + 1 < 2**14
_NIGHT_BITS = 31  # days since 1970 (and _NO_NIGHT)
_STRATUM_SHIFT = _SLOT_BITS + _NIGHT_BITS
_HOURS = pd.array(range(24), dtype="Int64")
_WEEKDAYS = pd.array(range(7), dtype="Int64")
_LAYER_VALUES = pd.array(sorted(LAYERS), dtype="str")  # sorted: a code is a rank
_LAYER_CODE = np.array([sorted(LAYERS).index(layer) for layer in LAYERS])  # from LAYERS order
_DENSE_GROUPS = 1 << 21  # group keys up to this: counted in a table, not sorted
_COUNT_UNIT = float(1 << 30)
_PACKED_ROWS = 1 << 22


_EPOCH = date(1970, 1, 1).toordinal()


def _days(value: date) -> int:
    return value.toordinal() - _EPOCH


@dataclass(frozen=True)
class _Vocabulary:
    """The distinct text values and people seen so far, each numbered in order first seen."""

    sharing: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    people: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))

    def extended(self, table: pa.Table) -> _Vocabulary:
        sharing = _append(self.sharing, table["sharing"])
        category = _append(self.category, table["category"])
        person = table["person"].drop_null().to_numpy()
        new = np.unique(person)
        new = new[~np.isin(new, self.people)]
        return _Vocabulary(sharing, category, np.concatenate([self.people, new]))


def _append(known: tuple[str, ...], column: pa.ChunkedArray) -> tuple[str, ...]:
    seen = set(known)
    return known + tuple(sorted(v for v in column.unique().to_pylist() if v not in seen))


def _code(values: tuple[str, ...], column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """Return each row's index in ``values`` (through Arrow's dictionary: no Python strings)."""
    encoded = column.combine_chunks().dictionary_encode()
    lut = pd.Index(values).get_indexer(encoded.dictionary.to_pylist())
    if (lut < 0).any():
        raise StoreError("the store holds a value the resident cube has no code for")
    codes: npt.NDArray[np.int64] = np.asarray(lut, dtype=np.int64)[
        encoded.indices.to_numpy(zero_copy_only=False)
    ]
    return codes


@dataclass(frozen=True)
class ResidentCube:
    """The cube columns of every record, coded small and sorted by their ``when``, then month.

    ``when`` orders the records by layer and sharing level ("stratum"), night and time of night
    (month-only records last in their stratum, by month): the nights and hours of a view are
    then a few runs of rows, found by binary search.
    """

    storage_res: int
    vocabulary: _Vocabulary
    # (layer and sharing, night in days since 1970, slot) in one number; the rows' sort key
    when: npt.NDArray[np.int64]
    month: npt.NDArray[np.int32]  # days since 1970 of the month's first day
    slot: npt.NDArray[np.int16]  # (weekday + 1) * _SLOTS + (minute + 1); 0 parts: unknown
    kind: npt.NDArray[np.int16]  # (layer * sharings + sharing) * categories + category
    person: npt.NDArray[np.int32]  # -1: no person named
    cell: npt.NDArray[np.int32]  # index into ``cells``
    record_key: npt.NDArray[np.uint8]
    cells: npt.NDArray[np.int64]  # the distinct storage cells, sorted
    months: npt.NDArray[np.int32]  # the distinct months, sorted
    untimed: npt.NDArray[np.intp]  # rows whose time of night is unknown (police.uk's)
    nights: npt.NDArray[np.int64]  # the distinct nights, sorted
    # whether every record with a night has that night's month (as sealing makes it): the dates
    # then imply the month bound the SQL states
    months_follow_nights: bool
    _parents: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # per resolution (None: no cells), each row's (layer + 1) * (parents + 1) + parent + 1: the
    # group key of a map view but for the person, worked out once (the last two kept)
    _map_keys: dict[int | None, npt.NDArray[np.int32]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # the two memos above are filled by whichever view asks first: the dashboard's sessions
    # count from one cube at once, on threads of their own
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @classmethod
    def build(cls, table: pa.Table, *, storage_res: int) -> ResidentCube:
        """Return the cube of the records in ``table`` (the :data:`COLUMNS` as stored)."""
        return cls.empty(storage_res=storage_res).extend(table)

    @classmethod
    def empty(cls, *, storage_res: int) -> ResidentCube:
        """Return a cube of no records."""
        return cls._from(_SCHEMA.empty_table(), _Vocabulary(), storage_res)

    @classmethod
    def _from(cls, table: pa.Table, vocabulary: _Vocabulary, storage_res: int) -> ResidentCube:
        night = _dates(table["night"], missing=_NO_NIGHT).astype(np.int64)
        month = _dates(table["month"], missing=0)
        minute = table["local_minute"].fill_null(-1).to_numpy().astype(np.int32)
        weekday = table["weekday"].fill_null(-1).to_numpy().astype(np.int32)
        slot = (weekday + 1) * _SLOTS + minute + 1
        layer = _code(LAYERS, table["layer"])
        sharing = _code(vocabulary.sharing, table["sharing"])
        category = _code(vocabulary.category, table["category"])
        kinds = len(vocabulary.sharing) * len(vocabulary.category)
        kind = layer * kinds + sharing * len(vocabulary.category) + category
        stratum = (layer * len(vocabulary.sharing) + sharing).astype(np.int64) << _STRATUM_SHIFT
        when = stratum | (night << _SLOT_BITS) | np.where(night == _NO_NIGHT, 0, slot)
        order = np.lexsort((month, when))
        # int64 throughout: through float64 (numpy's way with nulls) a pseudonym would round
        named = table["person"].is_valid().to_numpy(zero_copy_only=False)
        person = table["person"].fill_null(0).to_numpy()
        person_code = np.full(len(person), -1, dtype=np.int64)
        if named.any():
            person_code[named] = pd.Index(vocabulary.people).get_indexer(person[named])
        cells, cell = np.unique(table["cell"].to_numpy(), return_inverse=True)
        timed_nights = night[night != _NO_NIGHT]
        return cls(
            storage_res=storage_res,
            vocabulary=vocabulary,
            when=when[order],
            month=month[order],
            slot=slot.astype(np.int16)[order],
            kind=kind.astype(np.int16)[order],
            person=person_code.astype(np.int32)[order],
            cell=cell.astype(np.int32)[order],
            record_key=table["record_key"].to_numpy().astype(np.uint8)[order],
            cells=cells.astype(np.int64),
            months=np.unique(month).astype(np.int32),
            untimed=np.flatnonzero(minute[order] < 0),
            nights=np.unique(timed_nights),
            months_follow_nights=bool((_month_of(timed_nights) == month[night != _NO_NIGHT]).all()),
        )

    def extend(self, table: pa.Table) -> ResidentCube:
        """Return the cube with the records in ``table`` added."""
        table = table.select(COLUMNS).cast(_SCHEMA)  # as this cube's own (engines differ)
        vocabulary = self.vocabulary.extended(table)
        if len(self) == 0:
            return self._from(table, vocabulary, self.storage_res)
        return self._from(pa.concat_tables([self._table(), table]), vocabulary, self.storage_res)

    def __len__(self) -> int:
        return int(self.when.size)

    # --- answering ---------------------------------------------------------------------------

    def contributions(
        self, f: CubeFilter, *, res: int | None, by: tuple[str, ...] = ()
    ) -> Contributions | None:
        """Return what the store's SQL returns for ``f``: groups of layer, cell, ``by``, person.

        None if the groups are too many kinds to number in one int64 (the SQL answers then).
        """
        unknown = [d for d in by if d not in DIMENSIONS]
        if unknown:
            raise FilterError(f"the resident cube cannot break counts down by {unknown[0]!r}")
        if res is not None and res > self.storage_res:
            raise FilterError(
                f"resolution {res} is finer than this store keeps ({self.storage_res})"
            )
        rows = self._select(f)
        names = ["layer", *by, *(["cell"] if res is not None else []), "person"]
        values: list[Any] = [_LAYER_VALUES]
        values += [self._dimension_values(name) for name in by]
        values += [self._parents_at(res)[0]] if res is not None else []
        values.append(self.vocabulary.people)

        # One number per group: each column's code (+1, so that "missing" is 0) in its own place.
        sizes = [len(v) + 1 for v in values]
        space = math.prod(sizes)
        if space >= 2**62:
            return None
        if by:
            key = np.zeros(rows.size, dtype=np.int64)
            for codes, size in zip(self._codes(rows, names[:-1], res), sizes, strict=False):
                key = key * size + (codes + 1)
        else:  # a map view: all but the person is worked out per row already
            key = self._map_key(res)[rows].astype(np.int64)
        key = key * sizes[-1] + (self.person[rows] + 1)
        keys = self.record_key[rows]
        if space <= max(_DENSE_GROUPS, 8 * rows.size) and rows.size < _PACKED_ROWS:
            # one pass counts both: each record weighs 2**30 plus its key (< 256), and a
            # group's keys sum below 2**30 while it has fewer than 2**22 records (exact in a
            # float64 up to 2**53)
            packed = np.bincount(key, weights=keys + _COUNT_UNIT, minlength=space)
            groups = np.flatnonzero(packed > 0)  # (a bool array's nonzero is the fast one)
            total = packed[groups].astype(np.int64)
            n, keysum = total >> 30, total & ((1 << 30) - 1)
        else:
            groups, inverse = np.unique(key, return_inverse=True)
            n = np.bincount(inverse, minlength=groups.size)
            keysum = np.bincount(inverse, weights=keys, minlength=groups.size)
        codes_of: dict[str, npt.NDArray[np.int64]] = {}
        rest = groups
        for name, size in zip(reversed(names), reversed(sizes), strict=True):
            rest, code = np.divmod(rest, size)
            codes_of[name] = code - 1
        return Contributions(
            keys={
                name: Coded(codes_of[name].astype(np.intp), v, ordered=True)
                for name, v in zip(names, values, strict=True)
                if name not in ("cell", "person")
            },
            cell=None if res is None else self._parents_at(res)[0][codes_of["cell"]],
            person=codes_of["person"],
            n=n.astype(np.int64),
            keysum=keysum.astype(np.int64),
        )

    def unknown_time_count(self, f: CubeFilter) -> int:
        """Return how many records ``f`` leaves out only because their time of night is unknown."""
        if not f.needs_time_of_night:
            return 0
        rows = self.untimed  # the same WHERE as ``f`` without hours and weekdays, on these
        ok = self._kinds_allowed(f)[self.kind[rows]]
        within = self._cells_within(f)
        if within is not None:
            ok &= within[self.cell[rows]]
        if f.date_from is not None or f.date_to is not None:
            lo, hi, first_month = _bounds(f)
            night, month = self.when[rows] >> _SLOT_BITS & _NO_NIGHT, self.month[rows]
            in_months = (month >= first_month) & (month <= hi)
            ok &= in_months & ((night == _NO_NIGHT) | ((night >= lo) & (night <= hi)))
        return int(np.count_nonzero(ok))

    # --- selecting ---------------------------------------------------------------------------

    def _select(self, f: CubeFilter) -> npt.NDArray[np.intp]:
        """Return the rows ``f`` selects (the same WHERE as the store's SQL).

        The layers and sharing levels, nights and hours of a view are runs of the sorted rows,
        found by binary search; categories and the month bound are tested on those rows only.
        """
        voc = self.vocabulary
        strata = _strata(f.layers, f.sharing, voc.sharing)
        slot_ok, starts, stops = _slots(f.hours, f.weekdays)
        dated = f.date_from is not None or f.date_to is not None
        lo, hi, first_month = _bounds(f)

        nights = self.nights
        if dated:
            nights = nights[np.searchsorted(nights, lo) : np.searchsorted(nights, hi, "right")]
        if starts.size == 1 and starts[0] == 0 and stops[0] == slot_ok.size:
            # every time of night: one run of nights per stratum
            low = strata[:, None] | (nights[:1] << _SLOT_BITS)
            high = strata[:, None] | ((nights[-1:] + 1) << _SLOT_BITS)
        else:
            at = strata[:, None] | (nights[None, :] << _SLOT_BITS)
            low, high = at[:, :, None] + starts, at[:, :, None] + stops
        rows = _ranges(
            np.searchsorted(self.when, low.ravel()), np.searchsorted(self.when, high.ravel())
        )
        keep = np.ones(rows.size, dtype=bool)
        if dated and not self.months_follow_nights:
            month = self.month[rows]
            keep &= (month >= first_month) & (month <= hi)

        # month-only rows (last in each stratum, by month): those whose month overlaps the dates
        if not (dated and f.needs_time_of_night):
            untimed = strata | (_NO_NIGHT << _SLOT_BITS)
            a = np.searchsorted(self.when, untimed)
            b = np.searchsorted(self.when, untimed + 1)
            if dated:
                a, b = _within_months(self.month, a, b, first_month, hi)
            tail = _ranges(a, b)
            rows = np.concatenate([rows, tail])
            keep = np.concatenate([keep, slot_ok[self.slot[tail]]])
        if f.categories is not None:
            category_ok = _chosen(voc.category, f.categories)
            keep &= category_ok[self.kind[rows] % max(len(voc.category), 1)]
        within_ok = self._cells_within(f)
        if within_ok is not None:
            keep &= within_ok[self.cell[rows]]
        return rows[keep]

    def _kinds_allowed(self, f: CubeFilter) -> npt.NDArray[np.bool_]:
        voc = self.vocabulary
        layer = _chosen(LAYERS, f.layers)
        sharing = _chosen(voc.sharing, f.sharing)
        category = _chosen(voc.category, f.categories)
        table: npt.NDArray[np.bool_] = (
            layer[:, None, None] & sharing[None, :, None] & category[None, None, :]
        ).ravel()
        return table

    def _cells_within(self, f: CubeFilter) -> npt.NDArray[np.bool_] | None:
        if f.within is None:
            return None
        ok = np.zeros(self.cells.size, dtype=bool)
        for cell in f.within:
            low, high = descendant_range(int(cell), self.storage_res)
            a = np.searchsorted(self.cells, low, side="left")
            b = np.searchsorted(self.cells, high, side="right")
            ok[a:b] = True
        return ok

    # --- dimensions --------------------------------------------------------------------------

    def _codes(
        self, rows: npt.NDArray[np.intp], names: list[str], res: int | None
    ) -> list[npt.NDArray[np.int64]]:
        """Return the codes of ``rows`` in each named column (layer, dimensions, cell)."""
        kinds = len(self.vocabulary.sharing) * len(self.vocabulary.category)
        kind = self.kind[rows].astype(np.int64)
        slot = self.slot[rows].astype(np.int64)
        out = []
        for name in names:
            if name == "layer":
                out.append(_LAYER_CODE[kind // max(kinds, 1)])
            elif name == "hour":
                minute = slot % _SLOTS - 1
                out.append(np.where(minute < 0, -1, minute // 60))
            elif name == "weekday":
                out.append(slot // _SLOTS - 1)
            elif name == "month":
                out.append(np.searchsorted(self.months, self.month[rows]).astype(np.int64))
            elif name == "category":
                out.append(self._category_rank()[kind % max(len(self.vocabulary.category), 1)])
            else:  # the cell at ``res``
                out.append(self._parents_at(res or self.storage_res)[1][self.cell[rows]])
        return out

    def _dimension_values(self, name: str) -> Any:
        """Return a dimension's values, sorted (so that a code is a rank)."""
        if name == "hour":
            return _HOURS
        if name == "weekday":
            return _WEEKDAYS
        if name == "month":
            return self.months.astype("datetime64[D]").astype(object)
        categories = self.vocabulary.category
        return pd.array(sorted(categories), dtype="str")

    def _category_rank(self) -> npt.NDArray[np.int64]:
        """Return each category code's rank among the categories in sorted order."""
        rank = value_ranks(self.vocabulary.category)
        return rank if rank.size else np.zeros(1, dtype=np.int64)  # (no records: code 0)

    def _map_key(self, res: int | None) -> npt.NDArray[np.int32]:
        """Return per row the group key of a view with no dimensions, but for the person."""
        with self._memo_lock:
            return self._map_key_locked(res)

    def _map_key_locked(self, res: int | None) -> npt.NDArray[np.int32]:
        if res not in self._map_keys:
            rows = np.arange(len(self))
            layer = self._codes(rows, ["layer"], res)[0]
            if res is None:
                key = layer + 1
            else:
                parents, codes = self._parents_at(res)
                key = (layer + 1) * (parents.size + 1) + codes[self.cell] + 1
            while len(self._map_keys) >= 2:
                self._map_keys.pop(next(iter(self._map_keys)))
            self._map_keys[res] = key.astype(np.int32)
        return self._map_keys[res]

    def _parents_at(self, res: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Return the distinct parents at ``res`` and each storage cell's index among them."""
        found = self._parents.get(res)
        if found is None:  # (two threads may both work it out: the first one's is kept)
            parents, codes = np.unique(parent_cells(self.cells, res), return_inverse=True)
            found = self._parents.setdefault(res, (parents, codes.astype(np.int64)))
        return found

    def _table(self) -> pa.Table:
        """Return the records as an Arrow table of :data:`COLUMNS` (to extend the cube)."""
        voc = self.vocabulary
        kinds = len(voc.sharing) * len(voc.category)
        kind = self.kind.astype(np.int64)
        minute = self.slot.astype(np.int64) % _SLOTS - 1
        weekday = self.slot.astype(np.int64) // _SLOTS - 1
        people = np.append(voc.people, 0)
        night = self.when >> _SLOT_BITS & _NO_NIGHT
        timed = night != _NO_NIGHT
        return pa.table(
            {
                "layer": pa.array(np.array(LAYERS, dtype=object)[kind // kinds]),
                "sharing": pa.array(
                    np.array(voc.sharing, dtype=object)[kind % kinds // len(voc.category)]
                ),
                "category": pa.array(
                    np.array(voc.category, dtype=object)[kind % len(voc.category)]
                ),
                "person": pa.array(people[self.person], mask=self.person < 0),
                "night": pa.array(night.astype("datetime64[D]"), mask=~timed),
                "local_minute": pa.array(minute.astype(np.int16), mask=minute < 0),
                "weekday": pa.array(weekday.astype(np.int8), mask=weekday < 0),
                "month": pa.array(self.month.astype("datetime64[D]")),
                "cell": pa.array(self.cells[self.cell]),
                "record_key": pa.array(self.record_key.astype(np.int16)),
            }
        )


def _chosen(values: tuple[str, ...], chosen: tuple[str, ...] | None) -> npt.NDArray[np.bool_]:
    """Return, for each of ``values``, whether a filter chose it (None chooses all)."""
    if chosen is None:
        return np.ones(len(values), dtype=bool)
    wanted = set(chosen)
    return np.array([v in wanted for v in values], dtype=bool)


def _month_of(days: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
    """Return the first day of each day's month, in days since 1970."""
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]")
    return month.astype(np.int64).astype(np.int32)


@functools.lru_cache(maxsize=256)
def _strata(
    layers: tuple[str, ...], sharing: tuple[str, ...], sharings: tuple[str, ...]
) -> npt.NDArray[np.int64]:
    """Return the strata (layer and sharing level, shifted into place) a filter keeps."""
    layer_ok, sharing_ok = _chosen(LAYERS, layers), _chosen(sharings, sharing)
    strata = np.flatnonzero((layer_ok[:, None] & sharing_ok[None, :]).ravel())
    out = strata.astype(np.int64) << _STRATUM_SHIFT
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=256)
def _slots(
    hours: HourRange | None, weekdays: tuple[int, ...] | None
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return which slots (weekday and minute) a filter keeps, and the runs of them kept.

    A few hundred filters cover every choice a user clicks through, so each is worked out once.
    """
    minute = np.ones(_SLOTS, dtype=bool)
    if hours is not None and not hours.whole_day:
        minute[0] = False
        minute[1:] = hours.contains(np.arange(MINUTES_PER_DAY))
    weekday = np.ones(8, dtype=bool)
    if weekdays is not None:
        weekday[:] = False
        weekday[[d + 1 for d in weekdays]] = True
    allowed = (weekday[:, None] & minute[None, :]).ravel()
    allowed.setflags(write=False)
    edges = np.diff(np.concatenate([[False], allowed, [False]]).astype(np.int8))
    return allowed, np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _ranges(starts: npt.NDArray[np.intp], stops: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Return the row numbers of the ranges ``[starts[i], stops[i])``, in order."""
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, np.intp)
    ends = np.cumsum(lengths)
    rows: npt.NDArray[np.intp] = np.arange(total) + np.repeat(starts - (ends - lengths), lengths)
    return rows


def _within_months(
    month: npt.NDArray[np.int32],
    starts: npt.NDArray[np.intp],
    stops: npt.NDArray[np.intp],
    first: int,
    last: int,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Narrow each run of month-sorted rows to the months from ``first`` to ``last``."""
    a = np.array(starts, dtype=np.intp)
    b = np.array(stops, dtype=np.intp)
    for i, (start, stop) in enumerate(zip(starts, stops, strict=True)):
        run = month[start:stop]
        a[i] = start + np.searchsorted(run, np.int32(first))
        b[i] = start + np.searchsorted(run, np.int32(last), side="right")
    return a, b


def _bounds(f: CubeFilter) -> tuple[int, int, int]:
    """Return a filter's first night, last night and first month's first day, in days."""
    first = f.date_from or date(1900, 1, 1)
    return _days(first), _days(f.date_to or date(9999, 12, 31)), _days(first.replace(day=1))


def _dates(column: pa.ChunkedArray, *, missing: int) -> npt.NDArray[np.int32]:
    days = column.cast(pa.date32()).cast(pa.int32()).fill_null(missing)
    return np.asarray(days.to_numpy(), dtype=np.int32)
