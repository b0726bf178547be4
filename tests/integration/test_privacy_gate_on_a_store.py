"""The gate over a real store: records shared with outreach only never reach partner views."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from geo.aggregate import CubeFilter
from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import Store, open_store
from streetsafe.deployment import seal_context
from streetsafe.filters import ReleaseRequest
from streetsafe.policies import load_policies
from streetsafe.releases import ReleaseRules, make_releases
from streetsafe.settings import Settings
from streetsafe.views import published_view, release_view


def test_outreach_only_records_never_reach_police_or_council_views(tmp_path: Path) -> None:
    # Many women, all outreach_only, in one street: outreach sees them; no one else sees a trace,
    # not even through a roll-up or in a total.
    from ingest.pipeline import ingest_file
    from tests.conftest import TEST_KEY

    settings = Settings.from_env({}, store=str(tmp_path / "s.duckdb"), pseudonym_key=TEST_KEY)
    ctx = seal_context(settings)
    rows = ["occurred_at,latitude,longitude,category,severity,agency,person_ref,sharing"]
    rows += [
        f"2025-05-0{d} 23:{m:02d},50.9112,-1.3931,violence,high,Outreach,W-{m},outreach_only"
        for d in range(1, 8)
        for m in range(30)
    ]
    rows += ["2025-05-02 23:10,50.9112,-1.3931,violence,high,Police NPT,P-1,partners"]
    policies = load_policies()
    rules = ReleaseRules(date(2025, 7, 1), 7)  # May 2025 has closed and been released
    with open_store(settings.store, storage_res=10) as store:
        ingest_file(
            store, "incidents", io.BytesIO("\n".join(rows).encode()), ctx=ctx, source="i.csv"
        )
        make_releases(store, rules)
        outreach = published_view(
            store, policies["outreach"], CubeFilter(layers=("incident",)), res=9
        )
        partners = {
            role: [
                release_view(store, policies[role], request, by=by, with_cells=cells)
                for by, cells in (((), True), (("band",), False), (("month",), False))
            ]
            for role in ("police_npt", "community_safety")
            for request in [ReleaseRequest(role, 8, ("incident",))]
        }
        stored = store.release_values(list(store.release_ids().values()))
    assert outreach.total >= 200
    for role, views in partners.items():
        assert all(view.cells.empty for view in views), role  # map, trends, months: nothing
    # the release itself holds the one partners record alone, too few to show: no trace of the
    # 210 outreach-only ones, not even in the area-wide figures
    assert stored["people"].max() == 1


def test_partners_see_every_released_month_whatever_it_holds(
    engine_store: Store, ctx: SealContext
) -> None:
    """Which months are listed says nothing about the records: a month of outreach-only
    records, a month with no records at all and a month with records partners see are listed
    alike, and a month's note is the same whatever it holds."""
    header = "occurred_at,latitude,longitude,category,severity,agency,person_ref,sharing"
    rows = [
        "2025-05-02 23:10,50.9112,-1.3931,violence,high,Police NPT,P-1,partners",
        "2025-07-02 23:10,50.9112,-1.3931,violence,high,Outreach team,W-1,outreach_only",
    ]
    data = io.BytesIO("\n".join([header, *rows]).encode())
    ingest_file(engine_store, "incidents", data, ctx=ctx, source="i.csv")
    made = make_releases(engine_store, ReleaseRules(date(2025, 9, 1), 7))
    assert [m for m, _, _ in made] == [date(2025, 5, 1), date(2025, 6, 1), date(2025, 7, 1)]
    police = load_policies()["police_npt"]
    notes = []
    for month in (date(2025, 5, 1), date(2025, 6, 1), date(2025, 7, 1)):
        request = ReleaseRequest("police_npt", 8, ("incident",), month, month)
        view = release_view(engine_store, police, request)
        assert view.cells.empty  # one woman: under k
        notes.append(view.notes[0].replace(f"{month:%Y-%m}", "M"))
        assert view.release == f"{month:%Y-%m}/partners/r8/v1"
    assert len(set(notes)) == 1
    after = ReleaseRequest("police_npt", 8, ("incident",), date(2025, 8, 1), date(2025, 8, 1))
    assert release_view(engine_store, police, after).notes[-1] == (
        "months after 2025-07 are not released yet"
    )
