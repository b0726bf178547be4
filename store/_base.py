"""The store interface both engines implement, and what they share."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, Protocol, Self

import pandas as pd
import pyarrow as pa

from geo.aggregate import Contributions, CubeFilter
from geo.errors import FilterError, StoreError, UndoError
from geo.nights import WEEKDAYS
from store import _queries
from store._access import AccessTables
from store._schema import ARROW_SCHEMA, RELEASE_COLUMNS


@dataclass(frozen=True)
class BatchInfo:
    """What is known of one ingested file, kept as an audit row (no content)."""

    layer: str
    # the file's SHA-256, or a function giving it once the records are added: a file is
    # hashed as it streams. Its name is not kept: a name can say whose file it was.
    file_sha256: str | Callable[[], str]
    synthetic: bool = False
    uploaded_by: str = "operator"  # the command line's operator, or a role
    trusted: bool = True  # counts towards k with the trusted sources (see ingest.pipeline)

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


class FileWriter(Writer):
    """What :meth:`Store.writing` hands out for one file: its batch number, its records, and
    the public place names it brings (police.uk's streets, the gazetteer's places).

    It counts what was added, for the batch's audit row (no scan of the records).
    """

    def __init__(self, store: Store, inner: Writer, batch_id: int) -> None:
        self._store = store
        self._inner = inner
        self.batch_id = batch_id  # the batch's id: what undoing this upload names
        self.added = 0

    def add(self, records: pa.Table) -> int:
        new = self._inner.add(records)
        self.added += new
        return new

    def add_places(self, places: pd.DataFrame) -> None:
        """Add public place names to the place index, in this file's transaction.

        ``places``: one row per (``cell``, ``street``, ``source``) with ``n``, the file's rows
        snapped there (:data:`PLACE_COLUMNS`). Idempotent: a (cell, street, source) already
        indexed keeps the greater ``n``, so ingesting a file again changes nothing.
        """
        missing = [c for c in PLACE_COLUMNS if c not in places.columns]
        if missing:
            raise StoreError(f"places to store lack the columns {', '.join(missing)}")
        if len(places):
            self._store._add_places(places.loc[:, list(PLACE_COLUMNS)])


@dataclass(frozen=True)
class UploadInfo:
    """One uploaded file as the store remembers it: enough to offer to undo it (no content)."""

    batch_id: int
    layer: str
    ingested_at: datetime  # UTC, naive
    accepted: int  # the records it added


class CountSource(Protocol):
    """Where views get their counts: a :class:`Store`, or its :class:`~store.ResidentViews`."""

    storage_res: int

    def cube(
        self,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...] = (),
        sun_at: tuple[float, float] | None = None,
    ) -> Contributions:
        """Return the count cube of ``f`` at ``res`` (see :meth:`Store.contributions`)."""
        ...

    def view_counts(
        self,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...] = (),
        sun_at: tuple[float, float] | None = None,
    ) -> tuple[Contributions, int]:
        """Return the count cube of ``f`` and how many records it leaves out for want of a time."""
        ...


class Store(AccessTables, abc.ABC):
    """A store of sealed records: the embedded (DuckDB) or the PostGIS engine.

    A database interface and nothing more: it writes a file's records in one transaction and
    answers the count cube by its SQL. Answering from memory is :class:`store.resident.
    ResidentViews`' job, for a server that asks many views.
    """

    engine: str
    url: str

    def __init__(self, *, storage_res: int) -> None:
        self.storage_res = storage_res

    # --- writing ---------------------------------------------------------------------------

    @contextmanager
    def writing(self, info: BatchInfo, *, key_fingerprint: str) -> Iterator[FileWriter]:
        """Open a transaction for one file: everything it adds lands, or nothing does."""
        with self._transaction():
            self._check_scheme()
            self._check_meta("key_fingerprint", key_fingerprint, _KEY_MISMATCH)
            batch_id = self._insert_batch(info)
            writer = FileWriter(self, self._writer(batch_id), batch_id)
            yield writer
            self._execute(
                "UPDATE batches SET accepted = ?, file_sha256 = ? WHERE id = ?",
                (writer.added, info.sha256(), batch_id),
            )

    # --- undoing an upload ------------------------------------------------------------------

    def last_upload(self, uploaded_by: str) -> UploadInfo | None:
        """Return the latest file ``uploaded_by`` ingested (the one :meth:`undo_upload` may
        take back), or None if there is none."""
        rows = self._execute(
            "SELECT id, layer, ingested_at, accepted FROM batches WHERE uploaded_by = ? "
            "ORDER BY id DESC LIMIT 1",
            (uploaded_by,),
        )
        if not rows:
            return None
        batch_id, layer, at, accepted = rows[0]
        at = pd.Timestamp(at).to_pydatetime()
        return UploadInfo(int(batch_id), str(layer), at, int(accepted))

    def undo_upload(self, batch_id: int, *, uploaded_by: str) -> int:
        """Remove the records of upload ``batch_id`` and its batch row, in one transaction;
        return how many records were removed.

        Only ``uploaded_by``'s latest upload may be undone: undo takes back a file just sent
        by mistake; it is not a way to rewrite what was reported before. Refused
        (:class:`UndoError`, the store unchanged) when there is no such upload, it is another
        uploader's (whose is not said) or a later one of ``uploaded_by`` came after it.

        Partner releases already made are not changed: a release is published once and never
        recomputed (geo/releases.py), so a month released with the file's records keeps them.
        The place index is public data, apart from the records, and is kept too.
        """
        with self._transaction():
            rows = self._execute("SELECT uploaded_by FROM batches WHERE id = ?", (batch_id,))
            if not rows:
                raise UndoError(f"there is no upload {batch_id} (was it undone already?)")
            if rows[0][0] != uploaded_by:
                raise UndoError(
                    f"upload {batch_id} was made by someone else: only its uploader may undo it"
                )
            latest = self.last_upload(uploaded_by)
            if latest is not None and latest.batch_id != batch_id:
                # (not which upload: upload numbers count every agency's files)
                raise UndoError(
                    f"upload {batch_id} is not {uploaded_by}'s latest (a later upload of "
                    f"{uploaded_by} came after it): only the latest upload can be undone"
                )
            # the batch row first: of two undos at once, the second waits here, then finds none
            if not self._execute(
                "DELETE FROM batches WHERE id = ? AND uploaded_by = ? RETURNING id",
                (batch_id, uploaded_by),
            ):
                raise UndoError(f"there is no upload {batch_id} (was it undone already?)")
            removed = self._delete_batch_records(batch_id)
            # counted in the same transaction: data_version and data_token never come back to
            # a value they had before (see data_version)
            self._count_change(_UNDONE)
        return removed

    def _count_change(self, key: str) -> None:
        """Count a change that adds no file (an undo, a services list), in the caller's
        transaction, so that :meth:`data_version` moves on."""
        self._execute(
            "INSERT INTO meta (key, value) VALUES (?, '0') ON CONFLICT (key) DO NOTHING", (key,)
        )
        self._execute(
            "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = ?", (key,)
        )

    # --- the place index --------------------------------------------------------------------

    def places(self) -> pd.DataFrame:
        """Return the place index of public street names: ``cell`` (H3, resolution 12),
        ``street`` and ``n`` (police.uk rows snapped there; 0 for a gazetteer place), one row
        per cell and street. Built from public sources only, never from the records."""
        frame = self.query(
            "SELECT cell, street, max(n) AS n FROM places GROUP BY cell, street "
            "ORDER BY cell, street"
        )
        return frame.astype({"cell": "int64", "street": "str", "n": "int64"})

    # --- services open at night --------------------------------------------------------------

    def replace_services(self, services: pd.DataFrame) -> int:
        """Replace the whole set of services (:data:`SERVICE_COLUMNS`) with ``services``, in one
        transaction; return how many are stored.

        A services file is the deployment's whole list, not an addition to it: a service left
        out of it has closed or moved. A failure leaves the services as they were.
        """
        missing = [c for c in SERVICE_COLUMNS if c not in services.columns]
        if missing:
            raise StoreError(f"services to store lack the columns {', '.join(missing)}")
        rows = services.loc[:, list(SERVICE_COLUMNS)]
        with self._transaction():
            self._execute("DELETE FROM services")
            if len(rows):
                self._insert_services(rows, datetime.now(UTC).replace(tzinfo=None))
            self._count_change(_SERVICES_LOADED)  # cached maps and routes refresh
        return len(rows)

    def services(self) -> pd.DataFrame:
        """Return the stored services (:data:`SERVICE_COLUMNS` and ``loaded_at``, UTC naive),
        by name; no rows when none were loaded.

        Sorted here, regardless of case, rather than by SQL alone: a PostgreSQL server's
        collation may order names otherwise than DuckDB does, and both engines give one order.
        """
        columns = ", ".join(SERVICE_COLUMNS)
        frame = self.query(f"SELECT {columns}, loaded_at FROM services ORDER BY name")
        types = {c: "float64" if c in ("lat", "lon") else "str" for c in SERVICE_COLUMNS}
        frame = frame.astype({**types, "loaded_at": "datetime64[us]"})
        frame = frame.sort_values("name", key=lambda names: names.str.casefold(), kind="stable")
        return frame.reset_index(drop=True)

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

    def has_real_records(self) -> bool:
        """Return whether any file of real reports was loaded: one not synthetic and not of the
        public police.uk layer (a store without is a demo store)."""
        frame = self.query(
            "SELECT count(*) AS n FROM batches WHERE NOT synthetic AND layer <> 'policeuk'"
        )
        return bool(frame["n"].iloc[0])

    def data_version(self) -> tuple[int, int, int]:
        """Return (files held, records they added, other changes: uploads undone and services
        lists loaded): it changes whenever data is added, an upload undone or the services
        replaced, and never comes back to a value it had.

        Files are only added or undone, each undo counted in its own transaction: two moments
        with the same files held and uploads undone had the same files. (Without the count, an
        undo followed by a file of as many records would look like no change.) Read from the
        small tables of files and settings, not by counting records: cheap enough to ask on
        every page view, so that cached views refresh when a file lands or goes.
        """
        rows = self._execute(
            "SELECT count(*), coalesce(sum(accepted), 0), "
            "(SELECT coalesce(sum(CAST(value AS BIGINT)), 0) FROM meta "
            f"WHERE key IN ('{_UNDONE}', '{_SERVICES_LOADED}')) "
            "FROM batches"
        )
        return int(rows[0][0]), int(rows[0][1]), int(rows[0][2])

    def batches(self) -> dict[int, int]:
        """Return every ingested file's batch id and the number of records it added."""
        return {int(i): int(n) for i, n in self._execute("SELECT id, accepted FROM batches")}

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
        for column in ("month", "night"):
            if column in frame.columns:
                frame[column] = pd.to_datetime(frame[column]).dt.date
        return frame

    def cube(
        self,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...] = (),
        sun_at: tuple[float, float] | None = None,
    ) -> Contributions:
        """Return :meth:`contributions` as arrays, the form the privacy gate works on."""
        return Contributions.from_frame(self.contributions(f, res=res, by=by, sun_at=sun_at), by=by)

    def unknown_time_count(self, f: CubeFilter) -> int:
        """Return how many records ``f`` leaves out only because their time of night is unknown."""
        if not f.needs_time_of_night:
            return 0
        sql, params = _queries.unknown_time(f, storage_res=self.storage_res)
        return int(self.query(sql, params)["n"].iloc[0])

    def view_counts(
        self,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...] = (),
        sun_at: tuple[float, float] | None = None,
    ) -> tuple[Contributions, int]:
        """Return :meth:`cube` and :meth:`unknown_time_count` of ``f``: what a view needs."""
        return self.cube(f, res=res, by=by, sun_at=sun_at), self.unknown_time_count(f)

    def months(
        self, *, layers: Sequence[str] | None = None, sharing: Sequence[str] | None = None
    ) -> list[date]:
        """Return the months the store holds records of (of ``layers`` and ``sharing`` levels
        only, if given), in order."""
        clauses, params = [], []
        for column, values in (("layer", layers), ("sharing", sharing)):
            if values is not None:
                clauses.append(f"{column} IN ({', '.join('?' for _ in values) or 'NULL'})")
                params += list(values)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        frame = self.query(f"SELECT DISTINCT month FROM records {where} ORDER BY month", params)
        return [pd.Timestamp(m).date() for m in frame["month"]]

    # --- partner releases ------------------------------------------------------------------

    def release_ids(self) -> dict[date, str]:
        """Return the releases made: month -> release id (a month has one, whatever its
        scope or version)."""
        rows = self._execute("SELECT month, id FROM releases ORDER BY month")
        return {pd.Timestamp(month).date(): str(rid) for month, rid in rows}

    def release_values(self, ids: Sequence[str]) -> pd.DataFrame:
        """Return the rows of the releases ``ids`` (:data:`geo.releases.COLUMNS`), with each
        row's ``release`` id and ``month``."""
        columns = ", ".join(f'v."{c}"' for c in RELEASE_COLUMNS)
        frame = self.query(
            f"SELECT v.release_id AS release, r.month, {columns} "
            "FROM release_values v JOIN releases r ON r.id = v.release_id "
            f"WHERE v.release_id IN ({', '.join('?' for _ in ids) or 'NULL'})",
            list(ids),
        )
        frame["month"] = pd.to_datetime(frame["month"]).dt.date
        return frame.astype({"cell": "int64", "value": "int64", "people": "int64", "public": bool})

    def add_release(
        self, release_id: str, *, month: date, scope: str, version: int, rows: pd.DataFrame
    ) -> bool:
        """Store a release whole; return False (storing nothing) if ``month`` has a release.

        A release is never changed once stored, nor made again for its month: a second maker
        (another process made it first), or a later version, keeps the stored one.
        """
        self._begin()
        try:
            made = self._execute(
                "INSERT INTO releases (id, month, scope, version, made_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING RETURNING id",
                (release_id, month, scope, version, datetime.now(UTC).replace(tzinfo=None)),
            )
            if made:
                self._insert_release_values(rows.assign(release_id=release_id))
        except BaseException:
            self._rollback()
            raise
        if not made:
            self._rollback()
            return False
        self._commit()
        return True

    def record_columns(self) -> list[str]:
        """Return the columns of the records table, as stored."""
        return list(self.query("SELECT * FROM records LIMIT 0").columns)

    @abc.abstractmethod
    def records(self, columns: Sequence[str], batches: Sequence[int]) -> pa.Table:
        """Return ``columns`` of the records of ``batches`` as an Arrow table, in bulk."""

    @abc.abstractmethod
    def data_token(self) -> object:
        """Return a value that changes whenever a batch of records is committed or undone
        (cheaply), and never comes back to a value it had."""

    @abc.abstractmethod
    def reader(self) -> Store:
        """Return a store over the same data on a connection of its own, for another thread.

        Call it on the thread that uses this store; the new store needs no set-up (this one
        was migrated and checked) and is closed by whoever asked for it.
        """

    def close(self) -> None:
        """Release the connection."""
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- engine hooks ----------------------------------------------------------------------

    @abc.abstractmethod
    def _query(self, sql: str, params: Sequence[Any]) -> pd.DataFrame: ...

    @abc.abstractmethod
    def _writer(self, batch_id: int) -> Writer: ...

    @abc.abstractmethod
    def _delete_batch_records(self, batch_id: int) -> int:
        """Delete the records of ``batch_id`` (and whatever claims their identities, so that
        the file can be ingested again); return how many, inside the open transaction."""

    @abc.abstractmethod
    def _add_places(self, places: pd.DataFrame) -> None:
        """Upsert ``places`` (:data:`PLACE_COLUMNS`, one row per key) keeping the greater n."""

    @abc.abstractmethod
    def _insert_services(self, services: pd.DataFrame, loaded_at: datetime) -> None:
        """Insert ``services`` (:data:`SERVICE_COLUMNS`), each loaded ``loaded_at``, inside the
        open transaction."""

    @abc.abstractmethod
    def _insert_release_values(self, rows: pd.DataFrame) -> None:
        """Insert ``rows`` (``release_id`` and :data:`RELEASE_COLUMNS`) into release_values."""

    @abc.abstractmethod
    def _close(self) -> None: ...

    # --- shared helpers --------------------------------------------------------------------

    def _insert_batch(self, info: BatchInfo) -> int:
        rows = self._execute(
            "INSERT INTO batches (layer, source, file_sha256, ingested_at, synthetic, "
            "uploaded_by, trusted) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                info.layer,
                "",  # the file's name is not stored: its hash and the batch's number are
                "",  # set with the count of records added, when the file has been read
                datetime.now(UTC).replace(tzinfo=None),
                info.synthetic,
                info.uploaded_by,
                info.trusted,
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
            with self._transaction():
                for statement in _statements(sql):
                    self._execute(statement)
                self._set_meta("schema_version", str(version))
                self._check_meta("storage_res", str(self.storage_res), _RES_MISMATCH)
        self._check_meta("storage_res", str(self.storage_res), _RES_MISMATCH)

    def _set_meta(self, key: str, value: str) -> None:
        self._execute("DELETE FROM meta WHERE key = ?", (key,))
        self._execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _check_scheme(self) -> None:
        """Refuse to add to records sealed under an older pseudonym scheme (see PSEUDONYM_SCHEME).

        A store written before the scheme was recorded has a key fingerprint and no scheme.
        """
        rows = dict(self._execute("SELECT key, value FROM meta"))
        scheme = rows.get("pseudonym_scheme")
        if scheme is None and "key_fingerprint" in rows:
            scheme = "1"
        if scheme is not None and scheme != PSEUDONYM_SCHEME:
            raise StoreError(_SCHEME_MISMATCH.format(url=self.url, stored=scheme))
        if scheme is None:
            self._set_meta("pseudonym_scheme", PSEUDONYM_SCHEME)

    def _check_meta(self, key: str, value: str, message: str) -> None:
        rows = self._execute("SELECT value FROM meta WHERE key = ?", (key,))
        if not rows:
            self._set_meta(key, value)
        elif rows[0][0] != value:
            raise StoreError(message.format(url=self.url, stored=rows[0][0], given=value))


# The meta key counting uploads undone (see Store.data_version).
_UNDONE = "uploads_undone"
_SERVICES_LOADED = "services_loaded"
# The place index's columns, as the writers take them (see geo/places.py).
PLACE_COLUMNS = ("cell", "street", "source", "n")
# A service an outreach team may take a woman to at night, as the store takes and gives it
# (see ingest/services.py): public places, their hours one text per weekday (geo/opening.py).
SERVICE_COLUMNS = (
    "name",
    "kind",
    "address",
    "lat",
    "lon",
    *WEEKDAYS,
    "phone",
    "notes",
)
# Adds places from {rows} (a relation ``t`` of PLACE_COLUMNS). A row that would change nothing
# (indexed already with an n as great) is left out before the insert, so it takes no lock: the
# gazetteer's places come with every file, and concurrent files must not queue behind each
# other for them. Sorted, so that two writers lock the rows they do share in one order.
UPSERT_PLACES = (
    "INSERT INTO places (cell, street, source, n) SELECT t.cell, t.street, t.source, t.n "
    "FROM {rows} WHERE NOT EXISTS (SELECT 1 FROM places p WHERE p.cell = t.cell "
    "AND p.street = t.street AND p.source = t.source AND p.n >= t.n) "
    "ORDER BY t.cell, t.street, t.source "
    "ON CONFLICT (cell, street, source) DO UPDATE SET n = greatest(places.n, excluded.n)"
)

# How person references become pseudonyms: 1 folded case and spacing; 2 keeps letters and
# digits only, so that "AB-17" and "A.B. 17" are one woman (ingest.pseudonyms).
PSEUDONYM_SCHEME = "2"
_SCHEME_MISMATCH = (
    "the store {url} was sealed under pseudonym scheme {stored}, where a reference written "
    "with other punctuation (AB-17, AB17) made another person; its pseudonyms cannot be redone "
    "without the references, which are never stored. Make a new store and ingest the source "
    "files into it (STREETSAFE_STORE or --store)"
)
_KEY_MISMATCH = (
    "the store {url} was sealed with another pseudonym key (fingerprint {stored}, this key "
    "{given}); use the key it was made with (STREETSAFE_PSEUDONYM_KEY or STREETSAFE_KEY_FILE)"
)
_RES_MISMATCH = (
    "the store {url} seals points at H3 resolution {stored}, not {given}; "
    "set STREETSAFE_STORAGE_RES={stored} or use a new store"
)


def _migrations(dialect: str) -> list[tuple[int, str]]:
    """Return the dialect's migrations, in order: (version, SQL text as released).

    A released migration is frozen text: a store made with it must be migrated the same way by
    every later version, so nothing is filled in from today's code.
    """
    folder = resources.files("store") / "migrations" / dialect
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            out.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return out


def _statements(sql: str) -> list[str]:
    """Split a migration into statements at ``;``, except inside a ``$$``-quoted body (a
    PL/pgSQL function's)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    pieces = "\n".join(lines).split("$$")
    out, current = [], ""
    for i, piece in enumerate(pieces):
        if i % 2:  # inside $$ ... $$: kept whole
            current += f"$${piece}$$"
            continue
        first, *rest = piece.split(";")
        current += first
        for part in rest:
            out.append(current)
            current = part
    out.append(current)
    return [s.strip() for s in out if s.strip()]


def to_arrow(records: pd.DataFrame) -> pa.Table:
    """Convert sealed records to the interchange schema both engines load."""
    return pa.Table.from_pandas(
        records.loc[:, list(ARROW_SCHEMA.names)], schema=ARROW_SCHEMA, preserve_index=False
    )
