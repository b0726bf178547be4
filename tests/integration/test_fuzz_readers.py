"""The readers of report files, fuzzed: random bytes, text in five encodings, hostile CSV.

Whatever a file holds, ingest ends in a summary or one of streetsafe's own errors with a
message, never another exception; a file refused leaves the store as it was; every row of a
file is accounted for, and the store grows by the records accepted. The strategies and checks
are bench/fuzz_bench.py's, which runs them for minutes (``python -m bench.fuzz_bench``); here
they run for seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bench.fuzz_bench import (
    READERS,
    FuzzFile,
    check,
    check_run,
    csv_files,
    fuzz_context,
    fuzz_files,
)
from ingest.kinds import KINDS
from ingest.seal import SealContext
from store import Store, open_store
from tests.conftest import ENGINES
from tests.pg_cluster import PgCluster

# Not shrunk here: each try is an ingest, and shrinking a failure takes minutes. The benchmark
# shrinks what it finds and saves the smallest input; a failure here shows the input it met.
FUZZ = settings(
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Target:
    """A store and a sealing context shared by a test's examples. The checks compare the store
    before and after each file, so what earlier examples left in it does not matter."""

    store: Store
    ctx: SealContext
    rejects: Path  # where a file's rejects are written, to be ingested again

    def __repr__(self) -> str:  # hypothesis shows its arguments: not the whole gazetteer
        return f"Target({self.store.engine})"


@contextmanager
def _embedded(folder: Path) -> Iterator[Target]:
    with open_store(str(folder / "fuzz.duckdb"), storage_res=10) as store:
        yield Target(store, fuzz_context(), folder / "rejects.csv")


@pytest.fixture(scope="module", params=ENGINES)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """One store of each engine for the module's examples."""
    folder = tmp_path_factory.mktemp("fuzz")
    if request.param == "embedded":
        with _embedded(folder) as embedded:
            yield embedded
        return
    server: PgCluster = request.getfixturevalue("pg_server")
    with server.fresh_database() as url, open_store(url, storage_res=10) as store:
        yield Target(store, fuzz_context(), folder / "rejects.csv")


@pytest.fixture(scope="module")
def embedded_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """An embedded store, for what does not depend on the engine (the rejects files)."""
    with _embedded(tmp_path_factory.mktemp("fuzz")) as embedded:
        yield embedded


@pytest.mark.parametrize("reader", READERS)
@settings(FUZZ, max_examples=20)
@given(data=st.data())
def test_any_file_is_read_or_refused_and_every_row_accounted_for(
    target: Target, reader: str, data: st.DataObject
) -> None:
    f = data.draw(fuzz_files(reader), label="file")
    check(target.store, target.ctx, f, rejects=target.rejects, round_trip=False)


@settings(FUZZ, max_examples=6)
@given(files=st.lists(st.sampled_from(tuple(KINDS)).flatmap(fuzz_files), min_size=2, max_size=3))
def test_several_files_in_one_run_each_land_whole_or_not_at_all(
    target: Target, files: list[FuzzFile]
) -> None:
    check_run(target.store, target.ctx, files)


@pytest.mark.parametrize("reader", READERS)
@settings(FUZZ, max_examples=8)
@given(data=st.data())
def test_a_rejects_file_read_again_gives_back_every_rejected_row_as_sent(
    embedded_target: Target, reader: str, data: st.DataObject
) -> None:
    f = data.draw(csv_files(reader), label="file")
    target = embedded_target
    check(target.store, target.ctx, f, rejects=target.rejects, round_trip=True)


HEADER = b"occurred_at,latitude,longitude,category,severity,agency\n"
GOOD = b"2025-03-14 23:40,50.9112,-1.3931,violence,high,Outreach team\n"


def _incidents(*rows: bytes) -> FuzzFile:
    """An incidents file of well-formed rows: each of them must be counted."""
    return FuzzFile("incidents", HEADER + b"".join(rows), "csv", "utf-8", (len(rows), len(rows)))


# What the fuzzing found (issue 18), kept as plain examples: none is marked xfail, so that
# each fails until the product is mended, and passes after.
FOUND = [
    # a NUL byte in one field refused the whole file as "binary" (fixed in d5a5661)
    pytest.param(
        _incidents(GOOD, b"2025-03-14 23:41,50.9112,-1.3931,vio\x00lence,high,x\n"), id="nul"
    ),
    # a field of 41 MB: Arrow's "straddling object straddles two block boundaries" refused the
    # whole file (fixed in d5a5661)
    pytest.param(
        _incidents(GOOD, b"2025-03-14 23:42,50.9112,-1.3931," + b"x" * 41_000_000 + b",high,x\n"),
        id="field-41MB",
    ),
    # a field holding a lone CR is written unquoted (the csv module quotes only the characters
    # of its own line end): read again, the row splits in two, "wrong number of fields", and
    # its values are lost: in --rejects (fixed in 6c246b8), and in the Data page's download of
    # the same rows (then ingest.files.spreadsheet_csv, lines ending with LF alone)
    pytest.param(
        _incidents(b'2025-03-14 23:43,50.9112,-1.3931,violence,"cr\ronly",Outreach team\n'),
        id="lone-CR-in-rejects",
    ),
    # a cell sent as '=1 is written to the rejects file as it is (it starts with a quote, not
    # a formula), and read back as =1: the escape is undone on a value that was never escaped
    pytest.param(
        _incidents(b"2025-03-14 23:44,50.9112,-1.3931,'=1,high,Outreach team\n"),
        id="quote-prefixed-cell-in-rejects",
    ),
    # a services file whose reject column is spelt otherwise ("Reject line") keeps it among
    # its own columns, so its rejects file has the column twice and is refused when read again
    pytest.param(
        FuzzFile(
            "services",
            b"name,kind,latitude,longitude,mon,tue,wed,thu,fri,sat,sun,Reject line\n"
            b"Drop-in,spa,50.9110,-1.3927,closed,closed,closed,closed,closed,closed,closed,\n",
            "csv",
            "utf-8",
            (1, 1),
        ),
        id="services-reject-column-spelt-otherwise",
    ),
]


@pytest.mark.parametrize("f", FOUND)
def test_a_hostile_field_rejects_its_row_alone_and_comes_back_from_the_rejects_as_sent(
    store: Store, ctx: SealContext, tmp_path: Path, f: FuzzFile
) -> None:
    check(store, ctx, f, rejects=tmp_path / "rejects.csv", round_trip=True)
