"""Files handed to the process that holds the embedded store (a running dashboard)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import pytest
from rich.console import Console

from geo.errors import StoreError
from store import Store, open_store
from streetsafe import audit
from streetsafe.handoff import IngestService, hand_over, socket_path
from streetsafe.ingest_command import Bars, Consoles, IngestRequest
from streetsafe.settings import Settings
from tests.conftest import POLICEUK_HAMPSHIRE, POLICEUK_HAMPSHIRE_SOUTHAMPTON, ROOT


class NoBars:
    def of(self, n: int) -> None:
        return None

    def done(self, n: int) -> None:
        return None


def no_bars() -> AbstractContextManager[Bars]:
    return nullcontext(NoBars())


@pytest.fixture
def held(settings: Settings) -> Iterator[tuple[Store, IngestService]]:
    """The store as a dashboard holds it, taking files on its socket."""
    store = open_store(settings.store, storage_res=settings.storage_res)
    lock = threading.Lock()

    @contextmanager
    def reader() -> Iterator[Store]:
        own = store.reader()
        try:
            yield own
        finally:
            own.close()

    service = IngestService(settings.store, settings=settings, open_store=reader, ingest_lock=lock)
    service.start()
    try:
        yield store, service
    finally:
        service.close()
        store.close()


def consoles() -> tuple[Consoles, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Consoles(out=Console(file=out, width=100), err=Console(file=err, width=100)), out, err


def test_a_file_handed_over_is_stored_by_the_holder_and_reported_as_the_command_would(
    held: tuple[Store, IngestService],
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, _ = held
    before = store.record_count()
    request = IngestRequest("policeuk", (POLICEUK_HAMPSHIRE,), tmp_path / "r.csv", as_json=True)
    terminal, _, err = consoles()
    code = hand_over(settings.store, request, consoles=terminal, bars=no_bars)
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["accepted"] == POLICEUK_HAMPSHIRE_SOUTHAMPTON
    assert store.record_count() == before + POLICEUK_HAMPSHIRE_SOUTHAMPTON
    assert "handed to it" in err.getvalue()
    trail = store.audit_entries(events=[audit.UPLOAD_COMPLETE])
    assert json.loads(trail["detail"].iloc[-1])["accepted"] == POLICEUK_HAMPSHIRE_SOUTHAMPTON
    assert audit.verify(store).ok


def test_a_bad_file_handed_over_is_a_message_and_exit_1_and_stores_nothing(
    held: tuple[Store, IngestService],
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, _ = held
    junk = tmp_path / "junk.csv"
    junk.write_text("not,a,report\n1,2,3\n")
    request = IngestRequest("incidents", (junk, POLICEUK_HAMPSHIRE))
    terminal, _, _ = consoles()
    assert hand_over(settings.store, request, consoles=terminal, bars=no_bars) == 1
    printed = capsys.readouterr()
    assert "junk.csv" in printed.err
    assert "Traceback" not in printed.err + printed.out
    assert store.record_count() == 0


def test_an_unknown_agency_is_a_usage_error_through_the_holder_too(
    held: tuple[Store, IngestService], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    request = IngestRequest("incidents", (POLICEUK_HAMPSHIRE,), from_agency="Ghost team")
    terminal, _, _ = consoles()
    assert hand_over(settings.store, request, consoles=terminal, bars=no_bars) == 2
    assert "'Ghost team' is not an agency" in capsys.readouterr().err


def test_no_holder_or_a_stale_socket_means_the_command_opens_the_store_itself(
    settings: Settings,
) -> None:
    request = IngestRequest("policeuk", (POLICEUK_HAMPSHIRE,))
    terminal, _, _ = consoles()
    assert hand_over(settings.store, request, consoles=terminal, bars=no_bars) is None
    stale = socket_path(settings.store)
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(stale))  # bound, never listening: a dashboard killed -9 leaves this
    assert hand_over(settings.store, request, consoles=terminal, bars=no_bars) is None
    assert hand_over("postgresql://x/y", request, consoles=terminal, bars=no_bars) is None


def test_the_socket_is_its_owners_alone_and_a_second_holder_is_refused(
    held: tuple[Store, IngestService], settings: Settings
) -> None:
    store, service = held
    assert service.path.stat().st_mode & 0o077 == 0
    second = IngestService(
        settings.store,
        settings=settings,
        open_store=lambda: nullcontext(store),
        ingest_lock=threading.Lock(),
    )
    with pytest.raises(OSError, match="another dashboard"):
        second.start()


def test_a_long_store_path_gets_a_socket_in_a_private_folder(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*(["a-rather-long-folder-name"] * 6), "store.duckdb")
    path = socket_path(deep)
    assert len(os.fsencode(path)) <= 107
    assert path.name.endswith(".sock")
    assert socket_path(deep) == path


def test_another_process_holding_the_store_is_named_in_the_message(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
         "print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError) as caught:
            open_store(str(path), storage_res=10)
        message = str(caught.value)
        assert f"PID {holder.pid}" in message
        assert "hands its files to a running dashboard" in message
    finally:
        holder.kill()
        holder.communicate()


def test_connections_of_one_process_writing_the_trail_at_once_make_one_chain(
    store: Store,
) -> None:
    readers = [store.reader() for _ in range(3)]

    def write(own: Store) -> None:
        for i in range(30):
            audit.record(own, audit.SENSITIVE_READ, audit.OPERATOR, n=i)

    threads = [threading.Thread(target=write, args=(own,)) for own in [store, *readers]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for own in readers:
        own.close()
    check = audit.verify(store)
    assert check.ok, check.problems
    assert check.entries == 120


def test_a_caller_of_another_user_is_refused_and_nothing_is_read(
    held: tuple[Store, IngestService],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, _ = held
    monkeypatch.setattr("streetsafe.handoff._peer", lambda conn: (4242, os.getuid() + 1))
    request = IngestRequest("policeuk", (POLICEUK_HAMPSHIRE,))
    terminal, _, _ = consoles()
    assert hand_over(settings.store, request, consoles=terminal, bars=no_bars) == 1
    assert "from its own user only" in capsys.readouterr().err
    assert store.record_count() == 0
