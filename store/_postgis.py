"""The server engine: sealed records in PostgreSQL with PostGIS, through psycopg 3."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.copy import QueuedLibpqWriter
from pyarrow import csv as pa_csv

from geo.errors import StoreError
from geo.hexes import cell_centres
from store._base import SERVICE_COLUMNS, UPSERT_PLACES, Store, Writer
from store._pgcopy import SIGNATURE, TRAILER, copy_chunks
from store._queries import batch_records
from store._schema import ARROW_SCHEMA, RECORD_COLUMNS, RECORD_FIELDS, RELEASE_COLUMNS

_ARROW_TYPES = {name: kind for name, kind, _ in RECORD_FIELDS}
# Numbers first, then text: the COPY encoder packs adjacent NULL-free numbers into one piece.
_COPY_COLUMNS = (
    *(name for name, kind, _ in RECORD_FIELDS if not pa.types.is_string(kind)),
    *(name for name, kind, _ in RECORD_FIELDS if pa.types.is_string(kind)),
    "batch_id",
)
_COPY_RECORDS = f"COPY records ({', '.join(_COPY_COLUMNS)}) FROM STDIN (FORMAT binary)"
# Claiming identities, fast path: a plain insert of keys sorted client-side, under a savepoint.
# Most batches are all new, and a plain insert costs half what ON CONFLICT does (no
# speculative insertion); a key already stored fails it with a unique violation.
_COPY_KEYS = "COPY record_keys (key_hi, key_lo) FROM STDIN (FORMAT binary)"
# ...and the exact path after such a failure: claim each identity that is not stored yet, and
# say which (a concurrent writer's claim waits for its transaction, as a plain insert would).
_CREATE_CLAIMS = (
    "CREATE TEMP TABLE IF NOT EXISTS claims (key_hi BIGINT, key_lo BIGINT) ON COMMIT DROP"
)
_COPY_CLAIMS = "COPY pg_temp.claims (key_hi, key_lo) FROM STDIN (FORMAT binary)"
_CLAIM = (
    "COPY (INSERT INTO record_keys (key_hi, key_lo) SELECT key_hi, key_lo FROM pg_temp.claims"
    " ORDER BY key_hi, key_lo"  # in index order: each leaf page is visited once, not at random
    " ON CONFLICT (key_hi, key_lo) DO NOTHING RETURNING key_hi, key_lo) TO STDOUT (FORMAT binary)"
)
# a binary COPY tuple of two BIGINTs: field count, then length and value of each
_CLAIMED = np.dtype(
    [("n", ">i2"), ("hi_len", ">i4"), ("hi", ">i8"), ("lo_len", ">i4"), ("lo", ">i8")]
)
# the month partitions of records, by names that reach them (quoted, schema-qualified if needed)
_PARTITIONS = (
    "SELECT inhrelid::regclass::text FROM pg_inherits "
    "WHERE inhparent = 'records'::regclass ORDER BY 1"
)
_PARTITION = (
    "CREATE TABLE IF NOT EXISTS {name} PARTITION OF records "
    "FOR VALUES FROM ('{start}') TO ('{end}')"
)
# The night index's pages written since last time, in the partitions this transaction wrote
# (each is locked until COMMIT: others' maintenance and commits need not wait on the rest), in
# one order (so concurrent writers cannot deadlock). Partitions of another owner may not be
# summarised by this role: they are left to (auto)vacuum.
_SUMMARISE = (
    "SELECT brin_summarize_new_values(i.inhrelid) FROM pg_inherits i "
    "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_am am ON am.oid = c.relam "
    "JOIN pg_index x ON x.indexrelid = i.inhrelid JOIN pg_class t ON t.oid = x.indrelid "
    "WHERE i.inhparent = 'records_night'::regclass AND am.amname = 'brin' "
    "AND t.relname = ANY(?) AND pg_has_role(c.relowner, 'USAGE') ORDER BY i.inhrelid"
)
_INSERT_CELLS = (
    "INSERT INTO cells (cell, geom) "
    "SELECT c, ST_SetSRID(ST_MakePoint(x, y), 4326) "
    "FROM unnest(%s::bigint[], %s::float8[], %s::float8[]) AS t(c, x, y) "
    "ON CONFLICT (cell) DO NOTHING"
)
# A batch's records and their identities, in one statement; how many records went.
_DELETE_BATCH = (
    "WITH gone AS (DELETE FROM records WHERE batch_id = ? RETURNING key_hi, key_lo), "
    "freed AS (DELETE FROM record_keys k USING gone g "
    "WHERE k.key_hi = g.key_hi AND k.key_lo = g.key_lo) "
    "SELECT count(*) FROM gone"
)
_PLACE_ROWS = (
    "unnest(CAST(? AS bigint[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS integer[])) "
    "AS t(cell, street, source, n)"
)

# any constant will do, as long as every streetsafe process uses the same one
_MIGRATION_LOCK = 0x5354_5245_4554  # "STREET"

_CONNECT_TIMEOUT = "10"


class PostGISStore(Store):
    """Sealed records in a PostGIS database; many readers and writers may share it."""

    engine = "postgis"

    def __init__(
        self,
        url: str,
        *,
        storage_res: int,
        migrate: bool = True,
    ) -> None:
        """Connect to the PostGIS database at ``url``, migrating it first unless ``migrate`` is
        False (another connection of a store this process has opened: see :meth:`reader`)."""
        super().__init__(storage_res=storage_res)
        self.url = _redacted(url)  # the base class puts self.url in messages: no password
        self._conninfo = url  # for another connection (see reader)
        # partitions written in this transaction, their night index not summarised yet
        self._unsummarised: set[str] = set()
        self._con = _connect(url)
        if not migrate:
            return
        try:
            self._execute("SELECT pg_advisory_lock(?)", (_MIGRATION_LOCK,))
            try:
                self._migrate("postgis")
            finally:
                self._execute("SELECT pg_advisory_unlock(?)", (_MIGRATION_LOCK,))
        except BaseException:
            self._con.close()
            raise

    def _query(self, sql: str, params: Sequence[Any]) -> pd.DataFrame:
        with self._con.cursor() as cur:
            cur.execute(_placeholders(sql), list(params))
            if cur.description is None:
                return pd.DataFrame()
            rows = cur.fetchall()
            names = [col.name for col in cur.description]
            columns = {
                i: _column(col.type_code, [row[i] for row in rows])
                for i, col in enumerate(cur.description)
            }
        frame = pd.DataFrame(columns)
        frame.columns = pd.Index(names)  # by position: a name may come twice (a.x, b.x)
        return frame

    def records(self, columns: Sequence[str], batches: Sequence[int]) -> pa.Table:
        # A COPY per month partition, each a statement of its own: it locks that partition
        # alone, for seconds, so a writer adding a month (which locks the parent table) does
        # not wait for a whole force's records to be read, nor hold other readers up behind it.
        partitions = [str(row[0]) for row in self._execute(_PARTITIONS)]
        names = list(columns)
        tables = [self._copy_out(batch_records(names, batches, table=p), names) for p in partitions]
        return pa.concat_tables(tables) if tables else _empty(names)

    def _copy_out(self, sql: str, names: list[str]) -> pa.Table:
        # COPY streams the rows as CSV, which Arrow parses in bulk: a row at a time through
        # Python would take minutes for a force's records
        options = pa_csv.ConvertOptions(
            column_types={n: _ARROW_TYPES[n] for n in names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        try:
            with self._con.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as cp:
                rows = iter(cp)
                first = next(rows, None)
                if first is None:  # no rows (Arrow reads no columns from an empty file)
                    return _empty(names)
                reader = pa_csv.open_csv(
                    _Chunks(itertools.chain([first], rows)),
                    read_options=pa_csv.ReadOptions(column_names=names),
                    convert_options=options,
                )
                return reader.read_all()
        except psycopg.Error as exc:
            raise StoreError(f"PostGIS store {self.url}: query failed: {exc}") from exc

    def data_token(self) -> object:
        # A batch is added in the transaction of its records, and an upload undone in one that
        # counts it: the pair never comes back to a value it had (see Store.data_version).
        files, _, undone = self.data_version()
        return files, undone

    def reader(self) -> PostGISStore:
        return PostGISStore(self._conninfo, storage_res=self.storage_res, migrate=False)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._con.cursor() as cur:
                cur.execute(_placeholders(sql), list(params))
                return cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise StoreError(f"PostGIS store {self.url}: {exc}") from exc

    def _lock_audit(self) -> None:
        # a lock of the application's own, not of the table: the role may lack the table
        # privileges a table lock needs (UPDATE and DELETE are revoked from the trail)
        self._execute("SELECT pg_advisory_xact_lock(hashtext('streetsafe audit'))")

    def _begin(self) -> None:
        # PostgreSQL only warns about a nested BEGIN, and the inner COMMIT would then commit the
        # outer transaction's work early; refuse it, as DuckDB does
        if self._con.info.transaction_status != pq.TransactionStatus.IDLE:
            raise StoreError(
                f"PostGIS store {self.url}: a transaction is already open on this connection; "
                "write one file at a time per store"
            )
        self._execute("BEGIN")

    def _commit(self) -> None:
        # PostgreSQL answers COMMIT of a failed transaction with a silent ROLLBACK: refuse it
        if self._con.info.transaction_status == pq.TransactionStatus.INERROR:
            self._rollback()
            raise StoreError(
                f"PostGIS store {self.url}: a statement in this transaction failed, so nothing "
                "of it was stored"
            )
        if self._unsummarised:
            # just before COMMIT: the partition locks it takes are held only until then
            written = sorted(self._unsummarised)
            self._unsummarised = set()
            try:
                self._execute(_SUMMARISE, (written,))
            except StoreError:
                self._rollback()
                raise
        self._execute("COMMIT")

    def _rollback(self) -> None:
        self._unsummarised = set()
        if self._con.closed:
            return  # the server dropped the transaction with the connection
        try:
            self._execute("ROLLBACK")
        except StoreError:
            # the caller is already raising the error that brought us here; a broken
            # connection has no transaction left to roll back
            if not self._con.broken:
                raise

    def _writer(self, batch_id: int) -> Writer:
        return _PostGISWriter(self, batch_id)

    def _delete_batch_records(self, batch_id: int) -> int:
        # the identities go with the records: the file, corrected, can be ingested again
        rows = self._execute(_DELETE_BATCH, (batch_id,))
        return int(rows[0][0])

    def _add_places(self, places: pd.DataFrame) -> None:
        columns = [places[c].tolist() for c in ("cell", "street", "source", "n")]
        self._execute(UPSERT_PLACES.format(rows=_PLACE_ROWS), columns)

    def _insert_services(self, services: pd.DataFrame, loaded_at: datetime) -> None:
        columns = ", ".join(SERVICE_COLUMNS)
        # tens or hundreds of rows: one statement, a typed array per column
        arrays = ", ".join(
            f"CAST(? AS {'float8' if c in ('lat', 'lon') else 'text'}[])" for c in SERVICE_COLUMNS
        )
        values = [
            [None if pd.isna(v) else v for v in services[c].tolist()] for c in SERVICE_COLUMNS
        ]
        self._execute(
            f"INSERT INTO services ({columns}, loaded_at) "
            f"SELECT {columns}, ? FROM unnest({arrays}) AS t({columns})",
            [loaded_at, *values],
        )

    def _insert_release_values(self, rows: pd.DataFrame) -> None:
        names = ("release_id", *RELEASE_COLUMNS)
        columns = ", ".join(f'"{c}"' for c in names)
        try:
            with (
                self._con.cursor() as cur,
                cur.copy(f"COPY release_values ({columns}) FROM STDIN") as copy,
            ):
                for row in rows.loc[:, list(names)].itertuples(index=False):
                    copy.write_row([v.item() if hasattr(v, "item") else v for v in row])
        except psycopg.Error as exc:
            raise StoreError(f"PostGIS store {self.url}: storing a release failed: {exc}") from exc

    def _close(self) -> None:
        self._con.close()


class _PostGISWriter(Writer):
    def __init__(self, store: PostGISStore, batch_id: int) -> None:
        self._store = store
        self._batch_id = batch_id
        # what this transaction has already made sure of: a file's batches repeat the same few
        # months and thousands of cells, which need not go to the server again
        self._months: set[str] = set()
        self._cells = np.empty(0, dtype=np.int64)

    def add(self, records: pa.Table) -> int:
        staged = _staged(records)
        if staged.num_rows == 0:
            return 0
        keys = staged.select(["key_hi", "key_lo"]).sort_by(
            [("key_hi", "ascending"), ("key_lo", "ascending")]
        )
        con = self._store._con
        try:
            with con.cursor() as cur:
                for statement in partition_statements(
                    staged.column("month").to_numpy(zero_copy_only=False)
                ):
                    if statement not in self._months:
                        cur.execute(statement)
                        self._months.add(statement)
                new = staged if self._claim_all(cur, keys) else self._claim_each(cur, staged, keys)
                if new.num_rows:
                    # in partition order, each night's rows together (what the BRIN night index
                    # needs) and each night's cells in index order: the server fills one month's
                    # pages at a time, and walks its indexes forwards (~2 µs a row less)
                    new = new.sort_by(
                        [("month", "ascending"), ("night", "ascending"), ("cell", "ascending")]
                    )
                    batch = pa.array(np.full(new.num_rows, self._batch_id, dtype=np.int32))
                    _copy(
                        cur,
                        _COPY_RECORDS,
                        new.append_column("batch_id", batch).select(_COPY_COLUMNS),
                    )
                    months = new.column("month").to_numpy(zero_copy_only=False)
                    self._store._unsummarised.update(partition_names(months))
                cells = np.setdiff1d(staged.column("cell").to_numpy(), self._cells)
                if cells.size:
                    lat, lon = cell_centres(cells)
                    cur.execute(_INSERT_CELLS, (cells.tolist(), lon.tolist(), lat.tolist()))
                    self._cells = np.union1d(self._cells, cells)
                return int(new.num_rows)
        except psycopg.Error as exc:
            raise StoreError(f"PostGIS store {self._store.url}: insert failed: {exc}") from exc

    def _claim_all(self, cur: psycopg.Cursor[Any], keys: pa.Table) -> bool:
        """Claim all the identities at once; return False (claiming none) if one is taken."""
        cur.execute("SAVEPOINT claim")
        try:
            _copy(cur, _COPY_KEYS, keys)
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT claim")
            return False
        cur.execute("RELEASE SAVEPOINT claim")
        return True

    def _claim_each(self, cur: psycopg.Cursor[Any], staged: pa.Table, keys: pa.Table) -> pa.Table:
        """Claim the identities not stored yet; return the rows that hold them, once each."""
        # sorts of a whole batch fit in memory (for this transaction only)
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute(_CREATE_CLAIMS)
        cur.execute("TRUNCATE pg_temp.claims")
        _copy(cur, _COPY_CLAIMS, keys)
        with cur.copy(_CLAIM) as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
        body = data[len(SIGNATURE) : -len(TRAILER)]
        claimed = (
            np.frombuffer(body, dtype=_CLAIMED) if len(body) % _CLAIMED.itemsize == 0 else None
        )
        if (
            not data.startswith(SIGNATURE)
            or not data.endswith(TRAILER)
            or claimed is None
            or (claimed["n"] != 2).any()
            or (claimed["hi_len"] != 8).any()
            or (claimed["lo_len"] != 8).any()
        ):
            raise StoreError(
                f"PostGIS store {self._store.url}: the server answered the identity claim in an "
                "unexpected binary COPY layout; nothing of this file was stored"
            )
        if len(claimed) == 0:
            return staged.slice(0, 0)
        rows = pd.MultiIndex.from_arrays(
            [staged.column("key_hi").to_numpy(), staged.column("key_lo").to_numpy()]
        )
        wanted = pd.MultiIndex.from_arrays(
            [claimed["hi"].astype(np.int64), claimed["lo"].astype(np.int64)]
        )
        return staged.filter(pa.array(rows.isin(wanted) & ~rows.duplicated()))


def _empty(names: list[str]) -> pa.Table:
    return pa.schema([(n, _ARROW_TYPES[n]) for n in names]).empty_table()


class _Chunks(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (a COPY's output: a row each).

    Every read fills the reader's whole buffer: Arrow asks for a block at a time, and a row at a
    time would cost it a block's allocation per row.
    """

    def __init__(self, chunks: Iterator[Any]) -> None:
        self._chunks = chunks
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(out):
            if not self._left:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._left = memoryview(chunk).cast("B")
            n = min(len(out) - filled, len(self._left))
            out[filled : filled + n] = self._left[:n]
            self._left = self._left[n:]
            filled += n
        return filled


def _copy(cur: psycopg.Cursor[Any], statement: str, table: pa.Table) -> None:
    """Send ``table`` (in the statement's column order) through a binary COPY."""
    # queued: a worker thread feeds the server while this one encodes the next chunk
    with cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        for chunk in copy_chunks(table):
            copy.write(chunk)


def partition_statements(months: Any) -> list[str]:
    """Return the statements creating the month partitions of ``months`` (dates), if missing."""
    out = []
    for month in _months(months):
        start = month.astype("datetime64[D]")
        end = (month + 1).astype("datetime64[D]")
        out.append(_PARTITION.format(name=_partition(month), start=start, end=end))
    return out


def partition_names(months: Any) -> list[str]:
    """Return the names of the month partitions holding ``months`` (dates)."""
    return [_partition(month) for month in _months(months)]


def _months(dates: Any) -> Any:
    return np.unique(np.asarray(dates, dtype="datetime64[D]").astype("datetime64[M]"))


def _partition(month: np.datetime64) -> str:
    return f"records_{str(month).replace('-', '_')}"


def _staged(records: pa.Table) -> pa.Table:
    """Return the records in column order and interchange types."""
    missing = [name for name in RECORD_COLUMNS if name not in records.column_names]
    if missing:
        raise StoreError(f"records to store lack the columns {', '.join(missing)}")
    try:
        table = records.select(list(RECORD_COLUMNS)).cast(ARROW_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise StoreError(f"records to store do not fit the record schema: {exc}") from exc
    if table.num_rows == 0:
        return table
    if table.column("cell").null_count:
        raise StoreError("records to store have a missing cell")
    return table


def _connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        raise StoreError(f"the PostGIS store URL {_redacted(url)} is malformed") from None
    where = (
        f"host {params.get('host') or 'localhost'} port {params.get('port') or 5432}, "
        f"database {params.get('dbname') or params.get('user') or '(default)'}"
    )
    extra: dict[str, Any] = {
        "client_encoding": "UTF8",
        "application_name": "streetsafe",
        # A count-cube query reads a few months of a few partitions: JIT compiling it, or
        # starting parallel workers for it (~30 ms here), costs more than running it. Only scans
        # big enough to pay for workers get them.
        "options": "-c jit=off -c parallel_setup_cost=20000",
    }
    if "connect_timeout" not in params:
        extra["connect_timeout"] = _CONNECT_TIMEOUT
    try:
        return psycopg.connect(url, autocommit=True, **extra)
    except psycopg.Error as exc:
        reason = str(exc).strip()
        password = params.get("password")
        if password:
            reason = reason.replace(str(password), "***")
        raise StoreError(f"cannot connect to the PostGIS store at {where}: {reason}") from None


def _redacted(url: str) -> str:
    """Return ``url`` (a URL or a ``key=value`` string) without its password."""
    if not url.startswith(("postgresql://", "postgres://")):
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error:
            return "(an unreadable connection string)"
        kept = {k: str(v) for k, v in params.items() if k != "password" and v is not None}
        return make_conninfo("", **kept)
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


# what may hide a ``?`` that is no placeholder: literals, quoted names, comments, $$ bodies
_TOKENS = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|(\$(?:[A-Za-z_]\w*)?\$).*?\1|\?|%",
    re.DOTALL,
)


@lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """Turn ``?`` placeholders (outside quotes) into psycopg's ``%s``; escape literal ``%``."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token.replace("%", "%%")  # quoted or commented text: keep its ``?``

    return _TOKENS.sub(swap, sql)


# PostgreSQL type OIDs whose results get the dtypes the embedded engine gives them
_INTS = {20: ("int64", "Int64"), 21: ("int16", "Int16"), 23: ("int32", "Int32")}
_FLOATS = {700, 701, 1700}
_BOOL = 16
_DATETIMES = {1082, 1114}  # date, timestamp


def _column(oid: int, values: list[Any]) -> pd.Series[Any]:
    """Return one result column with the dtype DuckDB's ``.df()`` would give it."""
    has_null = any(v is None for v in values)
    if oid in _INTS:
        return pd.Series(values, dtype=_INTS[oid][has_null])
    if oid in _FLOATS:
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if oid == _BOOL:
        return pd.Series(values, dtype="boolean" if has_null else "bool")
    if oid in _DATETIMES:
        return pd.Series(np.array(values, dtype="datetime64[us]"))
    return pd.Series(values, dtype=None if values else object)
