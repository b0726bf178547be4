"""Ingest benchmark: rows/s of the real ingest path per engine, beside a naive baseline.

The baseline is what a first attempt looks like: parse each row, convert its point with
``h3.latlng_to_cell`` one at a time, and INSERT it on its own. It runs on a sample (it is slow)
in the same run, on the same machine, so the printed ratio is what matters; absolute times
vary with the machine's load.

    python -m bench.ingest_bench [--rows N] [--baseline-rows N] [--engines embedded,postgis]

PostGIS runs against ``STREETSAFE_BENCH_DATABASE_URL`` if set, else a throwaway cluster.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import h3

from bench import RESULTS, ROOT
from geo.errors import StreetsafeError
from ingest.pipeline import IngestJob, ingest_files
from ingest.seal import SealContext
from store import Store, open_store
from streetsafe.demo import generate_demo
from streetsafe.deployment import seal_context
from streetsafe.settings import Settings

KINDS = ("incidents", "outreach", "asb")


BENCH_KEY = "be" * 32  # a fixed pseudonym key, not a secret: benchmarks seal synthetic rows


def _context() -> SealContext:
    """The sealing context of a default deployment (Southampton, res 10), with a fixed key."""
    return seal_context(Settings.from_env({}, pseudonym_key=BENCH_KEY))


def synthetic_files(rows: int) -> dict[str, bytes]:
    """Return demo CSV files of the three kinds totalling about ``rows`` rows."""
    files = generate_demo(end=date(2026, 10, 31), scale=rows / 13_500)
    return {kind: getattr(files, kind) for kind in KINDS}


@contextmanager
def _engine_url(engine: str, workdir: Path) -> Iterator[str]:
    if engine == "embedded":
        yield str(workdir / "bench.duckdb")
        return
    import os

    url = os.environ.get("STREETSAFE_BENCH_DATABASE_URL")
    if url:
        yield url
        return
    from tests.pg_cluster import pg_cluster

    with pg_cluster() as cluster, cluster.fresh_database() as db_url:
        yield db_url


def bench_ingest(store: Store, files: dict[str, bytes], ctx: SealContext) -> tuple[int, float]:
    """Ingest every file through the real path; return (rows accepted, seconds)."""
    jobs = [IngestJob(kind, io.BytesIO(data), f"bench-{kind}.csv") for kind, data in files.items()]
    start = time.perf_counter()
    accepted = ingest_all(store, jobs, ctx)
    return accepted, time.perf_counter() - start


def ingest_all(store: Store, jobs: list[IngestJob], ctx: SealContext) -> int:
    """Ingest the files in one run, as ``streetsafe ingest`` does; return the rows accepted."""
    accepted = 0
    for result in ingest_files(store, jobs, ctx=ctx):
        if isinstance(result, StreetsafeError):
            raise result
        accepted += result.accepted
    return accepted


def bench_naive(store: Store, data: bytes, rows: int) -> tuple[int, float]:
    """Row-by-row: parse, ``h3.latlng_to_cell`` per point, one INSERT per row."""
    reader = csv.DictReader(io.StringIO(data.decode()))
    sample = [r for r, _ in zip(reader, range(rows * 2), strict=False) if r["latitude"]][:rows]
    sql = (
        "INSERT INTO records (key_hi, key_lo, layer, category, agency, sharing, month, cell, "
        "record_key, batch_id) VALUES (?, ?, 'asb', ?, ?, 'partners', ?, ?, 0, 0)"
    )
    store._begin()
    if store.engine == "postgis":  # the naive loader needs its months' partitions too
        from store._postgis import partition_statements

        months = {date.fromisoformat(r["occurred_at"][:7] + "-01") for r in sample}
        for statement in partition_statements(sorted(months)):
            store._execute(statement)
    store._execute(
        "INSERT INTO batches (id, layer, source, file_sha256, ingested_at) "
        "VALUES (0, 'asb', 'naive', '', now())"
    )
    start = time.perf_counter()
    for i, row in enumerate(sample):
        lat, lon = float(row["latitude"]), float(row["longitude"])
        cell = h3.str_to_int(h3.latlng_to_cell(lat, lon, 10))
        month = date.fromisoformat(row["occurred_at"][:7] + "-01")
        params: list[Any] = [i, -i - 1, row["category"], row["agency"], month, cell]
        store._execute(sql, params)
    store._commit()
    return len(sample), time.perf_counter() - start


def run(rows: int, baseline_rows: int, engines: list[str]) -> dict[str, Any]:
    """Run the benchmark; return the results (also printed)."""
    ctx = _context()
    t0 = time.perf_counter()
    files = synthetic_files(rows)
    generated = time.perf_counter() - t0
    total_rows = sum(data.count(b"\n") - 1 for data in files.values())
    print(f"generated {total_rows:,} synthetic rows in {generated:.1f} s")
    results: dict[str, Any] = {"rows": total_rows, "engines": {}}
    for engine in engines:
        with tempfile.TemporaryDirectory() as tmp:
            with _engine_url(engine, Path(tmp)) as url, open_store(url, storage_res=10) as store:
                accepted, seconds = bench_ingest(store, files, ctx)
            naive_dir = Path(tmp) / "naive"
            naive_dir.mkdir()
            with _engine_url(engine, naive_dir) as url, open_store(url, storage_res=10) as store:
                n, naive_seconds = bench_naive(store, files["asb"], baseline_rows)
        fast, slow = accepted / seconds, n / naive_seconds
        results["engines"][engine] = {
            "accepted": accepted,
            "seconds": round(seconds, 2),
            "rows_per_s": round(fast),
            "naive_rows": n,
            "naive_rows_per_s": round(slow),
            "speed_up": round(fast / slow, 1),
        }
        print(
            f"{engine:9s} ingest {fast:12,.0f} rows/s ({accepted:,} rows in {seconds:.1f} s)"
            f" | naive {slow:9,.0f} rows/s ({n:,} rows) | {fast / slow:6.1f}x"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "ingest.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")
    return results


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--engines", default="embedded,postgis")
    args = parser.parse_args()
    run(args.rows, args.baseline_rows, args.engines.split(","))


if __name__ == "__main__":
    main()
