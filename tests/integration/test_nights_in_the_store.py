"""Hour filters in the stores: ranges that wrap midnight count each timed record once."""

from __future__ import annotations

import io

from geo.aggregate import CubeFilter
from geo.nights import parse_hour_range
from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import Store


def test_filters_22_04_and_04_22_count_each_timed_record_once(
    engine_store: Store, ctx: SealContext
) -> None:
    rows = ["occurred_at,latitude,longitude,category,agency"]
    rows += [
        f"2025-05-{d:02d} {h:02d}:{m:02d},50.9112,-1.3931,noise,Resident"
        for d in range(1, 8)
        for h in range(24)
        for m in (0, 29, 59)
    ]
    ingest_file(engine_store, "asb", io.BytesIO("\n".join(rows).encode()), ctx=ctx, source="a.csv")
    night = CubeFilter(hours=parse_hour_range("22-04"))
    day = CubeFilter(hours=parse_hour_range("04-22"))
    n_night = int(engine_store.contributions(night, res=8)["n"].sum())
    n_day = int(engine_store.contributions(day, res=8)["n"].sum())
    assert n_night == 7 * 6 * 3
    assert n_night + n_day == engine_store.record_count() == 7 * 24 * 3


def test_no_weekday_selects_nothing_on_both_engines(engine_store: Store, ctx: SealContext) -> None:
    rows = ["occurred_at,latitude,longitude,category,agency,sharing"]
    rows += [
        f"2025-06-0{d} 23:30,50.9112,-1.3931,noise,Community safety,partners" for d in range(1, 8)
    ]
    ingest_file(engine_store, "asb", io.BytesIO("\n".join(rows).encode()), ctx=ctx, source="a.csv")
    everything = CubeFilter(layers=("asb",))
    nothing = CubeFilter(layers=("asb",), weekdays=())
    assert int(engine_store.contributions(everything, res=8)["n"].sum()) == 7
    assert engine_store.contributions(nothing, res=8).empty  # an empty choice, not an error
    assert engine_store.unknown_time_count(nothing) == 0
