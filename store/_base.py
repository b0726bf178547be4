"""The store interface both engines implement, and what they share."""

from __future__ import annotations

import abc
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from time import monotonic
from typing import Any, Self

import pandas as pd
import pyarrow as pa

from geo.aggregate import Contributions, CubeFilter
from geo.errors import FilterError, StoreError
from store import _queries
from store._schema import ARROW_SCHEMA, RECORD_FIELDS
from store.cube import COLUMNS as RESIDENT_COLUMNS
from store.cube import DIMENSIONS as RESIDENT_DIMENSIONS
from store.cube import ResidentCube

_log = logging.getLogger(__name__)

RETRY_LOAD_AFTER_S = 60.0  # a failed background load of the resident cube, for the same data


@dataclass(frozen=True)
class BatchInfo:
    """What is known of one ingested file, kept as an audit row (no content)."""

    layer: str
    source: str  # the file's base name
    # or a function giving it once the records are added: a file is hashed as it streams
    file_sha256: str | Callable[[], str]
    synthetic: bool = False

    def sha256(self) -> str:
        """Return the file's SHA-256."""
        return self.file_sha256 if isinstance(self.file_sha256, str) else self.file_sha256()


class Writer(abc.ABC):
    """Adds sealed records to the store inside one open transaction."""

    @abc.abstractmethod
    def add(self, records: pa.Table) -> int:
        """Add records (``ARROW_SCHEMA``); return how many were new (not already stored).

        ``records`` hold each identity (``key_hi``, ``key_lo``) once, as the ingest pipeline
        makes sure: a repeat within one call is not looked for (PostGIS keeps the first row,
        the embedded engine both).
        """


class _Counting(Writer):
    """Counts what a writer added, for the batch's audit row (no scan of the records)."""

    def __init__(self, inner: Writer) -> None:
        self._inner = inner
        self.added = 0

    def add(self, records: pa.Table) -> int:
        new = self._inner.add(records)
        self.added += new
        return new


@dataclass(frozen=True)
class _Resident:
    """The resident cube and what it is current for; replaced whole, never changed."""

    token: object = None  # the data token it is current for (None: never loaded)
    cube: ResidentCube | None = None  # None: not loaded, or the store is over the limit
    batches: frozenset[int] = frozenset()  # the batches whose records it holds


class Store(abc.ABC):
    """A store of sealed records: the embedded (DuckDB) or the PostGIS engine."""

    engine: str
    url: str

    def __init__(
        self, *, storage_res: int, resident_rows: int = 0, resident_background: bool = False
    ) -> None:
        self.storage_res = storage_res
        self.resident_rows = resident_rows
        self.resident_background = resident_background
        self._resident = _Resident()
        self._loader: threading.Thread | None = None  # loading the cube in the background
        self._loader_lock = threading.Lock()
        self._closed = False
        # the data a background load last failed on, and until when not to try it again
        self._failed: tuple[object, float] | None = None

    # --- writing ---------------------------------------------------------------------------

    @contextmanager
    def writing(self, info: BatchInfo, *, key_fingerprint: str) -> Iterator[Writer]:
        """Open a transaction for one file: everything it adds lands, or nothing does."""
        self._begin()
        try:
            self._check_meta("key_fingerprint", key_fingerprint, _KEY_MISMATCH)
            batch_id = self._insert_batch(info)
            writer = _Counting(self._writer(batch_id))
            yield writer
            self._execute(
                "UPDATE batches SET accepted = ?, file_sha256 = ? WHERE id = ?",
                (writer.added, info.sha256(), batch_id),
            )
        except BaseException:
            self._rollback()
            raise
        self._commit()

    # --- reading ---------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Run a read-only query written with ``?`` placeholders; return a frame."""
        try:
            return self._query(sql, params)
        except Exception as exc:
            raise StoreError(f"{self.engine} store query failed: {exc}") from exc

    def record_count(self) -> int:
        """Return how many sealed records the store holds."""
        return int(self.query("SELECT count(*) AS n FROM records")["n"].iloc[0])

    def has_synthetic(self) -> bool:
        """Return whether any synthetic (demo) batch was loaded."""
        frame = self.query("SELECT count(*) AS n FROM batches WHERE synthetic")
        return bool(frame["n"].iloc[0])

    def contributions(
        self,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...] = (),
        sun_at: tuple[float, float] | None = None,
    ) -> pd.DataFrame:
        """Return the count cube for ``f``: one row per layer, cell at ``res``, ``by`` and person.

        Columns: ``layer``, ``cell`` (unless ``res`` is None), the ``by`` dimensions, ``person``
        (nullable), ``n`` (records) and ``keysum`` (sum of record keys). The grouping runs in
        the store's SQL; only groups come back. ``sun_at`` (latitude, longitude) is needed for
        the ``after_sunset`` dimension.
        """
        if res is not None and res > self.storage_res:
            raise FilterError(
                f"resolution {res} is finer than this store keeps ({self.storage_res})"
            )
        sql, params = _queries.contributions(
            f, res=res, by=by, storage_res=self.storage_res, sun_at=sun_at
        )
        frame = self.query(sql, params)
        types = {
            "cell": "int64",
            "person": "Int64",
            "n": "int64",
            "keysum": "int64",
            "hour": "Int64",
            "weekday": "Int64",
            "after_sunset": "Int64",
        }
        frame = frame.astype({c: t for c, t in types.items() if c in frame.columns})
        if "month" in frame.columns:
            frame["month"] = pd.to_datetime(frame["month"]).dt.date
        return frame

    def cube(
        self,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...] = (),
        sun_at: tuple[float, float] | None = None,
    ) -> Contributions:
        """Return :meth:`contributions` as arrays, from the resident cube where it can answer.

        The resident cube (:mod:`store.cube`) holds the records' cube columns in memory, so a
        filter change costs a millisecond, not a query. It is loaded on first use, extended with
        each batch committed since (it notices them by :meth:`_data_token`), and not kept for
        stores of more than ``resident_rows`` records, nor used for the ``after_sunset``
        dimension: those are answered by the store's SQL.
        """
        return self._cube(self._resident_cube(), f, res=res, by=by, sun_at=sun_at)

    def view_counts(
        self,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...] = (),
        sun_at: tuple[float, float] | None = None,
    ) -> tuple[Contributions, int]:
        """Return :meth:`cube` and :meth:`unknown_time_count` of ``f`` from one look at the data.

        A view needs both; the resident cube is checked for new batches once for the two (on
        PostGIS that check is a query).
        """
        resident = self._resident_cube()
        cube = self._cube(resident, f, res=res, by=by, sun_at=sun_at)
        return cube, self._unknown_time_count(resident, f)

    def unknown_time_count(self, f: CubeFilter) -> int:
        """Return how many records ``f`` leaves out only because their time of night is unknown."""
        resident = self._resident_cube() if f.needs_time_of_night else None
        return self._unknown_time_count(resident, f)

    def _cube(
        self,
        resident: ResidentCube | None,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...],
        sun_at: tuple[float, float] | None,
    ) -> Contributions:
        if resident is not None and all(d in RESIDENT_DIMENSIONS for d in by):
            answer = resident.contributions(f, res=res, by=by)
            if answer is not None:
                return answer
        return Contributions.from_frame(self.contributions(f, res=res, by=by, sun_at=sun_at), by=by)

    def _unknown_time_count(self, resident: ResidentCube | None, f: CubeFilter) -> int:
        if not f.needs_time_of_night:
            return 0
        if resident is not None:
            return resident.unknown_time_count(f)
        sql, params = _queries.unknown_time(f, storage_res=self.storage_res)
        return int(self.query(sql, params)["n"].iloc[0])

    def record_columns(self) -> list[str]:
        """Return the columns of the records table, as stored."""
        return list(self.query("SELECT * FROM records LIMIT 0").columns)

    def warm(self) -> None:
        """Bring the resident cube up to date now, rather than at the first view.

        In the background if the store was opened so (the views meanwhile ask the SQL); a
        server calls this when it starts, so that its first views are answered from memory.
        """
        if self.resident_rows <= 0:
            return
        if not self.resident_background:
            self._resident_cube()
            return
        token = self._data_token()
        if token != self._resident.token:
            self._load_in_background(token)

    def wait_for_resident(self, timeout: float | None = None) -> bool:
        """Bring the resident cube up to date and wait for it, at most ``timeout`` seconds.

        Returns whether the cube is then current with the store: False when the time ran out,
        the load failed, or the store's views come from its SQL (over ``resident_rows``).
        """
        deadline = None if timeout is None else monotonic() + timeout
        waited: threading.Thread | None = None
        while True:
            if self._resident_cube() is not None:  # (in the background: starts a load if due)
                return True
            loader = self._loader
            if loader is None or loader is waited:
                return False  # no load under way: it failed, or the SQL answers this store
            loader.join(None if deadline is None else max(0.0, deadline - monotonic()))
            if loader.is_alive():
                return False
            waited = loader  # finished; data committed meanwhile wants another

    def _resident_cube(self) -> ResidentCube | None:
        """Return the resident cube if it is current with the store, else None (ask the SQL).

        An out-of-date cube is brought up to date here, or (``resident_background``) on a
        thread with a connection of its own while the store's SQL answers: loading a force's
        records takes seconds, and the views of a shared server should not wait for it.
        """
        if self.resident_rows <= 0:
            return None
        token = self._data_token()
        resident = self._resident
        if token == resident.token:
            return resident.cube
        if self.resident_background:
            failed = self._failed
            if failed is None or failed[0] != token or monotonic() > failed[1]:
                self._load_in_background(token)
            return None
        self._resident = self._caught_up(self, resident)
        return self._resident.cube

    def _caught_up(self, reader: Store, resident: _Resident) -> _Resident:
        """Return ``resident`` extended with the batches committed since, read by ``reader``."""
        # The token first: a batch committed after it is taken in now and again later (no
        # batch is taken twice), whereas the other order could miss one for good.
        token = reader._data_token()
        accepted = {int(i): int(n) for i, n in reader._execute("SELECT id, accepted FROM batches")}
        if sum(accepted.values()) > self.resident_rows:  # the SQL answers: free the memory
            return _Resident(token)
        new = sorted(set(accepted) - resident.batches)
        cube = resident.cube or ResidentCube.empty(storage_res=self.storage_res)
        if new:
            cube = cube.extend(reader._arrow(RESIDENT_COLUMNS, new))
        return _Resident(token, cube, resident.batches | frozenset(new))

    def _load_in_background(self, token: object) -> None:
        with self._loader_lock:
            if self._closed or (self._loader is not None and self._loader.is_alive()):
                return  # a load under way takes in what was committed before it began
            try:
                reader = self._fork()  # made here, on the thread that owns the connection
            except Exception:
                self._load_failed(token)
                return
            self._loader = threading.Thread(
                target=self._load, args=(reader, token), name="streetsafe-resident", daemon=True
            )
            self._loader.start()

    def _load(self, reader: Store, token: object) -> None:
        # The only writer of self._resident while the store loads in the background.
        try:
            with reader:
                self._resident = self._caught_up(reader, self._resident)
        except Exception:  # the views go on from the SQL
            self._load_failed(token)

    def _load_failed(self, token: object) -> None:
        # tried again when data is added, or after a while (the cause may have passed)
        self._failed = (token, monotonic() + RETRY_LOAD_AFTER_S)
        _log.exception("loading the resident cube of %s failed", self.url)

    def _twin(self, **connection: Any) -> Self:
        """Return a store of this engine over ``connection`` (attributes), without set-up.

        For :meth:`_fork`: another connection to a store this process has opened already (so
        migrated and checked), used by one thread for reading.
        """
        twin = object.__new__(type(self))
        Store.__init__(twin, storage_res=self.storage_res)
        twin.url = self.url
        for name, value in connection.items():
            setattr(twin, name, value)
        return twin

    def close(self) -> None:
        """Release the connection (once a background load of the cube has stopped)."""
        with self._loader_lock:
            self._closed = True
            loader = self._loader
        if loader is not None:
            loader.join()
        self._close()

    # --- engine hooks ----------------------------------------------------------------------

    @abc.abstractmethod
    def _arrow(self, columns: Sequence[str], batches: Sequence[int]) -> pa.Table:
        """Return ``columns`` of the records of ``batches`` as an Arrow table, in bulk."""

    @abc.abstractmethod
    def _data_token(self) -> object:
        """Return a value that changes whenever a batch of records is committed (cheaply)."""

    @abc.abstractmethod
    def _fork(self) -> Store:
        """Return a store over the same data on a connection of its own, for another thread."""

    @abc.abstractmethod
    def _query(self, sql: str, params: Sequence[Any]) -> pd.DataFrame: ...

    @abc.abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abc.abstractmethod
    def _begin(self) -> None: ...

    @abc.abstractmethod
    def _commit(self) -> None: ...

    @abc.abstractmethod
    def _rollback(self) -> None: ...

    @abc.abstractmethod
    def _writer(self, batch_id: int) -> Writer: ...

    @abc.abstractmethod
    def _close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- shared helpers --------------------------------------------------------------------

    def _insert_batch(self, info: BatchInfo) -> int:
        rows = self._execute(
            "INSERT INTO batches (layer, source, file_sha256, ingested_at, synthetic) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            (
                info.layer,
                info.source,
                "",  # set with the count of records added, when the file has been read
                datetime.now(UTC).replace(tzinfo=None),
                info.synthetic,
            ),
        )
        return int(rows[0][0])

    def _migrate(self, dialect: str) -> None:
        """Apply the versioned SQL migrations this store has not seen yet (in a transaction)."""
        self._execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        rows = self._execute("SELECT value FROM meta WHERE key = 'schema_version'")
        current = int(rows[0][0]) if rows else 0
        for version, sql in _migrations(dialect):
            if version <= current:
                continue
            self._begin()
            try:
                for statement in _statements(sql):
                    self._execute(statement)
                self._set_meta("schema_version", str(version))
                self._check_meta("storage_res", str(self.storage_res), _RES_MISMATCH)
            except BaseException:
                self._rollback()
                raise
            self._commit()
        self._check_meta("storage_res", str(self.storage_res), _RES_MISMATCH)

    def _set_meta(self, key: str, value: str) -> None:
        self._execute("DELETE FROM meta WHERE key = ?", (key,))
        self._execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _check_meta(self, key: str, value: str, message: str) -> None:
        rows = self._execute("SELECT value FROM meta WHERE key = ?", (key,))
        if not rows:
            self._set_meta(key, value)
        elif rows[0][0] != value:
            raise StoreError(message.format(url=self.url, stored=rows[0][0], given=value))


_KEY_MISMATCH = (
    "the store {url} was sealed with another pseudonym key (fingerprint {stored}, this key "
    "{given}); use the key it was made with (STREETSAFE_PSEUDONYM_KEY or STREETSAFE_KEY_FILE)"
)
_RES_MISMATCH = (
    "the store {url} seals points at H3 resolution {stored}, not {given}; "
    "set STREETSAFE_STORAGE_RES={stored} or use a new store"
)


def _migrations(dialect: str) -> list[tuple[int, str]]:
    folder = resources.files("store") / "migrations" / dialect
    columns = ",\n    ".join(f"{name} {sql}" for name, _, sql in RECORD_FIELDS)
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            out.append((version, entry.read_text().replace("{record_columns}", columns)))
    return out


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def to_arrow(records: pd.DataFrame) -> pa.Table:
    """Convert sealed records to the interchange schema both engines load."""
    return pa.Table.from_pandas(
        records.loc[:, list(ARROW_SCHEMA.names)], schema=ARROW_SCHEMA, preserve_index=False
    )
