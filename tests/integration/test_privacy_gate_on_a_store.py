"""The gate over a real store: records shared with outreach only never reach partner views."""

from __future__ import annotations

import io
from pathlib import Path

from geo.aggregate import CubeFilter
from store import open_store
from streetsafe.deployment import seal_context
from streetsafe.policies import load_policies
from streetsafe.settings import Settings
from streetsafe.views import published_view


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
    with open_store(settings.store, storage_res=10) as store:
        ingest_file(
            store, "incidents", io.BytesIO("\n".join(rows).encode()), ctx=ctx, source="i.csv"
        )
        seen = {
            role: published_view(
                store,
                policies[role],
                CubeFilter(layers=("incident",)),
                res=policies[role].finest_res,
            )
            for role in ("outreach", "police_npt", "community_safety")
        }
    assert seen["outreach"].total >= 200
    for role in ("police_npt", "community_safety"):
        assert seen[role].cells.empty, role
        assert seen[role].suppressed_records == 1  # the one partners record, alone: held back
