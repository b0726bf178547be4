"""Shared fixtures: a deployment's settings with a throwaway key, and stores of both engines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.context import seal_context
from ingest.seal import SealContext
from ingest.settings import PROJECT_ROOT, Settings
from ingest.stores import Store, open_store

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
POLICEUK_HAMPSHIRE = SHARED_DATA / "2022-02-hampshire-street.csv"
TEST_KEY = "0f" * 32
# Fixed "now" for tests so that future-time checks do not drift.
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {},
        store=str(tmp_path / "store.duckdb"),
        pseudonym_key=TEST_KEY,
        key_file=str(tmp_path / "unused.key"),
    )


@pytest.fixture
def ctx(settings: Settings) -> SealContext:
    base = seal_context(settings)
    return SealContext(
        study_area=base.study_area,
        gazetteer=base.gazetteer,
        pseudonymiser=base.pseudonymiser,
        storage_res=base.storage_res,
        now=NOW,
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with open_store(settings.store, storage_res=settings.storage_res) as st:
        yield st
