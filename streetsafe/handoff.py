"""Files handed to the dashboard that holds the embedded store, to ingest while it runs.

DuckDB lets one process at a time open a database file to write, and a running dashboard keeps
its store open (its sessions write the audit trail at every view). So ``streetsafe ingest`` on
that store gives its request to the dashboard: the dashboard listens on a Unix socket beside
the store (or, for a long path, in a private folder of the user's), runs the ingest on a
connection of its own (its sessions' views and sign-ins are not held up), and sends back the
text the command would have printed, the progress of each file and the exit status. The new
records are in the dashboard's views at their next rerun.

Only the dashboard's own user (or root) may hand it files: the socket file is the owner's
alone, and the server checks each caller's user id (``SO_PEERCRED``). The files are read by the
dashboard's process, so they must be readable by its user; the rejects file is written by it.
PostGIS needs none of this: every process opens the server's database at once.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import json
import os
import socket
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any, TextIO, cast

from rich.console import Console

from geo.errors import StreetsafeError
from streetsafe.ingest_command import (
    FAILED,
    Bars,
    Consoles,
    IngestRequest,
    StoreOpener,
    run_ingest,
)

PROTOCOL = 1
MAX_REQUEST = 1 << 20  # bytes: a request names files, it does not carry them
_SUN_PATH_MAX = 107  # bytes of a Unix socket's path (108 with its NUL)
_PROGRESS_EVERY = 0.2  # seconds between two progress messages of a file
_CRED = struct.Struct("3i")  # SO_PEERCRED: pid, uid, gid


def socket_path(store_file: str | Path) -> Path:
    """Return where the dashboard of the embedded store ``store_file`` listens for files.

    Beside the store (its folder is private), as ``STORE.ingest.sock``; when that path is too
    long for a socket, in a private folder of the user's in the temporary directory, named by
    a digest of the store's real path.
    """
    real = os.path.realpath(store_file)
    beside = Path(real + ".ingest.sock")
    if len(os.fsencode(beside)) <= _SUN_PATH_MAX:
        return beside
    digest = hashlib.sha256(os.fsencode(real)).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"streetsafe-{os.getuid()}" / f"{digest}.sock"


def embedded_file(store_url: str) -> str | None:
    """Return the database file of an embedded store's URL; None for PostGIS or memory."""
    if store_url.startswith(("postgresql://", "postgres://")):
        return None
    path = store_url.removeprefix("duckdb://")
    return None if path == ":memory:" else path


# --- the dashboard's side ----------------------------------------------------------------------


class IngestService:
    """The dashboard's listener: takes ``streetsafe ingest`` requests for its embedded store,
    one at a time, while its sessions go on.

    ``open_store`` lends a connection of the dashboard's own to ingest on (its sessions keep
    theirs); ``ingest_lock`` is held while a file is ingested, so an upload from the Data page
    and a handed file do not add the same records at once.
    """

    def __init__(
        self,
        store_file: str | Path,
        *,
        settings: Any,
        open_store: StoreOpener,
        ingest_lock: threading.Lock,
    ) -> None:
        self.path = socket_path(store_file)
        self._settings = settings
        self._open_store = open_store
        self._ingest_lock = ingest_lock
        self._sock: socket.socket | None = None
        self._closed = threading.Event()

    def start(self) -> IngestService:
        """Listen (replacing a stale socket file a dashboard that died left), on a thread of
        its own; raise :class:`OSError` if another live process listens there already."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            if _answers(self.path):
                raise OSError(f"another dashboard takes files for this store at {self.path}")
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket file is its owner's alone from the first moment
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        sock.listen(4)
        self._sock = sock
        atexit.register(self.close)
        threading.Thread(target=self._accept, name="streetsafe-handoff", daemon=True).start()
        return self

    def close(self) -> None:
        """Stop listening and take the socket file away."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            threading.Thread(
                target=self._serve, args=(conn,), name="streetsafe-handoff-ingest", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            channel = _Channel(conn)
            try:
                self._answer(conn, channel)
            except _CallerGoneError:
                return  # the command was stopped: what it was ingesting is rolled back
            except Exception as exc:  # a bug: told to the command, and we go on
                with contextlib.suppress(_CallerGoneError):
                    channel.send(err=f"error: the dashboard failed to ingest: {exc!r}\n")
                    channel.send(exit=FAILED)

    def _answer(self, conn: socket.socket, channel: _Channel) -> None:
        _, uid = _peer(conn)
        if uid not in (os.getuid(), 0):
            channel.send(err="error: the dashboard takes files from its own user only\n")
            channel.send(exit=FAILED)
            return
        try:
            asked = _read_request(conn)
            request = IngestRequest.from_dict(asked["request"])
        except (StreetsafeError, ValueError, KeyError, TypeError) as exc:
            channel.send(err=f"error: {exc}\n")
            channel.send(exit=FAILED)
            return
        consoles = Consoles(
            out=channel.console("out", asked.get("out", {})),
            err=channel.console("err", asked.get("err", {})),
        )
        if not self._ingest_lock.acquire(blocking=False):
            channel.send(err="waiting for the dashboard's ingest of another file to end…\n")
            self._ingest_lock.acquire()
        try:
            code = run_ingest(
                request,
                settings=self._settings,
                open_store=self._open_store,
                consoles=consoles,
                bars=_RemoteBars(channel),
            )
        finally:
            self._ingest_lock.release()
        channel.send(exit=code)


class _CallerGoneError(ConnectionError):
    """The command that handed the files over is gone (stopped, or its terminal closed)."""


class _Channel:
    """Messages to the command, one JSON object a line; from any thread."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, **message: Any) -> None:
        data = (json.dumps(message, ensure_ascii=False) + "\n").encode()
        with self._lock:
            try:
                self._conn.sendall(data)
            except OSError as exc:
                raise _CallerGoneError from exc

    def console(self, stream: str, like: dict[str, Any]) -> Console:
        """A console printing to the command's ``stream`` as its own console would."""
        width = like.get("width")
        colour = like.get("color_system")
        return Console(
            file=cast(IO[str], _Stream(self, stream)),
            width=int(width) if isinstance(width, int) and width > 0 else 80,
            force_terminal=bool(like.get("terminal")),
            color_system=colour if colour in {"standard", "256", "truecolor"} else None,
            legacy_windows=False,
        )


class _Stream(io.TextIOBase):
    """A text file whose writes go to the command's stdout or stderr."""

    def __init__(self, channel: _Channel, stream: str) -> None:
        self._channel = channel
        self._stream = stream

    def write(self, text: str) -> int:
        if text:
            self._channel.send(**{self._stream: text})
        return len(text)

    def isatty(self) -> bool:
        return False


class _RemoteBars:
    """Each file's progress, sent to the command to draw (a few times a second at most)."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel

    def of(self, n: int) -> Callable[[int, int], None]:
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= _PROGRESS_EVERY or done >= total:
                last[0] = now
                self._channel.send(progress=[n, done, total])

        return progress

    def done(self, n: int) -> None:
        self._channel.send(done=n)


def _peer(conn: socket.socket) -> tuple[int, int]:
    pid, uid, _ = _CRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CRED.size))
    return pid, uid


def _read_request(conn: socket.socket) -> dict[str, Any]:
    conn.settimeout(10)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("the command hung up before its request")
        data += chunk
        if len(data) > MAX_REQUEST:
            raise ValueError("the request is too long")
    conn.settimeout(None)
    asked = json.loads(data)
    if not isinstance(asked, dict) or asked.get("protocol") != PROTOCOL:
        raise ValueError("the command and the dashboard are different versions of streetsafe")
    return asked


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def serve(
    store_url: str, *, settings: Any, open_store: StoreOpener, ingest_lock: threading.Lock
) -> IngestService | None:
    """Start taking files for the embedded store at ``store_url``; None for PostGIS (every
    process opens it) or when the socket cannot be made (said on stderr: the dashboard runs
    on, and the command says how to ingest)."""
    store_file = embedded_file(store_url)
    if store_file is None:
        return None
    service = IngestService(
        store_file, settings=settings, open_store=open_store, ingest_lock=ingest_lock
    )
    try:
        return service.start()
    except OSError as exc:
        print(
            f"streetsafe: the dashboard cannot take files from `streetsafe ingest`: {exc}",
            file=sys.stderr,
        )
        return None


# --- the command's side ------------------------------------------------------------------------


def hand_over(
    store_url: str,
    request: IngestRequest,
    *,
    consoles: Consoles,
    bars: Callable[[], AbstractContextManager[Bars]],
) -> int | None:
    """Give ``request`` to the dashboard running on the embedded store ``store_url``; print
    what it prints and return its exit status. None when no dashboard takes files for that
    store (the command then opens the store itself)."""
    store_file = embedded_file(store_url)
    if store_file is None:
        return None
    path = socket_path(store_file)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:  # none there, or one a dashboard that stopped left behind
        conn.close()
        return None
    with conn:
        consoles.err.print(
            "the dashboard has this store open: the files are handed to it to ingest",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        asked = {
            "protocol": PROTOCOL,
            "request": request.as_dict(),
            "out": _like(consoles.out),
            "err": _like(consoles.err),
        }
        conn.sendall((json.dumps(asked) + "\n").encode())
        with bars() as shown:
            code = _relay(conn, shown)
    if code is None:
        consoles.error(
            "the dashboard stopped while it ingested: what it had not reported stored is not "
            "stored; ingest the files again (rows already stored are recognised and added as "
            "nothing)"
        )
        return FAILED
    return code


def _like(console: Console) -> dict[str, Any]:
    return {
        "width": console.width,
        "terminal": console.is_terminal,
        "color_system": console.color_system,
    }


def _relay(conn: socket.socket, shown: Bars) -> int | None:
    """Print what the dashboard sends until its exit status (None if it hangs up first)."""
    progress: dict[int, Callable[[int, int], None] | None] = {}
    for line in _lines(conn):
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "exit" in message:
            return int(message["exit"])
        _show(message, shown, progress)
    return None


def _show(
    message: dict[str, Any],
    shown: Bars,
    progress: dict[int, Callable[[int, int], None] | None],
) -> None:
    streams: dict[str, TextIO] = {"out": sys.stdout, "err": sys.stderr}
    for name, stream in streams.items():
        if name in message:
            stream.write(str(message[name]))
            stream.flush()
    if "progress" in message:
        n, done, total = (int(v) for v in message["progress"])
        if n not in progress:
            progress[n] = shown.of(n)
        callback = progress[n]
        if callback is not None:
            callback(done, total)
    if "done" in message:
        shown.done(int(message["done"]))


def _lines(conn: socket.socket) -> Iterator[bytes]:
    buffered = b""
    while True:
        try:
            chunk = conn.recv(65536)
        except OSError:
            return
        if not chunk:
            return
        buffered += chunk
        *whole, buffered = buffered.split(b"\n")
        yield from whole
