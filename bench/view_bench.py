"""Published-view benchmark: how long a filter change takes, per engine and store size.

    python -m bench.view_bench [--sizes 100000,1000000] [--engines embedded,postgis]

Each size is a store loaded with synthetic demo records. A "filter change" is one call of
:func:`streetsafe.views.published_view` (store query + privacy gate) with a new filter: the typical
night view (22-04, Friday and Saturday nights, the last 3 months, resolution 8) and a few of its
neighbours, so no answer is a repeat. Medians are printed; the baseline in the same run is the
whole-store scan of the same filter with the rows pulled into pandas and grouped there.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import RESULTS
from bench.ingest_bench import _context, _engine_url, synthetic_files
from geo.aggregate import CubeFilter
from geo.hexes import parent_cells
from geo.nights import parse_hour_range
from geo.privacy import publish
from ingest.pipeline import ingest_file
from store import ResidentViews, Store, open_store
from store._queries import where
from streetsafe.policies import load_policies
from streetsafe.settings import DEFAULT_RESIDENT_ROWS
from streetsafe.views import published_view, restrict


def typical_filters(last: date) -> list[CubeFilter]:
    """The typical night view and neighbours a user would click through."""
    base = CubeFilter(
        layers=("incident", "asb", "policeuk"),
        hours=parse_hour_range("22-04"),
        weekdays=(4, 5),
        date_from=last - timedelta(days=91),
        date_to=last,
    )
    return [
        base,
        replace(base, hours=parse_hour_range("21-04")),
        replace(base, weekdays=(4,)),
        replace(base, hours=parse_hour_range("23-03")),
        replace(base, date_from=last - timedelta(days=60)),
        replace(base, weekdays=(5, 6)),
    ]


def naive_view(store: Store, f: CubeFilter, res: int) -> Any:
    """Baseline: fetch the matching rows and group them in pandas."""
    clause, params = where(f, storage_res=store.storage_res)
    rows = store.query(
        f"SELECT layer, cell, person, record_key FROM records WHERE {clause}", params
    )
    rows["cell"] = parent_cells(rows["cell"].to_numpy(), res)
    return rows.groupby(["layer", "cell", "person"], dropna=False, as_index=False).agg(
        n=("record_key", "size"), keysum=("record_key", "sum")
    )


def run(sizes: list[int], engines: list[str], repeats: int = 3) -> dict[str, Any]:
    """Run the benchmark and print a table; return the results."""
    policy = load_policies()["police_npt"]
    ctx = _context()
    results: dict[str, Any] = {}
    for size in sizes:
        files = synthetic_files(size)
        for engine in engines:
            with (
                tempfile.TemporaryDirectory() as tmp,
                _engine_url(engine, Path(tmp)) as url,
                open_store(url, storage_res=10) as store,
                ResidentViews(store, max_rows=DEFAULT_RESIDENT_ROWS) as resident,
            ):
                for kind, data in files.items():
                    ingest_file(store, kind, io.BytesIO(data), ctx=ctx, source=kind)
                n = store.record_count()
                last = date.fromisoformat(
                    str(store.query("SELECT max(night) AS d FROM records")["d"].iloc[0])[:10]
                )
                fast, slow = [], []
                for _ in range(repeats):
                    for f in typical_filters(last):
                        t = time.perf_counter()
                        published_view(resident, policy, f, res=8)
                        fast.append(time.perf_counter() - t)
                        t = time.perf_counter()
                        publish(naive_view(store, restrict(f, policy), 8), policy, res=8)
                        slow.append(time.perf_counter() - t)
            key = f"{engine}@{n}"
            med, med_naive = statistics.median(fast), statistics.median(slow)
            results[key] = {
                "records": n,
                "median_ms": round(med * 1000, 1),
                "max_ms": round(max(fast) * 1000, 1),
                "naive_median_ms": round(med_naive * 1000, 1),
                "speed_up": round(med_naive / med, 1),
            }
            print(
                f"{engine:9s} {n:>10,} records: filter change {med * 1000:7.1f} ms median "
                f"({max(fast) * 1000:.1f} max) | pull-and-group {med_naive * 1000:8.1f} ms | "
                f"{med_naive / med:5.1f}x"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "views.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--engines", default="embedded,postgis")
    args = parser.parse_args()
    run([int(s) for s in args.sizes.split(",")], args.engines.split(","))


if __name__ == "__main__":
    main()
