"""The count cube: what a view asks of the store, and the contributions the store answers with.

A view's filter (layers, categories, hour-of-night range, weekdays, dates, sharing levels) goes
to the store, which groups the matching records by (layer, cell at the requested resolution,
person) inside its own SQL and returns one row per group: how many records, and the sum of their
record keys. That frame is small (people x cells, not records) and is everything the privacy gate
needs: distinct people can be counted exactly for any merged set of cells, because the person
column is still there. Nothing in this module talks to a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.errors import FilterError
from geo.hexes import check_resolution
from geo.layers import LAYERS, SHARING_LEVELS
from geo.nights import HourRange

COARSEST_RES = 6


@dataclass(frozen=True)
class CubeFilter:
    """Which records a view counts. ``None`` means no restriction on that dimension."""

    layers: tuple[str, ...] = LAYERS
    categories: tuple[str, ...] | None = None
    hours: HourRange | None = None
    weekdays: tuple[int, ...] | None = None
    date_from: date | None = None
    date_to: date | None = None
    sharing: tuple[str, ...] = SHARING_LEVELS
    within: tuple[int, ...] | None = None  # only records inside these H3 cells (any resolution)

    def __post_init__(self) -> None:
        unknown = [layer for layer in self.layers if layer not in LAYERS]
        if unknown:
            raise FilterError(f"unknown layer {unknown[0]!r}; use one of: {', '.join(LAYERS)}")
        if not self.layers:
            raise FilterError("no layer selected")
        if self.weekdays is not None and not set(self.weekdays) <= set(range(7)):
            raise FilterError("weekdays are numbered 0 (Monday) to 6 (Sunday)")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise FilterError(
                f"the date range ends ({self.date_to}) before it starts ({self.date_from})"
            )

    @property
    def needs_time_of_night(self) -> bool:
        """Whether the filter leaves out records whose time of night is unknown (police.uk)."""
        return (self.hours is not None and not self.hours.whole_day) or self.weekdays is not None

    def with_layers(self, layers: tuple[str, ...]) -> CubeFilter:
        """Return the same filter for other layers."""
        return replace(self, layers=layers)


@dataclass(frozen=True)
class CubeQuery:
    """A filter and the H3 resolution to group at (storage resolution down to 6)."""

    filter: CubeFilter
    res: int

    def __post_init__(self) -> None:
        check_resolution(self.res, finest=15, coarsest=COARSEST_RES)


@dataclass(frozen=True)
class Coded:
    """A column as integer codes into its distinct values; code -1 is a missing value.

    ``ordered`` says the values are sorted, so that a code is its value's rank.
    """

    codes: npt.NDArray[np.intp]
    values: pd.api.extensions.ExtensionArray | npt.NDArray[Any]  # distinct, no missing value
    ordered: bool = False

    @classmethod
    def of(cls, column: pd.Series[Any]) -> Coded:
        """Code a frame's column (missing values become -1)."""
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        return cls(np.asarray(codes, dtype=np.intp), pd.Index(uniques).array)

    def decoded(self, rows: npt.NDArray[np.intp] | None = None) -> Any:
        """Return the values of ``rows`` (all rows when None), missing where the code is -1."""
        codes = self.codes if rows is None else self.codes[rows]
        values = self.values
        if isinstance(values, np.ndarray):
            values = pd.array(values)
        missing = codes.size > 0 and int(codes.min()) < 0
        return values.take(codes, allow_fill=True) if missing else values.take(codes)

    def ranks(self, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
        """Return for ``rows`` the rank of their value in sorted order, missing values last."""
        size = len(self.values)
        if self.ordered:
            codes = self.codes[rows]
            return np.where(codes < 0, size, codes).astype(np.int64)
        rank = np.append(value_ranks(self.values), size)  # code -1: after every value
        return rank[self.codes[rows]]


def value_ranks(values: Iterable[Any]) -> npt.NDArray[np.int64]:
    """Return each value's rank in sorted order (a few distinct values: Python sorts them)."""
    listed = list(values)
    order = sorted(range(len(listed)), key=listed.__getitem__)
    rank = np.empty(len(listed), dtype=np.int64)
    rank[order] = np.arange(len(listed))
    return rank


@dataclass(frozen=True)
class Contributions:
    """The store's answer to a cube query: one row per layer x cell x ``by`` values x person.

    ``keys`` holds ``layer`` first, then each ``by`` dimension, as :class:`Coded` columns.
    ``cell`` is at the query's resolution (None for views without a map); ``person`` is a code
    per distinct person (-1 where no person is named: the pseudonyms themselves are not needed
    to count people); ``n`` counts records and ``keysum`` sums their record keys.
    """

    keys: dict[str, Coded]
    cell: npt.NDArray[np.int64] | None
    person: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]
    keysum: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.n.size)

    @property
    def by(self) -> tuple[str, ...]:
        """The dimensions beyond layer and cell."""
        return tuple(self.keys)[1:]

    def layers(self) -> tuple[str, ...]:
        """Return the layers present."""
        layer = self.keys["layer"]
        present = np.flatnonzero(np.bincount(layer.codes + 1, minlength=1)[1:])
        return tuple(str(layer.values[i]) for i in present)

    def take(self, rows: npt.NDArray[np.intp]) -> Contributions:
        """Return the contributions of ``rows`` only."""
        return Contributions(
            keys={name: Coded(c.codes[rows], c.values) for name, c in self.keys.items()},
            cell=None if self.cell is None else self.cell[rows],
            person=self.person[rows],
            n=self.n[rows],
            keysum=self.keysum[rows],
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, by: tuple[str, ...] = ()) -> Contributions:
        """Read a frame of ``layer``, ``cell`` (optional), ``by``, ``person``, ``n``, ``keysum``."""
        missing = [c for c in ("layer", *by, "person", "n", "keysum") if c not in frame.columns]
        if missing:
            raise FilterError(f"contributions lack the column {missing[0]!r}")
        person = Coded.of(frame["person"]).codes.astype(np.int64)
        return cls(
            keys={c: Coded.of(frame[c]) for c in ("layer", *by)},
            cell=frame["cell"].to_numpy(dtype=np.int64) if "cell" in frame.columns else None,
            person=person,
            n=frame["n"].to_numpy(dtype=np.int64),
            keysum=frame["keysum"].to_numpy(dtype=np.int64),
        )
