"""Store engines behind one interface: embedded DuckDB (a file) or PostGIS (a server)."""

from __future__ import annotations

from store._base import BatchInfo, Store, Writer, to_arrow
from store._schema import RECORD_COLUMNS

__all__ = ["RECORD_COLUMNS", "BatchInfo", "Store", "Writer", "open_store", "to_arrow"]


def open_store(
    url: str,
    *,
    storage_res: int,
    read_only: bool = False,
    resident_rows: int = 0,
    resident_background: bool = False,
) -> Store:
    """Open (creating and migrating if needed) the store at ``url``.

    ``url`` is a ``postgresql://`` URL for the PostGIS engine, anything else a file path for the
    embedded engine. Views of stores up to ``resident_rows`` records are answered from memory
    (see :meth:`Store.cube`): worth it for a server answering many views, such as the
    dashboard's (``Settings.resident_rows``); 0 (the default) always asks the store's SQL.
    With ``resident_background``, the records are loaded into memory on a thread of their own
    while the SQL answers (a server's views never wait for the load); see :meth:`Store.warm`.
    """
    if url.startswith(("postgresql://", "postgres://")):
        from store._postgis import PostGISStore

        return PostGISStore(
            url,
            storage_res=storage_res,
            resident_rows=resident_rows,
            resident_background=resident_background,
        )
    from store._duckdb import DuckDBStore

    path = url.removeprefix("duckdb://")
    return DuckDBStore(
        path,
        storage_res=storage_res,
        read_only=read_only,
        resident_rows=resident_rows,
        resident_background=resident_background,
    )
