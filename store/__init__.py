"""The store: sealed records behind one interface, in DuckDB (a file) or PostGIS (a server).

:class:`Store` is the database interface both engines implement; :class:`ResidentViews`
answers a store's count cube from memory for a server that asks many views (the dashboard).
"""

from __future__ import annotations

from store._access import UserRow, chain_hash
from store._base import (
    SERVICE_COLUMNS,
    BatchInfo,
    CountSource,
    FileWriter,
    Store,
    UploadInfo,
    Writer,
    to_arrow,
)
from store._schema import RECORD_COLUMNS
from store.resident import ResidentViews

__all__ = [
    "RECORD_COLUMNS",
    "SERVICE_COLUMNS",
    "BatchInfo",
    "CountSource",
    "FileWriter",
    "ResidentViews",
    "Store",
    "UploadInfo",
    "UserRow",
    "Writer",
    "chain_hash",
    "open_store",
    "to_arrow",
]


def open_store(url: str, *, storage_res: int, read_only: bool = False) -> Store:
    """Open (creating and migrating if needed) the store at ``url``.

    ``url`` is a ``postgresql://`` URL for the PostGIS engine, anything else a file path for the
    embedded engine.
    """
    if url.startswith(("postgresql://", "postgres://")):
        from store._postgis import PostGISStore

        return PostGISStore(url, storage_res=storage_res)
    from store._duckdb import DuckDBStore

    return DuckDBStore(url.removeprefix("duckdb://"), storage_res=storage_res, read_only=read_only)
