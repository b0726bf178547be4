"""The route planner against the greedy baseline, on constructed nights and the demo's, in one run.

    python -m bench.route_bench [--seconds 3] [--scenarios 12] [--no-demo]

Constructed nights: places scattered around a base (Gaussian, about 1 km across, as a town
centre's beats are), each worth something in one or two bands of a 20:00-02:00 shift; three
families: 60 candidate stops for 2 teams on foot (the issue's speed target), 40 stops for 1
team, and 100 stops for 3 vans. The demo: a demo store (18 months ending 2026-10-31, with the
demo services) planned for each night of the forecast's week, 1 and 2 teams on foot. For each
problem the greedy baseline (next best value per minute) and the planner (OR-Tools, from the
greedy plan, ``--seconds`` of guided local search) are run on the same problem and their
covered value compared; every plan is checked against the rules. The planner's wall time is
its answer time (greedy included). Prints medians and ratios; writes bench/results/route.json.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench import RESULTS
from geo.routing import Base, Problem, Stop, StraightLine, greedy, plan, violations

BASE = Base("Drop-in", 50.9050, -1.4000)


@dataclass(frozen=True)
class Family:
    """A kind of constructed night."""

    name: str
    stops: int
    teams: int
    kmh: float
    mode: str


FAMILIES = (
    Family("60 stops, 2 teams on foot", 60, 2, 4.5, "foot"),
    Family("40 stops, 1 team on foot", 40, 1, 4.5, "foot"),
    Family("100 stops, 3 vans", 100, 3, 18.0, "van"),
)


def constructed(family: Family, seed: int) -> Problem:
    """A made-up night of ``family.stops`` candidate stops (seeded)."""
    rng = np.random.default_rng(seed)
    spread = 0.006 if family.mode == "foot" else 0.02
    stops: list[Stop] = []
    place = 0
    while len(stops) < family.stops:
        lat = BASE.lat + rng.normal(0, spread)
        lon = BASE.lon + rng.normal(0, spread * 1.5)
        bands = (
            [(0, 120), (120, 360)]
            if rng.random() < 0.5
            else [[(0, 120), (120, 360)][rng.integers(2)]]
        )
        for b, (opens, closes) in enumerate(bands):
            if len(stops) < family.stops:
                value = float(np.round(rng.gamma(1.5, 0.2), 2)) + 0.05
                stops.append(Stop(f"{place}:{b}", str(place), lat, lon, value, opens, closes))
        place += 1
    travel = StraightLine(family.kmh, 1.3, family.mode)
    return Problem(tuple(stops), BASE, 360, travel, teams=family.teams, dwell=15, gap=60)


def compare(problem: Problem, seconds: float) -> dict[str, Any]:
    """Greedy and the planner on ``problem``: values, visits, the planner's answer time."""
    base = greedy(problem)
    start = time.perf_counter()
    ours = plan(problem, seconds=seconds)
    wall = time.perf_counter() - start
    broken = violations(problem, ours) + violations(problem, base)
    if broken:
        raise AssertionError(f"a plan breaks the rules: {broken[:3]}")
    return {
        "stops": len(problem.stops),
        "teams": problem.teams,
        "greedy": base.value,
        "planner": ours.value,
        "greedy_visits": base.visits,
        "planner_visits": ours.visits,
        "seconds": wall,
    }


def summarise(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One line of the table: totals, the gain, wins and the planner's time."""
    greedy_total = sum(r["greedy"] for r in rows)
    ours_total = sum(r["planner"] for r in rows)
    return {
        "family": name,
        "problems": len(rows),
        "greedy_value": round(greedy_total / len(rows), 3),
        "planner_value": round(ours_total / len(rows), 3),
        "gain": round(ours_total / greedy_total - 1, 4) if greedy_total else 0.0,
        "better": sum(r["planner"] > r["greedy"] + 1e-9 for r in rows),
        "worse": sum(r["planner"] < r["greedy"] - 1e-9 for r in rows),
        "median_seconds": round(statistics.median(r["seconds"] for r in rows), 2),
        "max_seconds": round(max(r["seconds"] for r in rows), 2),
    }


def demo_rows(seconds: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """Plan each night of the demo's forecast week, 1 and 2 teams on foot."""
    from ingest.gazetteer import Gazetteer
    from ingest.pipeline import ingest_file
    from store import open_store
    from streetsafe.demo import generate_demo
    from streetsafe.deployment import load_study_area, seal_context
    from streetsafe.places import place_index
    from streetsafe.policies import load_policies
    from streetsafe.resources import data_file
    from streetsafe.route import RouteRequest, night_route
    from streetsafe.services import load_services
    from streetsafe.settings import Settings

    settings = Settings.from_env({}, pseudonym_key="5" * 64, route_seconds=seconds)
    area = load_study_area(settings.study_area)
    policy = load_policies()["outreach"]
    out: list[tuple[str, list[dict[str, Any]]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = str(Path(tmp) / "demo.duckdb")
        files = generate_demo(end=date(2026, 10, 31))
        with open_store(url, storage_res=10) as store:
            ctx = seal_context(settings)
            for kind in ("incidents", "outreach"):
                stream = io.BytesIO(getattr(files, kind))
                ingest_file(store, kind, stream, ctx=ctx, source=kind, synthetic=True)
            load_services(store, data_file("services_demo.csv"), area)
            names, gazetteer = place_index(store), Gazetteer.load(settings.gazetteer)
            for teams in (1, 2):
                rows = []
                for n in range(7):
                    night = date(2026, 10, 31) + timedelta(days=n)
                    request = RouteRequest(night=night, teams=teams)
                    start = time.perf_counter()
                    route = night_route(
                        store, policy, area, settings, request, gazetteer=gazetteer, names=names
                    )
                    wall = time.perf_counter() - start
                    rows.append(
                        {
                            "stops": len(route.problem.stops),
                            "teams": teams,
                            "greedy": route.plan.baseline,
                            "planner": route.plan.value,
                            "seconds": wall,
                        }
                    )
                    print(f"  demo {night} {teams} team(s): {rows[-1]}", flush=True)
                out.append((f"demo nights, {teams} team(s) on foot", rows))
    return out


def main() -> None:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--scenarios", type=int, default=12)
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    table = []
    for family in FAMILIES:
        rows = []
        for seed in range(1000, 1000 + args.scenarios):  # never the tests' seeds
            rows.append(compare(constructed(family, seed), args.seconds))
        table.append(summarise(family.name, rows))
        print(table[-1], flush=True)
    if not args.no_demo:
        for name, rows in demo_rows(int(args.seconds)):
            table.append(summarise(name, rows))
            print(table[-1], flush=True)
    print()
    print(
        f"{'problems':<34} {'n':>3} {'greedy':>8} {'planner':>8} {'gain':>7} "
        f"{'better':>6} {'worse':>5} {'median s':>8} {'max s':>6}"
    )
    for row in table:
        print(
            f"{row['family']:<34} {row['problems']:>3} {row['greedy_value']:>8.2f} "
            f"{row['planner_value']:>8.2f} {row['gain']:>+7.1%} {row['better']:>6} "
            f"{row['worse']:>5} {row['median_seconds']:>8.2f} {row['max_seconds']:>6.2f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "route.json").write_text(
        json.dumps({"seconds": args.seconds, "rows": table}, indent=1)
    )


if __name__ == "__main__":
    main()
