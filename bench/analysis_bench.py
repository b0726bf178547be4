"""Hotspots and the forecast on the demo store: what they cost against the view they are
made from, measured in the same run.

    python -m bench.analysis_bench [--repeats 3]

A demo store (18 months, seed 2026, ending 2026-10-31) is built in a temporary folder. For each
role the baseline is the published view a page already asks for (the partner's release view,
the outreach lead's live view at resolution 9); the hotspot report (Gi*, 9,999 permutations,
the 12-month emerging trend and newly active hexagons) is timed beside it. The forecast's fit is
timed against one pass of building its features (what any forecast must read), and a second
forecast of another night against the first, to show the fit is kept. Prints medians and
ratios; writes bench/results/analysis.json. Absolute times move with the machine's load.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bench import RESULTS
from geo.area import StudyArea
from geo.forecast import features, training_nights
from geo.privacy import RolePolicy
from ingest.pipeline import ingest_file
from store import Store, open_store
from streetsafe import forecast as forecast_service
from streetsafe.demo import generate_demo
from streetsafe.deployment import load_study_area, seal_context
from streetsafe.filters import ReleaseRequest, ViewRequest, parse_request
from streetsafe.hotspots import HotspotParams, hotspot_report
from streetsafe.policies import load_policies
from streetsafe.releases import ReleaseRules, make_releases
from streetsafe.settings import Settings
from streetsafe.views import published_view, release_view

KEY = "5" * 64


def _median(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _hotspot_times(
    store: Store,
    policy: RolePolicy,
    request: ViewRequest | ReleaseRequest,
    *,
    area: StudyArea,
    layer: str,
    params: HotspotParams,
    repeats: int,
) -> tuple[float, float]:
    """Return the medians of the role's view (the baseline) and of its hotspot report."""
    if isinstance(request, ReleaseRequest):
        release = request
        base = _median(lambda: release_view(store, policy, release), repeats)
    else:
        f = request.cube_filter()
        base = _median(lambda: published_view(store, policy, f, res=request.res), repeats)
    report = _median(
        lambda: hotspot_report(store, policy, request, area, layer=layer, params=params), repeats
    )
    return base, report


def main() -> None:
    """Build the demo store, time the analyses against their baselines, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = Settings.from_env({}, pseudonym_key=KEY)
    policies = load_policies()
    area = load_study_area(settings.study_area)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = str(Path(tmp) / "demo.duckdb")
        ctx = seal_context(settings)
        files = generate_demo(end=date(2026, 10, 31))
        with open_store(url, storage_res=10) as store:
            for kind in ("incidents", "outreach", "asb"):
                stream = io.BytesIO(getattr(files, kind))
                ingest_file(store, kind, stream, ctx=ctx, source=f"{kind}.csv", synthetic=True)
            make_releases(store, ReleaseRules.of(settings, date(2026, 11, 23)))
            params = HotspotParams.of(settings)
            for role, layer in (
                ("police_npt", "incident"),
                ("community_safety", "asb"),
                ("outreach", "outreach"),
            ):
                request = parse_request(policies, role=role, layers=layer)
                base, report = _hotspot_times(
                    store,
                    policies[role],
                    request,
                    area=area,
                    layer=layer,
                    params=params,
                    repeats=args.repeats,
                )
                out[f"hotspots/{role}"] = {"view_s": base, "hotspots_s": report}
                print(
                    f"hotspots {role:17} view {base:6.2f} s  hotspots {report:6.2f} s  "
                    f"({report / base:,.0f}x the view)"
                )
            outreach = policies["outreach"]
            panel = forecast_service.panel_of(store, outreach, "outreach", area)
            read = _median(
                lambda: features(panel, training_nights(panel, until=panel.last)), args.repeats
            )
            forecast_service._cache.clear()
            start = time.perf_counter()
            forecast_service.forecast_view(store, outreach, area, night=date(2026, 11, 6))
            first = time.perf_counter() - start
            again = _median(
                lambda: forecast_service.forecast_view(
                    store, outreach, area, night=date(2026, 11, 3)
                ),
                args.repeats,
            )
            out["forecast"] = {"features_s": read, "first_s": first, "again_s": again}
            print(
                f"forecast: features {read:.2f} s; first night (fits both layers) {first:.2f} s "
                f"= {first / read:.1f}x the features; another night {again:.2f} s "
                f"({again / first:.2f}x the first: the fit is kept)"
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "analysis.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
