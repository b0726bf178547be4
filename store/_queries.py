"""The count cube's SQL: one text for both engines (DuckDB and PostgreSQL read it alike)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from geo.aggregate import CubeFilter
from geo.errors import FilterError
from geo.hexes import descendant_range, parent_sql
from geo.layers import CATEGORY_GROUPS
from geo.nights import band_sql, weekday_group_sql
from geo.sun import AFTER_SUNSET, hours_after_sunset_sql


def _category_group_sql() -> str:
    cases = " ".join(
        f"WHEN layer = '{layer}' AND category IN ({', '.join(_quoted(members))}) THEN '{group}'"
        for layer, groups in CATEGORY_GROUPS.items()
        for group, (_, members) in groups.items()
    )
    return f"(CASE {cases} ELSE 'other' END)"


def _quoted(values: tuple[str, ...]) -> list[str]:
    return ["'" + v.replace("'", "''") + "'" for v in values]


# Dimensions a view may break its counts down by, and their SQL. The band, the group of nights
# and the category group are those of partner releases (geo/nights.py, geo/layers.py).
DIMENSIONS = {
    "hour": "CAST(floor(local_minute / 60.0) AS INTEGER)",
    "weekday": "weekday",
    "month": "month",
    "night": "night",  # the date a night is named for (its evening); for forecasts
    "category": "category",
    "band": band_sql(),
    "weekday_group": weekday_group_sql(),
    "category_group": _category_group_sql(),
    # where a record came from, for counting people cautiously in partner releases: its agency,
    # and its pool ('' for the trusted sources; else the partner that supplied it, or for a
    # file from before uploaders were recorded, that file)
    "agency": "agency",
    "pool": (
        "(SELECT CASE WHEN b.trusted THEN '' ELSE COALESCE(b.uploaded_by, "
        "'file ' || CAST(b.id AS TEXT)) END FROM batches b WHERE b.id = batch_id)"
    ),
}


def where(f: CubeFilter, *, storage_res: int) -> tuple[str, list[Any]]:
    """Return the WHERE clause (without the keyword) and its ``?`` parameters for ``f``.

    ``storage_res`` is the store's: "inside these hexagons" becomes cell-id ranges at it, which
    a B-tree on ``cell`` answers directly.
    """
    clauses = [f"layer IN ({_marks(f.layers)})", f"sharing IN ({_marks(f.sharing)})"]
    params: list[Any] = [*f.layers, *f.sharing]
    if f.categories is not None:
        if not f.categories:
            clauses.append("FALSE")
        else:
            clauses.append(f"category IN ({_marks(f.categories)})")
            params += list(f.categories)
    if f.hours is not None and not f.hours.whole_day:
        clauses.append(f"local_minute IS NOT NULL AND {f.hours.sql('local_minute')}")
    if f.weekdays is not None:
        # no weekday at all selects nothing (an empty IN list is not SQL everywhere)
        days = ", ".join(str(int(d)) for d in f.weekdays)
        clauses.append(f"weekday IN ({days})" if days else "FALSE")
    if f.date_from is not None or f.date_to is not None:
        lo = f.date_from or date(1900, 1, 1)
        hi = f.date_to or date(9999, 12, 31)
        if f.needs_time_of_night:
            # Month-only records are out already (no hour, no weekday): a plain, indexable range.
            # The month bound is implied by it; it is stated so that stores partitioned (or
            # zone-mapped) by month skip whole months.
            clauses.append("night BETWEEN ? AND ? AND month BETWEEN ? AND ?")
            params += [lo, hi, lo.replace(day=1), hi]
        else:
            # Nights inside the range; month-only records (police.uk) whose month overlaps it.
            # The leading month bound holds for both and lets a month-partitioned store prune.
            clauses.append(
                "month BETWEEN ? AND ? AND ((night IS NOT NULL AND night BETWEEN ? AND ?) "
                "OR (night IS NULL AND month BETWEEN ? AND ?))"
            )
            params += [lo.replace(day=1), hi, lo, hi, lo.replace(day=1), hi]
    if f.within is not None:
        ranges = [descendant_range(int(c), storage_res) for c in f.within]
        inside = [f"cell BETWEEN {low} AND {high}" for low, high in ranges]
        clauses.append(f"({' OR '.join(inside)})" if inside else "FALSE")
    return " AND ".join(clauses), params


def contributions(
    f: CubeFilter,
    *,
    res: int | None,
    storage_res: int,
    by: tuple[str, ...] = (),
    sun_at: tuple[float, float] | None = None,
) -> tuple[str, list[Any]]:
    """Return the query grouping records by layer, cell at ``res``, ``by`` and person.

    ``sun_at`` (latitude, longitude) is where sunset is reckoned for the ``after_sunset``
    dimension (the study area's centre).
    """
    dimensions = dict(DIMENSIONS)
    if sun_at is not None:  # hours from each night's sunset there: the SQL depends on the place
        dimensions[AFTER_SUNSET] = hours_after_sunset_sql(*sun_at)
    unknown = [d for d in by if d not in dimensions]
    if unknown:
        known = [*DIMENSIONS, AFTER_SUNSET]
        where_sun = " (with the place sunset is reckoned at)" if unknown[0] == AFTER_SUNSET else ""
        raise FilterError(
            f"cannot break counts down by {unknown[0]!r}{where_sun}; use: {', '.join(known)}"
        )
    cols = ["layer"]
    if res is not None:
        cols.append(f"{parent_sql('cell', res)} AS cell")
    cols += [f"{dimensions[d]} AS {d}" for d in by]
    groups = ", ".join(str(i) for i in range(1, len(cols) + 2))
    clause, params = where(f, storage_res=storage_res)
    sql = (
        f"SELECT {', '.join(cols)}, person, count(*) AS n, sum(record_key) AS keysum "
        f"FROM records WHERE {clause} GROUP BY {groups}"
    )
    return sql, params


def unknown_time(f: CubeFilter, *, storage_res: int) -> tuple[str, list[Any]]:
    """Return the query counting records left out only because their time of night is unknown."""
    relaxed = replace(f, hours=None, weekdays=None)
    clause, params = where(relaxed, storage_res=storage_res)
    return f"SELECT count(*) AS n FROM records WHERE {clause} AND local_minute IS NULL", params


def batch_records(columns: Sequence[str], batches: Sequence[int], table: str = "records") -> str:
    """Return the query for ``columns`` of the records of ``batches`` (ids: whole numbers).

    ``table`` is the records table or (PostGIS) one of its partitions, by its catalogue name.
    """
    ids = ", ".join(str(int(b)) for b in batches)
    return f"SELECT {', '.join(columns)} FROM {table} WHERE batch_id IN ({ids})"


def _marks(values: tuple[Any, ...]) -> str:
    return ", ".join("?" for _ in values)
