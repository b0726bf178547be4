"""Undoing the last upload takes back exactly that file, on both engines, and every view that
answers from memory or a cache notices."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from geo.aggregate import CubeFilter
from geo.errors import UndoError
from ingest.pipeline import IngestSummary, Uploader, ingest_file
from ingest.seal import SealContext
from store import ResidentViews, Store, open_store
from streetsafe.demo import generate_demo
from streetsafe.messages import user_message
from streetsafe.policies import load_policies
from tests.conftest import POLICEUK_HAMPSHIRE

VAN = Uploader("Night van", trusted=True, agency="Night van")
COUNCIL = Uploader("Community safety", trusted=False, agency="Community safety")
# the agency is left empty: every row is stamped with the uploader's
INCIDENTS = "record_id,occurred_at,latitude,longitude,category,severity,person_ref,sharing,agency"
ASB = "occurred_at,latitude,longitude,category,sharing,agency"


def _incidents(prefix: str, n: int, day: str = "2025-11-07") -> io.BytesIO:
    rows = [
        f"{prefix}-{i},{day} 23:{i % 60:02d},50.9112,-1.3931,violence,high,W-{i % 4},partners,"
        for i in range(n)
    ]
    return io.BytesIO("\n".join([INCIDENTS, *rows]).encode())


def _asb(n: int) -> io.BytesIO:
    rows = [f"2025-11-08 22:{i % 60:02d},50.9060,-1.3990,noise,partners," for i in range(n)]
    return io.BytesIO("\n".join([ASB, *rows]).encode())


def _upload(
    store: Store, ctx: SealContext, kind: str, data: io.BytesIO, who: Uploader
) -> IngestSummary:
    return ingest_file(store, kind, data, ctx=ctx, source=f"{kind}.csv", uploader=who)


def _per_layer(store: Store) -> dict[str, int]:
    frame = store.query("SELECT layer, count(*) AS n FROM records GROUP BY layer")
    return {str(layer): int(n) for layer, n in zip(frame["layer"], frame["n"], strict=True)}


def _batch_ids(store: Store) -> list[int]:
    return sorted(store.batches())


@pytest.fixture
def uploads(engine_store: Store, ctx: SealContext) -> dict[str, IngestSummary]:
    """The operator's police.uk file, then the van's earlier and latest files, then the
    council's: the van's latest is the one to undo."""
    store = engine_store
    return {
        "police": ingest_file(store, "policeuk", str(POLICEUK_HAMPSHIRE), ctx=ctx),
        "earlier": _upload(store, ctx, "incidents", _incidents("E", 12), VAN),
        "latest": _upload(store, ctx, "incidents", _incidents("L", 30, "2025-11-09"), VAN),
        "council": _upload(store, ctx, "asb", _asb(9), COUNCIL),
    }


def test_undo_takes_back_exactly_the_last_upload(
    engine_store: Store, ctx: SealContext, uploads: dict[str, IngestSummary]
) -> None:
    store, latest = engine_store, uploads["latest"]
    before = _per_layer(store)
    assert before["incident"] == 42
    last = store.last_upload("Night van")
    assert last is not None
    assert (last.batch_id, last.layer, last.accepted) == (latest.batch_id, "incident", 30)
    assert store.undo_upload(latest.batch_id or 0, uploaded_by="Night van") == 30
    after = _per_layer(store)
    # the earlier file's records, the council's and police.uk's are all still there
    assert after == {**before, "incident": 12}
    assert store.query("SELECT count(*) AS n FROM records WHERE night = '2025-11-09'")["n"][0] == 0
    assert latest.batch_id not in store.batches()
    # the earlier file is now the van's last, and may be undone in its turn
    earlier = store.last_upload("Night van")
    assert earlier is not None
    assert earlier.batch_id == uploads["earlier"].batch_id


def test_an_undone_file_can_be_sent_again(
    engine_store: Store, ctx: SealContext, uploads: dict[str, IngestSummary]
) -> None:
    """Its records' identities go with them: corrected and sent again, it all goes in."""
    store = engine_store
    store.undo_upload(uploads["latest"].batch_id or 0, uploaded_by="Night van")
    again = _upload(store, ctx, "incidents", _incidents("L", 30, "2025-11-09"), VAN)
    assert (again.accepted, again.duplicates) == (30, 0)
    assert _per_layer(store)["incident"] == 42


@pytest.mark.parametrize(
    ("which", "who", "message"),
    [
        ("missing", "Night van", "there is no upload"),
        ("latest", "Community safety", "made by someone else: only its uploader may undo it"),
        ("earlier", "Night van", "is not Night van's latest (a later upload of Night van"),
        ("police", "Night van", "made by someone else"),
    ],
    ids=["no-such-upload", "another-uploaders", "not-the-latest", "the-operators"],
)
def test_undo_is_refused_and_changes_nothing(
    engine_store: Store,
    uploads: dict[str, IngestSummary],
    which: str,
    who: str,
    message: str,
) -> None:
    store = engine_store
    batch = 9999 if which == "missing" else uploads[which].batch_id or 0
    layers, batches, version = _per_layer(store), _batch_ids(store), store.data_version()
    with pytest.raises(UndoError, match=re.escape(message)) as refused:
        store.undo_upload(batch, uploaded_by=who)
    assert user_message(refused.value).startswith("cannot undo: ")
    owner = {"latest": "Night van", "police": "operator"}.get(which, who)
    assert owner == who or owner not in str(refused.value)  # whose it is, is not said
    others = {str(u.batch_id) for u in uploads.values()} - {str(batch)}
    assert not others & set(re.findall(r"\d+", str(refused.value)))  # nor which came after
    assert (_per_layer(store), _batch_ids(store), store.data_version()) == (
        layers,
        batches,
        version,
    )


def test_an_upload_is_undone_once(engine_store: Store, uploads: dict[str, IngestSummary]) -> None:
    store, batch = engine_store, uploads["council"].batch_id or 0
    assert store.undo_upload(batch, uploaded_by="Community safety") == 9
    with pytest.raises(UndoError, match="there is no upload"):
        store.undo_upload(batch, uploaded_by="Community safety")
    assert store.last_upload("Community safety") is None


def test_the_summary_names_the_batch_it_committed(
    engine_store: Store, uploads: dict[str, IngestSummary]
) -> None:
    ids = [summary.batch_id for summary in uploads.values()]
    assert ids == _batch_ids(engine_store)
    assert uploads["council"].as_json()["batch_id"] == ids[-1]


def test_the_data_version_never_returns_to_a_value_it_had(
    engine_store: Store, ctx: SealContext, uploads: dict[str, IngestSummary]
) -> None:
    """Caches keyed by it (the forecast's fit, the dashboard's views) must not serve the
    records of an undone file, even after a file of as many records takes its place."""
    store = engine_store
    version, token = store.data_version(), store.data_token()
    store.undo_upload(uploads["latest"].batch_id or 0, uploaded_by="Night van")
    assert store.data_token() != token
    _upload(store, ctx, "incidents", _incidents("M", 30, "2025-11-10"), VAN)
    assert store.data_version()[:2] == version[:2]  # as many files and records as before...
    assert store.data_version() != version  # ...and yet another version
    assert store.data_token() != token


def _incident_cells(views: ResidentViews | Store) -> pd.DataFrame:
    """Records and record keys per hexagon (people are coded differently by each source)."""
    counts = views.cube(CubeFilter(layers=("incident",)), res=9, by=("weekday",))
    frame = pd.DataFrame({"cell": counts.cell, "n": counts.n, "keysum": counts.keysum})
    return frame.groupby("cell", as_index=False).sum()


def test_views_from_memory_drop_the_undone_records(
    engine_store: Store, uploads: dict[str, IngestSummary]
) -> None:
    store = engine_store
    with ResidentViews(store, max_rows=1_000_000) as views:
        assert views.current() is not None
        held = len(views.loaded or [])
        assert int(_incident_cells(views)["n"].sum()) == 42
        store.undo_upload(uploads["latest"].batch_id or 0, uploaded_by="Night van")
        assert int(_incident_cells(views)["n"].sum()) == 12
        assert len(views.loaded or []) == held - 30
        pd.testing.assert_frame_equal(_incident_cells(views), _incident_cells(store))


def test_the_forecast_is_fitted_again_without_an_undone_file(
    tmp_path: Path, ctx: SealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fit is kept per data version: an undone file's records must leave it too."""
    from streetsafe import forecast as service

    monkeypatch.setattr(service, "fit", lambda panel: object())  # the panel is what is kept
    policy, area = load_policies()["outreach"], ctx.study_area
    outreach = generate_demo(end=date(2026, 10, 31), scale=0.05).outreach
    with open_store(str(tmp_path / "f.duckdb"), storage_res=10) as store:
        ingest_file(store, "outreach", io.BytesIO(outreach), ctx=ctx, synthetic=True)
        before, _ = service.fitted(store, policy, "outreach", area)
        rows = ["occurred_at,latitude,longitude,category,agency,person_ref,sharing"]
        rows += [f"2026-10-2{d} 22:10,50.9052,-1.3962,naloxone,,N-{d},partners" for d in range(8)]
        sent = _upload(store, ctx, "outreach", io.BytesIO("\n".join(rows).encode()), VAN)
        assert sent.accepted == 8
        with_file, _ = service.fitted(store, policy, "outreach", area)
        assert with_file.counts.sum() == before.counts.sum() + 8
        store.undo_upload(sent.batch_id or 0, uploaded_by="Night van")
        after, _ = service.fitted(store, policy, "outreach", area)
        assert after is not with_file
        assert after.counts.sum() == before.counts.sum()
