"""The resident cube answers every cube query exactly as the store's SQL does, and stays current."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from time import monotonic
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.aggregate import Contributions, CubeFilter
from geo.hexes import cells_from_points, parent_cells
from geo.layers import LAYERS
from geo.nights import HourRange
from geo.wards import Areas
from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import BatchInfo, CountSource, ResidentViews, Store, open_store
from store import _postgis as postgis_store
from store import resident as resident_module
from store._schema import ARROW_SCHEMA
from store.cube import DIMENSIONS, ResidentCube
from store.resident import RETRY_LOAD_AFTER_S
from streetsafe.boundaries import load_areas
from streetsafe.policies import load_policies
from streetsafe.settings import DEFAULT_RESIDENT_ROWS, Settings
from streetsafe.views import area_view, published_view
from tests.pg_cluster import PgCluster

SHARING = ("outreach_only", "partners", "public")
CATEGORIES = ("violence", "robbery", "noise", "needles", "welfare check")
FIRST_NIGHT = date(2025, 12, 20)  # the window spans a month end and a year end
NIGHTS = 75


def _records(seed: int, n: int) -> pa.Table:
    """Random sealed records: timed ones, month-only ones, people shared and none named."""
    rng = np.random.default_rng(seed)
    night = np.datetime64(FIRST_NIGHT, "D") + rng.integers(0, NIGHTS, n)
    month_only = rng.random(n) < 0.15
    minute = rng.integers(0, 1440, n)
    no_minute = (rng.random(n) < 0.05) & ~month_only  # a night without a time (not sealed so)
    month = night.astype("datetime64[M]")
    shifted = (rng.random(n) < 0.1) & ~month_only  # a month not the night's (not sealed so)
    month[shifted] += 1
    month = month.astype("datetime64[D]")
    people = rng.integers(-(2**63), 2**63 - 1, 12, dtype=np.int64)  # full 64-bit pseudonyms
    person = people[rng.integers(0, people.size, n)]
    unnamed = rng.random(n) < 0.3
    lat = 50.905 + rng.normal(0, 0.01, n)
    lon = -1.40 + rng.normal(0, 0.015, n)
    return pa.table(
        {
            "key_hi": pa.array(rng.integers(0, 2**62, n, dtype=np.int64)),
            "key_lo": pa.array(np.arange(n, dtype=np.int64)),
            "layer": pa.array(rng.choice(LAYERS, n).tolist()),
            "category": pa.array(rng.choice(CATEGORIES, n).tolist()),
            "agency": pa.array(["test"] * n),
            "sharing": pa.array(rng.choice(SHARING, n).tolist()),
            "severity": pa.nulls(n, pa.int16()),
            "person": pa.array(person, mask=unnamed),
            "occurred_utc": pa.nulls(n, pa.timestamp("us")),
            "night": pa.array(night, pa.date32(), mask=month_only),
            "local_minute": pa.array(minute.astype(np.int16), mask=month_only | no_minute),
            "weekday": pa.array(
                ((night.astype(np.int64) + 3) % 7).astype(np.int8), mask=month_only
            ),
            "month": pa.array(month, pa.date32()),
            "time_flag": pa.nulls(n, pa.string()),
            "cell": pa.array(cells_from_points(lat, lon, 10)),
            "record_key": pa.array(rng.integers(0, 256, n).astype(np.int16)),
        },
        schema=ARROW_SCHEMA,
    )


def _store_with(table: pa.Table, url: str = ":memory:") -> Store:
    store = open_store(url, storage_res=10)
    info = BatchInfo(layer="incident", file_sha256="0" * 64)
    with store.writing(info, key_fingerprint="test") as writer:
        writer.add(table)
    return store


@st.composite
def filters(draw: st.DrawFn, cells: np.ndarray) -> CubeFilter:
    layers = tuple(draw(st.lists(st.sampled_from(LAYERS), min_size=1, max_size=4, unique=True)))
    categories = draw(
        st.none() | st.lists(st.sampled_from(CATEGORIES), max_size=3, unique=True).map(tuple)
    )
    hours = draw(
        st.none()
        | st.tuples(st.integers(0, 1439), st.integers(1, 1440))
        .filter(lambda r: r[0] != r[1] % 1440)
        .map(lambda r: HourRange(*r))
    )
    weekdays = draw(st.none() | st.lists(st.integers(0, 6), max_size=7, unique=True).map(tuple))
    first = draw(st.none() | st.integers(-10, NIGHTS + 10))
    span = draw(st.integers(0, 60))
    last = draw(st.none() | st.just((first or 0) + span))
    within = None
    if cells.size and draw(st.booleans()):
        res = draw(st.integers(7, 10))
        picks = draw(st.lists(st.integers(0, cells.size - 1), min_size=0, max_size=3))
        within = tuple(int(c) for c in parent_cells(cells[picks], res))
    return CubeFilter(
        layers=layers,
        categories=categories,
        hours=hours,
        weekdays=weekdays,
        date_from=None if first is None else FIRST_NIGHT + timedelta(days=first),
        date_to=None if last is None else FIRST_NIGHT + timedelta(days=last),
        sharing=tuple(draw(st.lists(st.sampled_from(SHARING), min_size=1, unique=True))),
        within=within,
    )


def _as_frame(c: Contributions, people: np.ndarray) -> pd.DataFrame:
    """The resident answer in the SQL's shape: values, not codes; pseudonyms, not numbers."""
    out = {name: pd.Series(column.decoded()) for name, column in c.keys.items()}
    if c.cell is not None:
        out["cell"] = pd.Series(c.cell)
    person = pd.array(np.append(people, 0)[c.person], dtype="Int64")
    person[c.person < 0] = pd.NA
    out |= {"person": pd.Series(person), "n": pd.Series(c.n), "keysum": pd.Series(c.keysum)}
    return pd.DataFrame(out)


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({c: "object" for c in frame.columns if c in ("layer", "category")})
    return frame.sort_values(list(frame.columns), ignore_index=True, na_position="last")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400))
def test_the_resident_cube_answers_as_the_stores_sql(
    data: st.DataObject, seed: int, n: int
) -> None:
    table = _records(seed, n)
    store = _store_with(table)
    try:
        cube = ResidentCube.build(table, storage_res=10)
        cells = np.unique(table["cell"].to_numpy())
        for _ in range(4):
            f = data.draw(filters(cells))
            res = data.draw(st.none() | st.integers(6, 10))
            by = tuple(data.draw(st.lists(st.sampled_from(DIMENSIONS), max_size=2, unique=True)))
            answer = cube.contributions(f, res=res, by=by)
            assert answer is not None
            sql = store.contributions(f, res=res, by=by)
            pd.testing.assert_frame_equal(
                _canonical(_as_frame(answer, cube.vocabulary.people)),
                _canonical(sql[list(_as_frame(answer, cube.vocabulary.people).columns)]),
                check_dtype=False,
            )
            assert cube.unknown_time_count(f) == store.unknown_time_count(f)
    finally:
        store.close()


def test_a_cube_built_in_two_steps_equals_one_built_at_once() -> None:
    first, second = _records(1, 300), _records(2, 200)
    once = ResidentCube.build(pa.concat_tables([first, second]), storage_res=10)
    twice = ResidentCube.build(first, storage_res=10).extend(second)
    f = CubeFilter(hours=HourRange(22 * 60, 4 * 60), date_from=FIRST_NIGHT)
    for res, by in ((8, ()), (None, ("month", "category"))):
        a, b = once.contributions(f, res=res, by=by), twice.contributions(f, res=res, by=by)
        assert a is not None
        assert b is not None
        pd.testing.assert_frame_equal(
            _canonical(_as_frame(a, once.vocabulary.people)),
            _canonical(_as_frame(b, twice.vocabulary.people)),
        )
    assert len(twice) == 500


@pytest.fixture
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two URLs of one store: the same embedded file, or the same PostGIS database."""
    if request.param == "embedded":
        yield str(tmp_path / "s.duckdb"), ""
        return
    server: PgCluster = request.getfixturevalue("pg_server")
    with server.fresh_database() as url:
        yield url, url


ENGINES = [
    pytest.param("embedded", id="embedded"),
    pytest.param("postgis", id="postgis", marks=pytest.mark.postgis),
]


def _asb(day: str, n: int, agency: str) -> io.BytesIO:
    rows = ["occurred_at,latitude,longitude,category,agency,sharing"]
    rows += [f"{day} 23:{i % 60:02d},50.9112,-1.3931,noise,{agency},partners" for i in range(n)]
    return io.BytesIO("\n".join(rows).encode())


def _add_second_file(store: Store, other: str, ctx: SealContext) -> None:
    """Commit b.csv: through another connection (PostGIS: any writer), or else the store's own
    (the embedded file has one writing process)."""
    if other:
        with open_store(other, storage_res=10) as writer:
            ingest_file(
                writer, "asb", _asb("2025-11-08", 40, "Resident report"), ctx=ctx, source="b.csv"
            )
    else:
        ingest_file(
            store, "asb", _asb("2025-11-08", 40, "Resident report"), ctx=ctx, source="b.csv"
        )


@contextmanager
def _resident(
    url: str, *, max_rows: int = DEFAULT_RESIDENT_ROWS, background: bool = False
) -> Iterator[tuple[Store, ResidentViews]]:
    """Open the store at ``url`` and its resident views (as the dashboard does)."""
    with (
        open_store(url, storage_res=10) as store,
        ResidentViews(store, max_rows=max_rows, background=background) as views,
    ):
        yield store, views


def _resident_records(views: ResidentViews) -> int | None:
    """Return how many records the resident cube holds (None: no cube)."""
    cube = views.loaded
    return None if cube is None else len(cube)


def _views(store: CountSource) -> list[pd.DataFrame]:
    policy = load_policies()["outreach"]  # live views: what the resident cube serves
    f = CubeFilter(layers=("asb",), hours=HourRange(22 * 60, 4 * 60))
    return [
        published_view(store, policy, f, res=8).cells,
        published_view(store, policy, f, res=None, by=("hour",)).cells,
    ]


@pytest.mark.parametrize("pair", ENGINES, indirect=True)
def test_views_from_memory_follow_every_file_committed(
    pair: tuple[str, str], ctx: SealContext
) -> None:
    url, other = pair
    with _resident(url) as (store, views):
        ingest_file(
            store, "asb", _asb("2025-11-07", 30, "Community safety"), ctx=ctx, source="a.csv"
        )
        before = _views(views)
        assert before[0]["value"].sum() > 0
        assert _resident_records(views) == 30
        _add_second_file(store, other, ctx)
        after = _views(views)
        assert after[0]["value"].sum() > before[0]["value"].sum()
        assert _resident_records(views) == 70
        # a file already stored: its batch adds no records (nothing for the cube to read)
        ingest_file(
            store, "asb", _asb("2025-11-07", 30, "Community safety"), ctx=ctx, source="again.csv"
        )
        for got, had in zip(_views(views), after, strict=True):
            pd.testing.assert_frame_equal(got, had)
    with open_store(url, storage_res=10) as sql_only:
        expected = _views(sql_only)
    for got, want in zip(after, expected, strict=True):
        pd.testing.assert_frame_equal(got, want)


class _HeldLoad:
    """Holds the resident cube's load (on its own thread) until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        extend = ResidentCube.extend

        def held(cube: ResidentCube, table: pa.Table) -> ResidentCube:
            self.started.set()
            assert self.release.wait(30), "the test never released the load"
            return extend(cube, table)

        monkeypatch.setattr(ResidentCube, "extend", held)


@pytest.mark.parametrize("pair", ENGINES, indirect=True)
def test_a_server_answers_from_its_sql_while_the_cube_loads_in_the_background(
    pair: tuple[str, str], ctx: SealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, other = pair
    with open_store(url, storage_res=10) as writer:
        ingest_file(
            writer, "asb", _asb("2025-11-07", 30, "Community safety"), ctx=ctx, source="a.csv"
        )
        expected = _views(writer)
    held = _HeldLoad(monkeypatch)
    with _resident(url, background=True) as (store, views):
        views.warm()
        assert held.started.wait(30)
        got = _views(views)  # answered although the load is held
        assert not views.wait_until_current(timeout=0)
        for a, b in zip(got, expected, strict=True):
            pd.testing.assert_frame_equal(a, b)
        held.release.set()
        assert views.wait_until_current(timeout=30)
        assert _resident_records(views) == 30
        # A file committed later: its views are right at once, then from memory again.
        held.release.clear()
        held.started.clear()
        _add_second_file(store, other, ctx)
        during = _views(views)
        assert held.started.wait(30)
        held.release.set()
        assert views.wait_until_current(timeout=30)
        assert _resident_records(views) == 70
        after = _views(views)
    with open_store(url, storage_res=10) as sql_only:
        want = _views(sql_only)
    assert want[0]["value"].sum() > expected[0]["value"].sum()
    for a, b, c in zip(during, after, want, strict=True):
        pd.testing.assert_frame_equal(a, c)
        pd.testing.assert_frame_equal(b, c)


@pytest.mark.parametrize("pair", ENGINES, indirect=True)
def test_a_file_committed_while_the_cube_loads_is_taken_in_by_the_next_load(
    pair: tuple[str, str], ctx: SealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, other = pair
    with open_store(url, storage_res=10) as writer:
        ingest_file(
            writer, "asb", _asb("2025-11-07", 30, "Community safety"), ctx=ctx, source="a.csv"
        )
    held = _HeldLoad(monkeypatch)
    with _resident(url, background=True) as (store, views):
        views.warm()
        assert held.started.wait(30)  # the load has listed the batches: only a.csv
        _add_second_file(store, other, ctx)
        during = _views(views)
        held.release.set()
        assert views.wait_until_current(timeout=30)  # the first load ends behind; a second follows
        assert _resident_records(views) == 70
        after = _views(views)
    with open_store(url, storage_res=10) as sql_only:
        want = _views(sql_only)
    for a, b, c in zip(during, after, want, strict=True):
        pd.testing.assert_frame_equal(a, c)
        pd.testing.assert_frame_equal(b, c)


def test_a_store_over_the_limit_loads_nothing_in_the_background(
    tmp_path: Path, ctx: SealContext
) -> None:
    url = str(tmp_path / "s.duckdb")
    with open_store(url, storage_res=10) as writer:
        ingest_file(
            writer, "asb", _asb("2025-11-07", 30, "Community safety"), ctx=ctx, source="a.csv"
        )
        expected = _views(writer)
    with _resident(url, max_rows=20, background=True) as (_, views):
        views.warm()
        assert views.wait_until_current(timeout=30) is False
        assert _resident_records(views) is None
        for a, b in zip(_views(views), expected, strict=True):
            pd.testing.assert_frame_equal(a, b)
        assert views._loader is not None
        assert not views._loader.is_alive()  # the views started no other load


def test_a_failed_background_load_leaves_the_views_to_the_sql(
    tmp_path: Path,
    ctx: SealContext,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = str(tmp_path / "s.duckdb")
    with open_store(url, storage_res=10) as writer:
        ingest_file(
            writer, "asb", _asb("2025-11-07", 30, "Community safety"), ctx=ctx, source="a.csv"
        )
        expected = _views(writer)

    extend = ResidentCube.extend

    def broken(cube: ResidentCube, table: pa.Table) -> ResidentCube:
        raise MemoryError("no room for the cube")

    monkeypatch.setattr(ResidentCube, "extend", broken)
    with _resident(url, background=True) as (store, views):
        views.warm()
        assert not views.wait_until_current(timeout=30)
        assert "loading the resident cube" in caplog.text
        assert "no room for the cube" in caplog.text
        for a, b in zip(_views(views), expected, strict=True):
            pd.testing.assert_frame_equal(a, b)
        assert views.wait_until_current(timeout=30) is False

        def failures() -> int:
            return sum("loading the resident cube" in r.getMessage() for r in caplog.records)

        assert failures() == 1  # not again for every view
        ingest_file(
            store, "asb", _asb("2025-11-08", 40, "Resident report"), ctx=ctx, source="b.csv"
        )
        _views(views)  # new data: the load is tried again
        assert views.wait_until_current(timeout=30) is False
        assert failures() == 2
        monkeypatch.setattr(ResidentCube, "extend", extend)  # the cause passes...
        later = monotonic() + RETRY_LOAD_AFTER_S + 1
        monkeypatch.setattr(resident_module, "monotonic", lambda: later)
        assert views.wait_until_current(timeout=30)  # ...and a while later it is tried again
        assert _resident_records(views) == 70


def test_a_store_bigger_than_the_setting_answers_from_its_sql(
    tmp_path: Path, ctx: SealContext
) -> None:
    url = str(tmp_path / "s.duckdb")
    policy = load_policies()["outreach"]  # live views: what the resident cube serves
    f = CubeFilter(layers=("asb",))

    def views(source: CountSource) -> list[pd.DataFrame]:
        return [
            published_view(source, policy, f, res=8).cells,
            area_view(source, policy, f, _wards(), by=("month",)).cells,
        ]

    with _resident(url, max_rows=50) as (store, resident):
        ingest_file(
            store, "asb", _asb("2025-11-07", 30, "Community safety"), ctx=ctx, source="a.csv"
        )
        views(resident)
        assert _resident_records(resident) == 30
        ingest_file(
            store, "asb", _asb("2025-11-08", 40, "Resident report"), ctx=ctx, source="b.csv"
        )
        got = views(resident)
        assert _resident_records(resident) is None  # 70 records: over the limit, memory freed
    with open_store(url, storage_res=10) as sql_only:
        want = views(sql_only)
    assert got[0]["value"].sum() > 0
    for a, b in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(a, b)


def _wards() -> Areas:
    return load_areas(Settings.from_env().wards)


@pytest.mark.postgis
def test_a_postgis_writer_adding_a_month_does_not_wait_for_a_cube_load(
    pg_server: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new month's partition locks the records table whole: the load must not hold it.
    reading, release = threading.Event(), threading.Event()
    readinto = postgis_store._Chunks.readinto

    def held(chunks: postgis_store._Chunks, buffer: Any) -> int:
        reading.set()  # a COPY of the load is open
        assert release.wait(30), "the test never released the load"
        return readinto(chunks, buffer)

    with pg_server.fresh_database() as url:
        # enough records that the server is still sending (its locks held) when the load stops
        _store_with(_records(5, 300_000), url=url).close()
        monkeypatch.setattr(postgis_store._Chunks, "readinto", held)
        with _resident(url, background=True) as (_, views):
            views.warm()
            assert reading.wait(30)
            june = _records(6, 40)  # in a month the store has no partition for yet
            for name, day in (("night", date(2026, 6, 5)), ("month", date(2026, 6, 1))):
                column = pa.array([day] * len(june), pa.date32())
                june = june.set_column(june.schema.get_field_index(name), name, column)
            try:
                with open_store(url, storage_res=10) as writer:
                    writer._execute("SET lock_timeout = '3s'")  # else a conflict waits forever
                    info = BatchInfo(layer="incident", file_sha256="0" * 64)
                    with writer.writing(info, key_fingerprint="test") as adding:
                        adding.add(june)
            finally:
                release.set()
            assert views.wait_until_current(timeout=60)
            assert _resident_records(views) == 300_040


@pytest.mark.postgis
def test_postgis_hands_its_records_over_whole(pg_server: PgCluster) -> None:
    # through COPY as CSV: nulls, full 64-bit pseudonyms, month-only rows and dates intact
    table = _records(7, 500)
    rng = np.random.default_rng(3)
    cells = np.unique(table["cell"].to_numpy())
    queries = (
        (CubeFilter(date_from=FIRST_NIGHT + timedelta(days=10)), 9, ()),
        (CubeFilter(hours=HourRange(22 * 60, 4 * 60), weekdays=(4, 5)), None, ("hour", "month")),
        (CubeFilter(within=tuple(int(c) for c in parent_cells(rng.choice(cells, 3), 8))), 10, ()),
    )
    with pg_server.fresh_database() as url:
        _store_with(table, url=url).close()
        with _resident(url) as (_, views), open_store(url, storage_res=10) as sql_only:
            cube = views.current()
            assert cube is not None
            assert len(cube) == 500
            for f, res, by in queries:
                answer = cube.contributions(f, res=res, by=by)
                assert answer is not None
                mine = _as_frame(answer, cube.vocabulary.people)
                sql = sql_only.contributions(f, res=res, by=by)[list(mine.columns)]
                pd.testing.assert_frame_equal(_canonical(mine), _canonical(sql), check_dtype=False)
                assert views.unknown_time_count(f) == sql_only.unknown_time_count(f)


Ask = tuple[CubeFilter, int | None, tuple[str, ...]]


def _answer(cube: ResidentCube, ask: Ask) -> pd.DataFrame:
    f, res, by = ask
    answer = cube.contributions(f, res=res, by=by)
    assert answer is not None
    return _canonical(_as_frame(answer, cube.vocabulary.people))


def _race(cube: ResidentCube, asks: list[Ask], threads: int = 8) -> dict[int, pd.DataFrame]:
    """Answer ``asks`` from ``cube`` on ``threads`` threads started together."""
    got: dict[int, pd.DataFrame] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            start.wait()
            for i in range(worker, len(asks), threads):
                got[i] = _answer(cube, asks[i])
        except BaseException as exc:  # the test's own thread reports it
            errors.append(exc)

    running = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    assert not errors, errors
    return got


def test_sessions_counting_from_one_cube_at_once_get_what_one_alone_gets() -> None:
    """The dashboard's sessions count from one cube on threads of their own, with no lock (its
    memos of parents and map keys are filled by whoever asks first): every answer is the one a
    single caller gets."""
    table = _records(7, 3_000)
    asks: list[Ask] = [
        (CubeFilter(hours=HourRange(h * 60, ((h + 6) % 24) * 60)), res, by)
        for h in (18, 20, 22, 0)
        for res in (None, 6, 7, 8, 9, 10)
        for by in ((), ("hour",))
    ]
    alone = ResidentCube.build(table, storage_res=10)
    expected = [_answer(alone, ask) for ask in asks]
    for _ in range(3):
        got = _race(ResidentCube.build(table, storage_res=10), asks)  # cold memos: a race
        for i, frame in enumerate(expected):
            pd.testing.assert_frame_equal(got[i], frame)
