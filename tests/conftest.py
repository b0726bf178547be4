"""Shared fixtures: a deployment's settings with a throwaway key, and stores of both engines."""

from __future__ import annotations

import io
from collections.abc import Generator, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ingest.pipeline import ingest_file
from ingest.seal import SealContext
from store import Store, open_store
from streetsafe.demo import generate_demo
from streetsafe.deployment import seal_context
from streetsafe.settings import Settings
from tests.pg_cluster import PgCluster, database_url, pg_cluster

ROOT = Path(__file__).resolve().parent.parent  # the repository
FIXTURES = Path(__file__).parent / "fixtures"
# Every 12th row of police.uk's Hampshire file for February 2022 (see fixtures/README.md): rows
# inside Southampton, on the Isle of Wight and across the rest of the force area.
POLICEUK_HAMPSHIRE = FIXTURES / "2022-02-hampshire-street-cut.csv"
POLICEUK_HAMPSHIRE_ROWS = 1238
# Counted independently of streetsafe: rows whose LSOA name is a Southampton LSOA. About 5% of
# police.uk's points lie in another LSOA polygon than their code says, so the study-area test
# may differ by a few.
POLICEUK_HAMPSHIRE_SOUTHAMPTON = 258
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
    return replace(seal_context(settings), now=NOW)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with open_store(settings.store, storage_res=settings.storage_res) as st:
        yield st


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgCluster]:
    """A PostGIS server for the session: a throwaway cluster unless one is configured.

    Its fresh databases are copies of one migrated at the default storage resolution, so each
    test does not migrate its own (``fresh_database(empty=True)`` for a bare one).
    """
    with pg_cluster() as cluster:
        migrated = cluster.with_template(_migrated)
        try:
            yield migrated
        finally:
            cluster.drop_database(database_url(cluster.url, migrated.template or ""))


@pytest.fixture
def pg_url(pg_server: PgCluster) -> Iterator[str]:
    """The URL of a fresh PostGIS database (a copy of the migrated template), dropped after."""
    with pg_server.fresh_database() as url:
        yield url


def _migrated(url: str) -> None:
    open_store(url, storage_res=Settings().storage_res).close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder (unit, integration, e2e): ``pytest -m unit`` runs the fast."""
    for item in items:
        kind = item.path.parent.name
        if kind in ("unit", "integration", "e2e"):
            item.add_marker(kind)


def _store_url(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Generator[str, None, None]:
    if engine == "embedded":
        yield str(tmp_path / f"{engine}.duckdb")
        return
    server: PgCluster = request.getfixturevalue("pg_server")
    with server.fresh_database() as url:
        yield url


def fresh_store(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path, *, storage_res: int = 10
) -> Generator[Store, None, None]:
    """A fresh store of ``engine``, yielded once; closed (and its database dropped) after."""
    for url in _store_url(engine, request, tmp_path):
        with open_store(url, storage_res=storage_res) as store:
            yield store


DEMO_KINDS = ("incidents", "outreach", "asb")


def load_demo(
    store: Store,
    ctx: SealContext,
    *,
    end: date,
    scale: float = 1.0,
    kinds: Sequence[str] = DEMO_KINDS,
) -> None:
    """Ingest the synthetic demo's report files of ``kinds``, as ``streetsafe demo`` does."""
    files = generate_demo(end=end, scale=scale)
    for kind in kinds:
        stream = io.BytesIO(getattr(files, kind))
        ingest_file(store, kind, stream, ctx=ctx, source=f"{kind}.csv", synthetic=True)


ENGINES = [
    pytest.param("embedded", id="embedded"),
    pytest.param("postgis", id="postgis", marks=pytest.mark.postgis),
]


@pytest.fixture(params=ENGINES)
def engine_store(
    request: pytest.FixtureRequest, tmp_path: Path, settings: Settings
) -> Iterator[Store]:
    """A fresh store of each engine in turn: the same test runs on both."""
    yield from fresh_store(request.param, request, tmp_path, storage_res=settings.storage_res)
