"""Differencing attacks on demo data: the noise must defeat most of them, suppression alone none."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest

from bench.differencing import attacks
from ingest.pipeline import ingest_file
from store import Store, open_store
from streetsafe.demo import generate_demo
from streetsafe.deployment import seal_context
from streetsafe.policies import load_policies
from streetsafe.settings import Settings
from tests.conftest import NOW, TEST_KEY


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The demo store, built once for the module's attacks (they only read it)."""
    ctx = replace(seal_context(Settings.from_env({}, pseudonym_key=TEST_KEY)), now=NOW)
    files = generate_demo(end=date(2026, 10, 31))
    url = str(tmp_path_factory.mktemp("differencing") / "demo.duckdb")
    with open_store(url, storage_res=10) as store:
        for kind in ("incidents", "outreach", "asb"):
            data = io.BytesIO(getattr(files, kind))
            ingest_file(store, kind, data, ctx=ctx, source=f"{kind}.csv")
        yield store


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
