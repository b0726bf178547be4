"""The benchmark harness: every speed and memory figure, side by side, in one run.

    python -m bench [--sizes 100000,1000000] [--with-10m] [--engines embedded,postgis]

For each size and engine a fresh process (so its peak memory is its own) generates the same
synthetic records, measures the pure binning limit, ingests them through the real path, and
times the published view against the geopandas and PostGIS baselines; then the dashboard's
rerun and payload are measured at 1M records. ``floor/binning`` is the embedded ingest's floor
(bench/ingest_floor.py): the CSV parse, file hash, binning and store insert alone, the least any
ingest of the same rows could take on this machine. Prints one table and writes
bench/results/summary.json. Figures are ratios or pairs from the same run: absolute times move
with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import RESULTS, ROOT


def _step(*args: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, "-m", "bench.step", *args, "--out", out.name],
            check=True,
            cwd=ROOT,
        )
        return dict(json.loads(Path(out.name).read_text()))


def main() -> None:
    """Run every benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--with-10m", action="store_true", help="also 10,000,000 records")
    parser.add_argument("--engines", default="embedded,postgis")
    parser.add_argument("--baseline-rows", type=int, default=5000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] + ([10_000_000] if args.with_10m else [])
    rows: list[dict[str, Any]] = []
    for size in sizes:
        for engine in args.engines.split(","):
            print(f"… {engine} at {size:,} records", flush=True)
            rows.append(
                _step(
                    "--size",
                    str(size),
                    "--engine",
                    engine,
                    "--baseline-rows",
                    str(args.baseline_rows),
                )
            )
    print("… dashboard at 1,000,000 records", flush=True)
    dashboard = _step("--size", "1000000", "--engine", "embedded", "--dashboard")
    summary = {"steps": rows, "dashboard": dashboard}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _print(rows, dashboard)


def _print(rows: list[dict[str, Any]], dashboard: dict[str, Any]) -> None:
    head = (
        f"{'engine':9} {'records':>11} {'ingest rows/s':>14} {'naive':>9} {'x':>6} "
        f"{'binning/s':>11} {'ingest/binning':>15} {'floor/binning':>14} {'view ms':>8} "
        f"{'sjoin ms':>9} "
        f"{'x':>6} {'hexgrid ms':>11} {'sql view ms':>12} {'1st view ms':>12} {'ckpt s':>7} "
        f"{'peak MiB':>9}"
    )
    print(head)
    for r in rows:
        grid = r.get("st_hexagongrid_ms")
        print(
            f"{r['engine']:9} {r['records']:>11,} {r['ingest_rows_per_s']:>14,} "
            f"{r['naive_rows_per_s']:>9,} {r['ingest_rows_per_s'] / r['naive_rows_per_s']:>6.0f} "
            f"{r['binning_rows_per_s']:>11,} {r['ingest_vs_binning']:>14.1f}x "
            f"{_ratio(r.get('floor_vs_binning')):>14} "
            f"{r['published_view_ms']:>8.1f} {r['geopandas_sjoin_ms']:>9.1f} "
            f"{r['geopandas_sjoin_ms'] / r['published_view_ms']:>6.1f} "
            f"{grid if grid is None else round(grid, 1)!s:>11} "
            f"{r['sql_view_ms']:>12.1f} {r['first_view_ms']:>12.0f} "
            f"{r.get('checkpoint_seconds', 0):>7.2f} {r['peak_mib']:>9,}"
        )
    print(
        f"dashboard at {dashboard['records']:,} records: filter change "
        f"{dashboard['filter_change_median_ms']} ms median, payload "
        f"{dashboard['map_payload_bytes'] / 1024:.0f} KiB, peak {dashboard['peak_mib']:,} MiB"
    )


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


if __name__ == "__main__":
    main()
