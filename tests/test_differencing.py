"""Differencing attacks on demo data: the noise must defeat most of them, suppression alone none."""

from __future__ import annotations

import io
from datetime import date

import pytest

from bench.differencing import attacks
from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import Store
from streetsafe.demo import generate_demo
from streetsafe.policies import load_policies


@pytest.fixture
def demo_store(store: Store, ctx: SealContext) -> Store:
    files = generate_demo(end=date(2026, 10, 31))
    for kind in ("incidents", "outreach", "asb"):
        ingest_file(store, kind, io.BytesIO(getattr(files, kind)), ctx=ctx, source=f"{kind}.csv")
    return store


@pytest.mark.parametrize("role", ["outreach", "police_npt", "community_safety"])
def test_differencing_rarely_recovers_a_small_count(demo_store: Store, role: str) -> None:
    policy = load_policies()[role]
    noisy = attacks(demo_store, policy)
    plain = attacks(demo_store, policy, perturbed=False)
    targets = sum(a.targets for a in noisy)
    recovered = sum(a.recovered for a in noisy)
    assert targets > 0
    # Without noise every small difference is recovered: the attack is real.
    assert all(a.rate == 1.0 for a in plain if a.targets)
    # With cell-key perturbation the subtraction is right about one time in seven.
    assert recovered / targets < 0.25
