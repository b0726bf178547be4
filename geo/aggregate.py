"""The count cube: what a view asks of the store, and the contributions the store answers with.

A view's filter (layers, categories, hour-of-night range, weekdays, dates, sharing levels) goes
to the store, which groups the matching records by (layer, cell at the requested resolution,
person) inside its own SQL and returns one row per group: how many records, and the sum of their
record keys. That frame is small (people x cells, not records) and is everything the privacy gate
needs: distinct people can be counted exactly for any merged set of cells, because the person
column is still there. Nothing in this module talks to a database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from geo.errors import FilterError
from geo.hexes import check_resolution
from geo.nights import HourRange

# Layers as stored (see ingest/kinds.py for their CSV side).
LAYERS = ("incident", "outreach", "asb", "policeuk")
PUBLIC_LAYERS = frozenset({"policeuk"})
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
    sharing: tuple[str, ...] = ("outreach_only", "partners", "public")
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
