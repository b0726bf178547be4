"""What the dashboard may say about the store before the privacy gate exists: totals only."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ingest.settings import Settings
from ingest.stores import open_store


@dataclass(frozen=True)
class StoreStatus:
    """Town-wide totals: no cell, time or person."""

    engine: str
    records: int
    synthetic: bool


def store_status(url: str | None = None) -> StoreStatus:
    """Return the store's engine, record total and whether demo data is loaded."""
    settings = Settings.from_env(store=url or os.environ.get("STREETSAFE_STORE"))
    with open_store(settings.store, storage_res=settings.storage_res) as store:
        return StoreStatus(store.engine, store.record_count(), store.has_synthetic())
