"""The ingest floor times the library calls on the rows the real ingest stored, file by file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bench.ingest_floor import ingest_floor, stored_files
from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import RECORD_COLUMNS, Store


def _file(path: Path, day: str, n: int, agency: str) -> Path:
    rows = ["occurred_at,latitude,longitude,category,agency,sharing"]
    rows += [f"{day} 23:{i % 60:02d},50.9112,-1.3931,noise,{agency},partners" for i in range(n)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_the_floor_is_measured_on_each_stored_file(
    store: Store, ctx: SealContext, tmp_path: Path
) -> None:
    paths = [_file(tmp_path / "a.csv", "2025-11-07", 300, "Community safety")]
    paths.append(_file(tmp_path / "b.csv", "2025-11-08", 200, "Resident report"))
    for path in paths:
        ingest_file(store, "asb", io.BytesIO(path.read_bytes()), ctx=ctx, source=path.name)
    files = stored_files(store)
    assert [len(t) for t in files] == [300, 200]
    assert all(t.column_names == list(RECORD_COLUMNS) for t in files)

    floor = ingest_floor(paths, files, cores=2)
    parts = [floor[f"{name}_cpu_s"] for name in ("parse", "hash", "binning", "store")]
    assert floor["rows"] == 500
    assert floor["store_wall_s"] > 0  # a DuckDB file was written and committed, file by file
    assert floor["cpu_s"] == pytest.approx(sum(parts), abs=3e-3)
    assert floor["seconds"] == pytest.approx(max(sum(parts) / 2, floor["store_wall_s"]), abs=3e-3)
