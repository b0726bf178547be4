"""Views answered from memory: a store's resident cube, kept current on a thread of its own.

A server that answers many views (the dashboard) asks :class:`ResidentViews` instead of its
store: the records' cube columns are held in memory (:class:`~store.cube.ResidentCube`), so a
filter change costs a millisecond, not a query. Loading a force's records takes seconds, so it
happens in the background, on a connection of its own (:meth:`Store.reader`), and until the
cube is current the store's SQL answers: correct, only slower. Each file committed since is then
taken in the same way; an upload undone has the cube loaded again from the start. The cube is
not kept for stores of more than ``max_rows`` records, nor used for the ``after_sunset``
dimension: the store's SQL answers those.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from time import monotonic
from typing import Self

from geo.aggregate import Contributions, CubeFilter
from store._base import Store
from store.cube import COLUMNS, DIMENSIONS, ResidentCube

_log = logging.getLogger(__name__)

RETRY_LOAD_AFTER_S = 60.0  # a failed load is tried again after this long, for the same data


@dataclass(frozen=True)
class _Loaded:
    """The cube and what it is current for; replaced whole, never changed."""

    token: object = None  # the store's data token it is current for (None: never loaded)
    cube: ResidentCube | None = None  # None: not loaded, or the store is over the limit
    batches: frozenset[int] = frozenset()  # the batches whose records it holds


class ResidentViews:
    """The count cube of ``store``, from memory where the cube is current, else from its SQL.

    ``max_rows``: stores of more records are answered by their SQL (0: always). With
    ``background``, loads run on a thread of their own while the SQL answers (a shared
    server's views never wait for a load); without it, a view that finds the cube out of date
    brings it up to date first (benchmarks, tests). The caller keeps owning ``store``: close
    these views (which waits for a load under way) before closing it.
    """

    def __init__(self, store: Store, *, max_rows: int, background: bool = False) -> None:
        self.store = store
        self.storage_res = store.storage_res
        self.max_rows = max_rows
        self.background = background
        self._loaded = _Loaded()
        self._loader: threading.Thread | None = None
        self._lock = threading.Lock()  # guards _loader and _closed
        self._closed = False
        # the data a load last failed on, and until when not to try it again
        self._failed: tuple[object, float] | None = None

    # --- answering -------------------------------------------------------------------------

    def cube(
        self,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...] = (),
        sun_at: tuple[float, float] | None = None,
    ) -> Contributions:
        """Return the count cube of ``f`` (as :meth:`Store.cube`), from memory where it can."""
        return self._cube(self.current(), f, res=res, by=by, sun_at=sun_at)

    def view_counts(
        self,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...] = (),
        sun_at: tuple[float, float] | None = None,
    ) -> tuple[Contributions, int]:
        """Return :meth:`cube` and :meth:`unknown_time_count` of ``f`` from one look at the data.

        The cube is checked for new batches once for the two (on PostGIS that check is a query).
        """
        cube = self.current()
        return self._cube(cube, f, res=res, by=by, sun_at=sun_at), self._unknown(cube, f)

    def unknown_time_count(self, f: CubeFilter) -> int:
        """Return how many records ``f`` leaves out only because their time of night is unknown."""
        return self._unknown(self.current() if f.needs_time_of_night else None, f)

    def _cube(
        self,
        cube: ResidentCube | None,
        f: CubeFilter,
        *,
        res: int | None,
        by: tuple[str, ...],
        sun_at: tuple[float, float] | None,
    ) -> Contributions:
        if cube is not None and all(d in DIMENSIONS for d in by):
            answer = cube.contributions(f, res=res, by=by)
            if answer is not None:
                return answer
        return self.store.cube(f, res=res, by=by, sun_at=sun_at)

    def _unknown(self, cube: ResidentCube | None, f: CubeFilter) -> int:
        if cube is not None and f.needs_time_of_night:
            return cube.unknown_time_count(f)
        return self.store.unknown_time_count(f)

    # --- loading ---------------------------------------------------------------------------

    def current(self) -> ResidentCube | None:
        """Return the cube if it is current with the store, else None (the SQL answers).

        An out-of-date cube is brought up to date here, or (``background``) on a thread with a
        connection of its own.
        """
        if self.max_rows <= 0:
            return None
        token = self.store.data_token()
        loaded = self._loaded
        if token == loaded.token:
            return loaded.cube
        if not self.background:
            self._loaded = self._caught_up(self.store, loaded)
            return self._loaded.cube
        failed = self._failed
        if failed is None or failed[0] != token or monotonic() > failed[1]:
            self._load_in_background(token)
        return None

    @property
    def loaded(self) -> ResidentCube | None:
        """The cube held now, current or not (None: none is held)."""
        return self._loaded.cube

    def warm(self) -> None:
        """Bring the cube up to date now, rather than at the first view (in the background if
        so opened): a server calls this when it starts, so that its first views come from
        memory."""
        self.current()

    def wait_until_current(self, timeout: float | None = None) -> bool:
        """Bring the cube up to date and wait for it, at most ``timeout`` seconds.

        Returns whether the cube is then current with the store: False when the time ran out,
        the load failed, or the store's views come from its SQL (over ``max_rows``).
        """
        deadline = None if timeout is None else monotonic() + timeout
        waited: threading.Thread | None = None
        while True:
            if self.current() is not None:  # (in the background: starts a load if due)
                return True
            loader = self._loader
            if loader is None or loader is waited:
                return False  # no load under way: it failed, or the SQL answers this store
            loader.join(None if deadline is None else max(0.0, deadline - monotonic()))
            if loader.is_alive():
                return False
            waited = loader  # finished; data committed meanwhile wants another

    def _caught_up(self, reader: Store, loaded: _Loaded) -> _Loaded:
        """Return ``loaded`` extended with the batches committed since, read by ``reader``."""
        # The token first: a batch committed after it is taken in now and again later (no
        # batch is taken twice), whereas the other order could miss one for good.
        token = reader.data_token()
        accepted = reader.batches()
        if sum(accepted.values()) > self.max_rows:  # the SQL answers: free the memory
            return _Loaded(token)
        if loaded.batches - set(accepted):
            # an upload was undone: the cube cannot tell its records from the others', so it is
            # built again from the batches there are (an undo is rare; serving the records it
            # took back is not an option)
            loaded = _Loaded()
        new = sorted(set(accepted) - loaded.batches)
        cube = loaded.cube or ResidentCube.empty(storage_res=self.storage_res)
        if new:
            cube = cube.extend(reader.records(COLUMNS, new))
        return _Loaded(token, cube, loaded.batches | frozenset(new))

    def _load_in_background(self, token: object) -> None:
        with self._lock:
            if self._closed or (self._loader is not None and self._loader.is_alive()):
                return  # a load under way takes in what was committed before it began
            try:
                reader = self.store.reader()  # made here, on the thread that owns the store
            except Exception:
                self._load_failed(token)
                return
            self._loader = threading.Thread(
                target=self._load, args=(reader, token), name="streetsafe-resident", daemon=True
            )
            self._loader.start()

    def _load(self, reader: Store, token: object) -> None:
        # The only writer of self._loaded while loading in the background.
        try:
            with reader:
                self._loaded = self._caught_up(reader, self._loaded)
        except Exception:  # the views go on from the SQL
            self._load_failed(token)

    def _load_failed(self, token: object) -> None:
        # tried again when data is added, or after a while (the cause may have passed)
        self._failed = (token, monotonic() + RETRY_LOAD_AFTER_S)
        _log.exception("loading the resident cube of %s failed", self.store.url)

    def close(self) -> None:
        """Stop loading: wait for a load under way (it is not cancelled), start no other."""
        with self._lock:
            self._closed = True
            loader = self._loader
        if loader is not None:
            loader.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
