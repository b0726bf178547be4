"""The ingest pipeline's thread helpers: order kept, work overlapped, threads stopped."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from functools import partial
from typing import TypeGuard

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.ordered import map_ordered, read_ahead

WAIT = 2.0  # seconds: a bound that only a broken helper reaches
POOL = "streetsafe-test-pool"


def _alive(prefix: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


def _task(value: object, before: Callable[[], object] = lambda: None) -> Callable[[], object]:
    """A task for :func:`_pool`: runs ``before``, then returns ``value``."""

    def run() -> object:
        before()
        return value

    return run


def _run(task: Callable[[], object]) -> object:
    return task()


def _is_task(item: object) -> TypeGuard[Callable[[], object]]:
    return callable(item)  # the markers are text


def _pool(
    items: Iterable[object], *, workers: int = 2, flush: Callable[[object], bool] = lambda _: False
) -> Generator[object]:
    return map_ordered(_run, items, is_task=_is_task, workers=workers, name=POOL, flush=flush)


class _Source:
    """A generator of the given items that records how far it was read and whether it closed."""

    def __init__(self, items: Iterator[object]) -> None:
        self.pulled = 0
        self.closed = False
        self.items = items

    def __iter__(self) -> Generator[object]:
        try:
            for item in self.items:
                self.pulled += 1
                yield item
        finally:
            self.closed = True


# read_ahead


def test_read_ahead_yields_every_item_in_order_none_included() -> None:
    assert list(read_ahead(iter([1, None, 2, 0]), name="streetsafe-test-ra")) == [1, None, 2, 0]
    assert not _alive("streetsafe-test-ra")


def test_read_ahead_makes_the_next_item_while_the_consumer_holds_this_one() -> None:
    second_made = threading.Event()

    def items() -> Generator[int]:
        yield 1
        second_made.set()
        yield 2

    with contextlib.closing(read_ahead(items(), name="streetsafe-test-ra")) as ahead:
        assert next(ahead) == 1
        assert second_made.wait(WAIT), "the next item was not made ahead"
        assert list(ahead) == [2]


def test_read_ahead_raises_the_producer_error_after_the_items_before_it() -> None:
    def items() -> Generator[int]:
        yield 1
        yield 2
        raise ValueError("bad input")

    got: list[int] = []
    with pytest.raises(ValueError, match="bad input"):
        got.extend(read_ahead(items(), name="streetsafe-test-ra"))
    assert got == [1, 2]
    assert not _alive("streetsafe-test-ra")


def test_closing_read_ahead_early_stops_its_thread_and_closes_the_source() -> None:
    source = _Source(itertools.count())
    items = iter(source)  # kept alive here: only closing it can set `closed`
    ahead = read_ahead(items, name="streetsafe-test-ra")
    assert [next(ahead), next(ahead)] == [0, 1]
    ahead.close()
    assert source.closed
    assert source.pulled <= 4  # the two taken, one waiting, one in the worker's hand
    assert not _alive("streetsafe-test-ra")


# map_ordered


def test_results_come_in_input_order_even_when_a_later_task_finishes_first() -> None:
    second_done = threading.Event()
    finished: list[int] = []

    def first() -> int:
        assert second_done.wait(WAIT)
        finished.append(1)
        return 1

    def second() -> int:
        finished.append(2)
        second_done.set()
        return 2

    got = list(_pool([first, second]))
    assert got == [1, 2]
    assert finished == [2, 1]


def test_markers_keep_their_place_among_the_results() -> None:
    items = ["start", _task(1), "middle", _task(2), _task(3), "end", "x"]
    got = list(_pool(items))
    assert got == ["start", 1, "middle", 2, 3, "end", "x"]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_workers_tasks_run_at_once_and_no_more_are_pending(workers: int) -> None:
    together = threading.Barrier(workers, timeout=WAIT)  # broken unless `workers` run at once
    source = _Source(_task(i, together.wait) for i in range(4 * workers))
    got: list[object] = []
    for result in _pool(iter(source), workers=workers):
        # Tasks read but not yet handed on, this one included: at most `workers`.
        assert source.pulled - len(got) <= workers
        got.append(result)
    assert got == list(range(4 * workers))


def test_a_flush_marker_hands_on_what_is_pending_before_the_next_item_is_read() -> None:
    go = threading.Event()
    waited_out = False

    def items() -> Generator[object]:
        nonlocal waited_out
        yield _task(1)
        yield "end"
        waited_out = not go.wait(WAIT)  # the next file, still being read
        yield _task(2)

    pool = _pool(items(), flush=lambda marker: marker == "end")
    with contextlib.closing(pool):
        assert [next(pool), next(pool)] == [1, "end"]
        assert not waited_out
        go.set()
        assert list(pool) == [2]
    assert not waited_out


def test_a_task_error_comes_out_in_its_turn_and_the_pool_stops() -> None:
    failed = threading.Event()

    def boom() -> int:
        failed.set()
        raise ZeroDivisionError("a bug")

    slow = _task(1, lambda: failed.wait(WAIT))  # still running when the next task fails
    source = _Source(iter([slow, "marker", boom, _task(3), "after"]))
    items = iter(source)  # kept alive here: only closing it can set `closed`
    pool = _pool(items)
    got: list[object] = []
    with pytest.raises(ZeroDivisionError, match="a bug"):
        got.extend(pool)
    assert got == [1, "marker"]
    assert list(pool) == []  # finished: nothing after the error is handed on
    assert source.closed
    assert not _alive(POOL)


def test_closing_the_pool_early_stops_its_threads_and_closes_the_source() -> None:
    source = _Source(_task(i, lambda: time.sleep(0.001)) for i in itertools.count())
    items = iter(source)  # kept alive here: only closing it can set `closed`
    pool = _pool(items)
    assert [next(pool), next(pool), next(pool)] == [0, 1, 2]
    pool.close()
    assert source.closed
    assert not _alive(POOL)


_MS = [0.0, 0.0005, 0.001, 0.002]  # task and producer delays, in seconds

_steps = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(_MS), st.sampled_from(["marker", "flush"])),
        st.sampled_from(_MS),  # the producer's delay before this item
    ),
    max_size=10,
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(steps=_steps, workers=st.integers(min_value=1, max_value=3))
def test_whatever_the_durations_everything_comes_out_in_input_order(
    steps: list[tuple[float | str, float]], workers: int
) -> None:
    def produce() -> Generator[object]:
        for n, (what, delay) in enumerate(steps):
            time.sleep(delay)  # a slow producer: a file still being read
            if isinstance(what, str):
                yield (n, what)
            else:
                yield _task((n, "result"), partial(time.sleep, what))

    want = [(n, "result" if isinstance(what, float) else what) for n, (what, _) in enumerate(steps)]
    # As in the pipeline: the producer, the pool and its consumer each on a thread of their own.
    pool = _pool(
        read_ahead(produce(), name="streetsafe-test-ra-in"),
        workers=workers,
        flush=lambda marker: isinstance(marker, tuple) and marker[1] == "flush",
    )
    assert list(read_ahead(pool, name="streetsafe-test-ra-out")) == want
    assert not _alive("streetsafe-test")
