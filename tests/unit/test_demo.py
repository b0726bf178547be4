"""Tests of streetsafe.demo: the synthetic Southampton dataset."""

from __future__ import annotations

import csv
import datetime
import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import shape

from geo.errors import ConfigError
from geo.layers import SHARING_LEVELS
from geo.nights import localize
from ingest.csvfile import open_table
from ingest.kinds import KINDS, SEVERITIES
from streetsafe.demo import HOTSPOTS, SYNTHETIC_NOTICE, DemoFiles, generate_demo
from streetsafe.resources import data_file
from tests.conftest import ROOT

END = datetime.date(2026, 1, 31)


@pytest.fixture(scope="module")
def demo() -> DemoFiles:
    return generate_demo(end=END)


@pytest.fixture(scope="module")
def frames(demo: DemoFiles) -> dict[str, pd.DataFrame]:
    return {k: _frame(v) for k, v in demo.by_kind().items()}


@pytest.fixture(scope="module")
def boundary() -> shapely.Geometry:
    path = data_file("boundaries", "southampton_lad20_E06000045.geojsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    geom = shapely.union_all([shape(json.loads(line)["geometry"]) for line in lines if line])
    shapely.prepare(geom)
    return geom


def _frame(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def _local(frame: pd.DataFrame) -> pd.DataFrame:
    """The night-time fields of each row's occurred_at: weekday of the night, minute of day."""
    wall = pd.to_datetime(frame["occurred_at"], format="%Y-%m-%d %H:%M")
    assert not localize(wall).in_gap.any()
    night = (wall - pd.Timedelta(hours=12)).dt.normalize()
    return pd.DataFrame(
        {
            "weekday": night.dt.day_of_week,
            "local_minute": wall.dt.hour * 60 + wall.dt.minute,
        }
    )


def _hotspot_share(frames: dict[str, pd.DataFrame], label: str, first: bool) -> float:
    spot = next(h for h in HOTSPOTS if h.label.startswith(label))
    rows = pd.concat([f[["occurred_at", "latitude", "longitude"]] for f in frames.values()])
    rows = rows[rows["latitude"] != ""]
    when = pd.to_datetime(rows["occurred_at"])
    cut = (
        when < pd.Timestamp(2024, 10, 31) if first else when >= pd.Timestamp(2025, 10, 31)
    ).to_numpy()
    lat = rows["latitude"].astype(float).to_numpy()[cut]
    lon = rows["longitude"].astype(float).to_numpy()[cut]
    dy = (lat - spot.lat) * 111_320
    dx = (lon - spot.lon) * 111_320 * np.cos(np.radians(spot.lat))
    return float((np.hypot(dx, dy) < 300).mean())


def test_same_seed_gives_identical_bytes(demo: DemoFiles) -> None:
    again = generate_demo(end=END, seed=2026)
    assert again.by_kind() == demo.by_kind()
    assert again.counts == demo.counts
    other = generate_demo(end=END, seed=7)
    assert other.outreach != demo.outreach


def test_headers_equal_the_templates(demo: DemoFiles) -> None:
    for kind, data in demo.by_kind().items():
        template = data_file("templates", f"{kind}.csv").read_text(encoding="utf-8")
        assert data.decode("utf-8").split("\n", 1)[0] == template.splitlines()[0]
        assert b"\r" not in data
        assert data.endswith(b"\n")
        assert not data.startswith(b"\xef\xbb\xbf")


def test_files_open_with_the_normal_reader(demo: DemoFiles) -> None:
    for kind, data in demo.by_kind().items():
        table = open_table(io.BytesIO(data), source=f"{kind}.csv")
        assert set(table.columns) <= set(KINDS[kind].columns)
        assert set(KINDS[kind].required) <= set(table.columns)
        rows = sum(len(batch) for batch in table.batches())
        assert rows == demo.counts[kind]
        assert table.invalid_rows == 0


def test_volumes_and_record_ids(demo: DemoFiles, frames: dict[str, pd.DataFrame]) -> None:
    assert demo.counts == {"incidents": 2500, "outreach": 7000, "asb": 4000}
    prefixes = {"incidents": "INC", "outreach": "OUT", "asb": "ASB"}
    for kind, frame in frames.items():
        assert len(frame) == demo.counts[kind]
        assert frame["record_id"].is_unique
        assert frame["record_id"].str.fullmatch(rf"DEMO-{prefixes[kind]}-\d{{6}}").all()


def test_values_are_the_kinds_codes(frames: dict[str, pd.DataFrame]) -> None:
    for kind, frame in frames.items():
        assert set(frame["category"]) == set(KINDS[kind].categories)
        assert set(frame["sharing"]) <= set(SHARING_LEVELS) - {"public"}
    inc, out, asb = frames["incidents"], frames["outreach"], frames["asb"]
    assert set(inc["severity"]) == set(SEVERITIES)
    assert set(inc["agency"]) == {"Outreach team", "Police NPT", "Ugly Mugs report"}
    assert set(out["agency"]) == {"Night van", "Foot team"}
    assert set(asb["agency"]) == {"Community safety", "Resident report"}
    assert 0.7 < (out["sharing"] == "outreach_only").mean() < 0.95
    assert (asb["sharing"] == "partners").mean() > 0.8
    assert 0.3 < (inc["sharing"] == "partners").mean() < 0.8


def test_person_refs(frames: dict[str, pd.DataFrame]) -> None:
    out, inc = frames["outreach"], frames["incidents"]
    assert out["person_ref"].str.fullmatch(r"W-\d{3}").all()
    named = inc["person_ref"] != ""
    assert 0.6 < named.mean() < 0.95
    assert inc.loc[named, "person_ref"].str.fullmatch(r"W-\d{3}").all()
    people = set(out["person_ref"]) | set(inc.loc[named, "person_ref"])
    assert 40 <= len(people) <= 50
    assert "person_ref" not in frames["asb"].columns


def test_every_point_inside_the_boundary(
    frames: dict[str, pd.DataFrame], boundary: shapely.Geometry
) -> None:
    with data_file("gazetteer.csv").open(encoding="utf-8") as fh:
        gazetteer = {
            r["name"]: (float(r["latitude"]), float(r["longitude"])) for r in csv.DictReader(fh)
        }
    for kind, frame in frames.items():
        by_place = frame["place"] != ""
        assert (frame.loc[by_place, ["latitude", "longitude"]] == "").all().all()
        assert set(frame.loc[by_place, "place"]) <= set(gazetteer)
        coords = frame[~by_place]
        for col in ("latitude", "longitude"):
            assert coords[col].str.fullmatch(r"-?\d+\.\d{5}").all(), (kind, col)
        lat = coords["latitude"].astype(float).to_numpy()
        lon = coords["longitude"].astype(float).to_numpy()
        assert shapely.contains_xy(boundary, lon, lat).all(), kind
        for place in set(frame.loc[by_place, "place"]):
            plat, plon = gazetteer[place]
            assert shapely.contains_xy(boundary, plon, plat)


def test_some_rows_name_a_place(frames: dict[str, pd.DataFrame]) -> None:
    assert 0.07 < (frames["outreach"]["place"] != "").mean() < 0.13
    assert 0.03 < (frames["incidents"]["place"] != "").mean() < 0.08


def test_no_time_in_the_future_or_in_the_spring_gap(frames: dict[str, pd.DataFrame]) -> None:
    limit = pd.Timestamp(END) + pd.Timedelta(hours=6)
    start = pd.Timestamp(2024, 7, 31, 12)
    for frame in frames.values():
        assert frame["occurred_at"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}").all()
        when = pd.to_datetime(frame["occurred_at"], format="%Y-%m-%d %H:%M")
        assert when.max() <= limit
        assert when.min() >= start
        assert when.is_monotonic_increasing
        _local(frame)  # asserts nothing falls in the spring gap
    with pytest.raises(ConfigError, match="future"):
        generate_demo(end=datetime.date.today() + datetime.timedelta(days=1))


def test_spring_gap_times_are_moved_on() -> None:
    # 30 March 2025 is the last Sunday of March: 01:00-01:59 never happened in Southampton.
    demo = generate_demo(end=datetime.date(2025, 4, 2), months=1, scale=40)
    when = pd.to_datetime(_frame(demo.incidents)["occurred_at"])
    gap_night = when[(when >= pd.Timestamp(2025, 3, 30)) & (when < pd.Timestamp(2025, 3, 30, 6))]
    assert len(gap_night) > 0
    assert not (gap_night.dt.hour == 1).any()
    assert (gap_night.dt.hour == 2).any()


def test_outreach_only_on_outreach_nights(frames: dict[str, pd.DataFrame]) -> None:
    night = _local(frames["outreach"])
    assert set(night["weekday"].astype(int)) == {1, 3, 4, 5}  # Tue, Thu, Fri, Sat
    minute = night["local_minute"].astype(int)
    assert ((minute >= 20 * 60) | (minute < 60)).all()


def test_incidents_peak_late_at_night_and_at_weekends(frames: dict[str, pd.DataFrame]) -> None:
    night = _local(frames["incidents"])
    minute = night["local_minute"].astype(int)
    assert ((minute >= 22 * 60) | (minute < 4 * 60)).mean() > 0.55
    per_weekday = night.groupby("weekday").size()
    weekend = per_weekday.loc[[4, 5]].mean()
    assert weekend > 1.5 * per_weekday.loc[[0, 1, 2, 3, 6]].mean()


def test_asb_has_its_own_day_and_night_pattern(frames: dict[str, pd.DataFrame]) -> None:
    asb = frames["asb"]
    hour = pd.to_datetime(asb["occurred_at"]).dt.hour
    finds = asb["category"].isin(["discarded_needles", "discarded_condoms"])
    assert hour[finds].between(7, 9).mean() > 0.8
    at_night = asb["category"].isin(["soliciting", "kerb_crawling", "noise"])
    assert ((hour[at_night] >= 19) | (hour[at_night] < 4)).mean() > 0.95


def test_activity_drifts(frames: dict[str, pd.DataFrame]) -> None:
    # Hotspot A (Derby Road) fades; hotspot C (Northam) grows.
    assert _hotspot_share(frames, "A", first=False) < 0.6 * _hotspot_share(frames, "A", first=True)
    assert _hotspot_share(frames, "C", first=False) > 2 * _hotspot_share(frames, "C", first=True)


def test_scale_gives_large_files(boundary: shapely.Geometry) -> None:
    demo = generate_demo(end=END, scale=8.0, seed=1)
    assert sum(demo.counts.values()) > 100_000
    out = _frame(demo.outreach)
    assert len(out) == demo.counts["outreach"]
    assert out["record_id"].is_unique
    coords = out[out["latitude"] != ""]
    assert shapely.contains_xy(
        boundary, coords["longitude"].astype(float), coords["latitude"].astype(float)
    ).all()


def test_arguments_are_checked() -> None:
    with pytest.raises(ConfigError):
        generate_demo(end=END, women=0)
    with pytest.raises(ConfigError):
        generate_demo(end=END, months=0)
    with pytest.raises(ConfigError):
        generate_demo(end=END, scale=0)


def test_fewer_women_and_months() -> None:
    demo = generate_demo(end=END, women=5, months=3)
    out = _frame(demo.outreach)
    assert set(out["person_ref"]) <= {f"W-{i:03d}" for i in range(1, 6)}
    assert demo.counts["outreach"] == round(7000 * 3 / 18)


def test_notice_and_no_streamlit() -> None:
    assert "synthetic" in SYNTHETIC_NOTICE.lower()
    code = "import sys, streetsafe.demo; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
