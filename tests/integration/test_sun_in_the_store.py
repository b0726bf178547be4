"""Hours after sunset in both stores' SQL: the same hours as the reference, season by season."""

from __future__ import annotations

import io
from datetime import datetime

import duckdb
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.aggregate import CubeFilter
from geo.sun import AFTER_SUNSET, hours_after_sunset, hours_after_sunset_sql, sunset_minutes
from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import Store

SOUTHAMPTON = (50.9097, -1.4044)


_instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(_instants, st.integers(0, 1)), min_size=1, max_size=20),
    st.floats(-60, 60),
    st.floats(-180, 180),
)
def test_the_store_sql_gives_the_reference_hours(
    rows: list[tuple[datetime, int]], latitude: float, longitude: float
) -> None:
    utc = np.array([t for t, _ in rows], dtype="datetime64[s]")
    # the night: the same date, or the one before (small hours belong to the previous evening)
    nights = utc.astype("datetime64[D]") - np.array([back for _, back in rows])
    want = hours_after_sunset(utc, nights, latitude, longitude)
    since_midnight = (utc - nights.astype("datetime64[s]")).astype(np.int64) / 60.0
    unrounded = (since_midnight - sunset_minutes(nights, latitude, longitude)) / 60.0
    con = duckdb.connect()
    con.execute("CREATE TABLE records (occurred_utc TIMESTAMP, night DATE)")
    con.executemany(
        "INSERT INTO records VALUES (?, ?)",
        [(t.item(), d.item()) for t, d in zip(utc, nights, strict=True)],
    )
    sql = hours_after_sunset_sql(latitude, longitude)
    got = [row[0] for row in con.execute(f"SELECT {sql} FROM records").fetchall()]
    # equal, except where a time sits within a rounding error of a whole hour from sunset
    clear = np.abs(unrounded - np.round(unrounded)) > 1e-6
    assert (
        clear.any()
    )  # (a time a whole hour from sunset, to the microsecond, is all but impossible)
    assert np.array_equal(np.array(got)[clear], want[clear])


def test_counts_by_hours_after_sunset_follow_the_season(
    engine_store: Store, ctx: SealContext
) -> None:
    # 21:30 local is five and a half hours after sunset in December, minutes after it in June
    rows = ["occurred_at,latitude,longitude,category,agency"]
    for day in ("2025-12-05", "2025-12-12", "2025-06-13", "2025-06-20"):
        rows += [f"{day} 21:30,50.9112,-1.3931,noise,Resident report" for _ in range(3)]
    data = io.BytesIO("\n".join(rows).encode())
    ingest_file(engine_store, "asb", data, ctx=ctx, source="a.csv")
    cube = engine_store.contributions(
        CubeFilter(), res=None, by=(AFTER_SUNSET,), sun_at=SOUTHAMPTON
    )
    by_hour = cube.groupby(AFTER_SUNSET, dropna=False)["n"].sum()
    assert by_hour.to_dict() == {0: 6, 5: 6}
