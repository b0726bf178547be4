"""The embedded engine: one local DuckDB file, no server."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from geo.errors import StoreError
from store._base import SERVICE_COLUMNS, UPSERT_PLACES, Store, Writer
from store._queries import batch_records
from store._schema import RECORD_COLUMNS, RELEASE_COLUMNS

_COLUMNS = ", ".join(RECORD_COLUMNS)
# Commits of records through this process, per database file. DuckDB lets one process at a
# time write a file (it locks it), so a store seeing no new one here knows its records are
# unchanged. Other commits (an audit entry, an account, a release) leave the records as they
# were: counting them would send the dashboard's views back to SQL after every audited view.
_COMMITS: dict[str, int] = {}
# The audit trail of each database file, held by one connection of this process at a time while
# it chains an entry (before its transaction starts: a DuckDB transaction sees the database as
# it was when it began, so the next entry must begin after the last one is committed).
_AUDIT_LOCKS: dict[str, threading.Lock] = {}
_AUDIT_LOCKS_GUARD = threading.Lock()
_HELD_BY = re.compile(r"\(PID (\d+)\)")


class DuckDBStore(Store):
    """Sealed records in a DuckDB file; one writer process at a time."""

    engine = "embedded"

    def __init__(
        self,
        path: str,
        *,
        storage_res: int,
        read_only: bool = False,
        sharing: DuckDBStore | None = None,
    ) -> None:
        """Open (creating and migrating if needed) the DuckDB file at ``path``.

        With ``sharing``, the store is that store's database through a connection of its own
        (a cursor, for another thread): already migrated, nothing is set up.
        """
        super().__init__(storage_res=storage_res)
        self.url = path
        self._writes_records = False
        self._file: str
        self._con: duckdb.DuckDBPyConnection
        if sharing is not None:
            self._file = sharing._file
            self._con = sharing._con.cursor()
            return
        self._file = f"memory:{id(self)}" if path == ":memory:" else os.path.realpath(path)
        if not read_only and path != ":memory:":
            # a new store's folder is private; an existing folder is the deployment's choice
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(path, read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(_cannot_open(path, exc)) from None
        if not read_only:
            self._keep_private()
            self._migrate("duckdb")

    def append_audit(
        self, event: str, *, actor: str, role: str, agency: str, detail: Mapping[str, Any]
    ) -> int:
        with _AUDIT_LOCKS_GUARD:
            lock = _AUDIT_LOCKS.setdefault(self._file, threading.Lock())
        with lock:
            return super().append_audit(event, actor=actor, role=role, agency=agency, detail=detail)

    def _query(self, sql: str, params: Sequence[Any]) -> pd.DataFrame:
        return self._con.execute(sql, list(params)).df()

    def records(self, columns: Sequence[str], batches: Sequence[int]) -> pa.Table:
        try:
            return self._con.sql(batch_records(columns, batches)).to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"embedded store query failed: {exc}") from exc

    def data_token(self) -> object:
        return _COMMITS.get(self._file, 0)

    def reader(self) -> DuckDBStore:
        # a cursor is a connection of its own to the same database (also for ":memory:")
        return DuckDBStore(self.url, storage_res=self.storage_res, sharing=self)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cur = self._con.execute(sql, list(params))
            return cur.fetchall() if cur.description else []
        except duckdb.Error as exc:
            raise StoreError(f"embedded store: {exc}") from exc

    def _begin(self) -> None:
        self._con.execute("BEGIN TRANSACTION")

    def _commit(self) -> None:
        try:
            self._con.execute("COMMIT")
        except duckdb.Error as exc:
            raise StoreError(f"embedded store: commit failed: {exc}") from exc
        if self._writes_records:
            _COMMITS[self._file] = _COMMITS.get(self._file, 0) + 1
            self._writes_records = False
        self._keep_private()

    def _keep_private(self) -> None:
        """Make the database file and its write-ahead log readable by their owner alone."""
        if self._file.startswith("memory:"):
            return
        for path in (self._file, self._file + ".wal"):
            with contextlib.suppress(FileNotFoundError, PermissionError):
                if os.stat(path).st_mode & 0o077:
                    os.chmod(path, 0o600)

    def _rollback(self) -> None:
        self._writes_records = False
        self._con.execute("ROLLBACK")

    def _writer(self, batch_id: int) -> Writer:
        self._writes_records = True  # this transaction adds a file's records
        return _DuckDBWriter(self._con, batch_id)

    def _delete_batch_records(self, batch_id: int) -> int:
        self._writes_records = True  # the records change: the data token must too
        rows = self._execute("DELETE FROM records WHERE batch_id = ?", (batch_id,))
        return int(rows[0][0]) if rows else 0

    def _add_places(self, places: pd.DataFrame) -> None:
        # Through Arrow, as the releases are (pandas 3's "str" dtype)
        table = pa.Table.from_pandas(places, preserve_index=False)
        with _registered(self._con, "place_rows", table):
            try:
                self._con.execute(UPSERT_PLACES.format(rows="place_rows AS t"))
            except duckdb.Error as exc:
                raise StoreError(f"embedded store: storing places failed: {exc}") from exc

    def _insert_services(self, services: pd.DataFrame, loaded_at: datetime) -> None:
        columns = ", ".join(SERVICE_COLUMNS)
        # Through Arrow, as the releases are (pandas 3's "str" dtype)
        table = pa.Table.from_pandas(services, preserve_index=False)
        with _registered(self._con, "service_rows", table):
            try:
                self._con.execute(
                    f"INSERT INTO services ({columns}, loaded_at) "
                    f"SELECT {columns}, ? FROM service_rows",
                    [loaded_at],
                )
            except duckdb.Error as exc:
                raise StoreError(f"embedded store: storing services failed: {exc}") from exc

    def _insert_release_values(self, rows: pd.DataFrame) -> None:
        columns = ", ".join(f'"{c}"' for c in ("release_id", *RELEASE_COLUMNS))
        # Through Arrow: duckdb 1.2 does not know pandas 3's "str" dtype (the pool column).
        table = pa.Table.from_pandas(rows, preserve_index=False)
        with _registered(self._con, "release_rows", table):
            try:
                self._con.execute(
                    f"INSERT INTO release_values ({columns}) SELECT {columns} FROM release_rows"
                )
            except duckdb.Error as exc:
                raise StoreError(f"embedded store: storing a release failed: {exc}") from exc

    def _close(self) -> None:
        self._con.close()


def _cannot_open(path: str, exc: duckdb.Error) -> str:
    """Why the store at ``path`` cannot be opened, in words: another process holding it is
    named (DuckDB lets one process at a time write a file)."""
    held = _HELD_BY.search(str(exc)) if "lock" in str(exc).lower() else None
    if held is None:
        return f"cannot open the store {path}: {exc}"
    return (
        f"the store {path} is open in another process (PID {held.group(1)}), such as a running "
        "dashboard or another command: an embedded store has one user at a time. `streetsafe "
        "ingest` hands its files to a running dashboard; for other commands stop the dashboard "
        "(or the other command) first, or move to the PostGIS engine, which many share"
    )


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """``table`` as the view ``name`` for the block's statements."""
    con.register(name, table)
    try:
        yield
    finally:
        # refused in a transaction a failure aborted (whose rollback drops the view anyway):
        # the store's own error must not give way to DuckDB's
        with contextlib.suppress(duckdb.Error):
            con.unregister(name)


class _DuckDBWriter(Writer):
    def __init__(self, con: duckdb.DuckDBPyConnection, batch_id: int) -> None:
        self._con = con
        self._batch_id = batch_id

    def add(self, records: pa.Table) -> int:
        with _registered(self._con, "staged", records):
            try:
                rows = self._con.execute(
                    f"INSERT INTO records ({_COLUMNS}, batch_id) "
                    f"SELECT {_COLUMNS}, ? FROM staged s WHERE NOT EXISTS ("
                    "SELECT 1 FROM records r WHERE r.key_hi = s.key_hi AND r.key_lo = s.key_lo)",
                    [self._batch_id],
                ).fetchall()
            except duckdb.Error as exc:
                raise StoreError(f"embedded store: insert failed: {exc}") from exc
        return int(rows[0][0])
