"""The ingest floor: what the libraries cost for these rows before streetsafe does anything.

Any ingest of the files, however written, parses the CSV, hashes each file for the audit trail,
bins the points, and has the store insert and commit the sealed rows. Those four calls are
measured here alone, in the same run as the real ingest, as CPU seconds (as in the harness's
rate, the checkpoint when the store closes is left out; those at a commit count). The embedded
store takes one file at a time on one connection, so its inserts and commits also bound the
time from below however the rest is spread. The floor is then the least wall time any pipeline
of these calls could take on this machine:

    max(sum of the four CPU times / cores, the store's inserts and commits, wall time)

and ``floor / binning`` is the ratio to the pure binning limit that even a pipeline doing no
validation, no time zones, no pseudonyms and no identities would show. What the real ingest
adds on top is everything else it does.

    python -m bench.ingest_floor FOLDER STORE   # FOLDER: the CSV files; STORE: their store
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from geo.hexes import cells_from_points
from ingest.csvfile import BLOCK_SIZE
from store import RECORD_COLUMNS, Store, open_store
from store._duckdb import DuckDBStore
from store._schema import ARROW_SCHEMA

_HASH_CHUNK = 1 << 20


def cpu_seconds(work: Callable[[], object]) -> float:
    """Return the CPU time (every thread of this process) that ``work`` takes."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    work()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _parse(paths: Sequence[Path]) -> None:
    for path in paths:
        with path.open("rb") as fh:
            columns = fh.readline().decode("utf-8-sig").strip().split(",")
            fh.seek(0)
            names = [f"c{i}" for i in range(len(columns))]
            reader = pacsv.open_csv(
                fh,
                read_options=pacsv.ReadOptions(
                    block_size=BLOCK_SIZE, column_names=names, skip_rows=1
                ),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
                ),
            )
            for _ in reader:
                pass


def _hash(paths: Sequence[Path]) -> None:
    for path in paths:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                digest.update(chunk)
        digest.hexdigest()


def _store(files: Sequence[pa.Table]) -> tuple[float, float]:
    """Insert each file's rows into a fresh embedded store, a transaction each: (CPU, wall) s.

    The store is made as the product makes one (its migrations); the rows go in by a plain
    INSERT, without the ingest's check for identities already stored. Timed as the ingest rate
    is: every commit (and the checkpoints DuckDB makes at a commit once its log is big enough),
    not the last checkpoint when the store closes.
    """
    columns = ", ".join(RECORD_COLUMNS)
    with (
        tempfile.TemporaryDirectory() as tmp,
        open_store(str(Path(tmp) / "floor.duckdb"), storage_res=10) as store,
    ):
        if not isinstance(store, DuckDBStore):
            raise TypeError("the floor is the embedded store's")

        def insert() -> None:
            for i, table in enumerate(files):
                store._begin()
                store._con.register("staged", table)
                store._execute(
                    f"INSERT INTO records ({columns}, batch_id) SELECT {columns}, ? FROM staged",
                    [i],
                )
                store._con.unregister("staged")
                store._commit()

        start = time.perf_counter()
        cpu = cpu_seconds(insert)
        return cpu, time.perf_counter() - start


def ingest_floor(
    paths: Sequence[Path], files: Sequence[pa.Table], *, cores: int | None = None
) -> dict[str, Any]:
    """Measure the floor for ``paths`` (CSV files) whose sealed rows are ``files`` (per file).

    ``files`` are the rows the real ingest stored, one table per file, as the store's insert
    is timed on them. The points binned are random ones in Southampton, as many as the rows
    (binning takes the same time wherever they are).
    """
    rows = sum(len(t) for t in files)
    rng = np.random.default_rng(1)
    lat = rng.uniform(50.88, 50.96, rows)
    lon = rng.uniform(-1.47, -1.35, rows)
    cores = cores or len(os.sched_getaffinity(0))
    store_cpu, store_wall = _store(files)
    seconds = {
        "parse": cpu_seconds(lambda: _parse(paths)),
        "hash": cpu_seconds(lambda: _hash(paths)),
        "binning": cpu_seconds(lambda: cells_from_points(lat, lon, 10)),
        "store": store_cpu,
    }
    floor = max(sum(seconds.values()) / cores, store_wall)
    binning = seconds["binning"]  # 0 for a few rows: below the clock's tick
    return {
        "rows": rows,
        "cores": cores,
        **{f"{name}_cpu_s": round(value, 3) for name, value in seconds.items()},
        "store_wall_s": round(store_wall, 3),
        "cpu_s": round(sum(seconds.values()), 3),
        "seconds": round(floor, 3),
        "vs_binning": round(floor / binning, 2) if binning > 0 else None,
    }


def stored_files(store: Store) -> list[pa.Table]:
    """Return the records of ``store``, one table per ingested file, as the ingest loads them."""
    return [
        store.records(RECORD_COLUMNS, [batch]).cast(ARROW_SCHEMA)
        for batch in sorted(store.batches())
    ]


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("store")
    args = parser.parse_args()
    paths = sorted(args.folder.glob("*.csv"))
    with open_store(args.store, storage_res=10, read_only=True) as store:
        files = stored_files(store)
    print(json.dumps(ingest_floor(paths, files), indent=2))


if __name__ == "__main__":
    main()
