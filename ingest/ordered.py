"""Thread helpers for pipelines whose items must come out in the order they went in.

:func:`read_ahead` runs a producer on a thread of its own, one item ahead of its consumer;
:func:`map_ordered` runs a function on a few items at once and hands the results on in input
order, with the items it does not apply to (markers) in their place. Both stop their threads
when their consumer closes them, and know nothing of what flows through them.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeGuard, TypeVar

T = TypeVar("T")  # an item
S = TypeVar("S")  # an item that is a task
R = TypeVar("R")  # a task's result


def read_ahead(items: Iterator[T], *, name: str = "streetsafe-read-ahead") -> Generator[T]:
    """Yield the items of ``items`` in order while a worker thread produces the next one.

    Work that releases the GIL (parsing, hashing, numpy, a database insert) thus overlaps with
    the consumer's. At most one item waits, besides the one the worker has in hand. An exception
    in the worker is raised here, after the items before it. Closing this generator stops the
    worker (once it has finished the item in hand: a read from a slow pipe is waited for) and
    closes ``items`` if it is a generator.
    """
    # (item,) for each item, the exception if the worker failed, None at the end.
    ready: queue.Queue[tuple[T] | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(items, ready, stop), name=name, daemon=True)
    worker.start()
    try:
        while True:
            message = ready.get()
            if isinstance(message, BaseException):
                raise message
            if message is None:
                return
            yield message[0]
    finally:
        stop.set()
        worker.join()


def _produce(
    items: Iterator[T], ready: queue.Queue[tuple[T] | BaseException | None], stop: threading.Event
) -> None:
    """The worker of :func:`read_ahead`: put each item on ``ready``, then the end or the error."""
    try:
        for item in items:
            if not _put(ready, (item,), stop):
                return
    except BaseException as exc:  # whatever it is, the consumer re-raises it
        _put(ready, exc, stop)
        return
    finally:
        _close(items)  # on this thread: the only one that ever runs ``items``
    _put(ready, None, stop)


def _put(ready: queue.Queue[T], message: T, stop: threading.Event) -> bool:
    """Put ``message`` on ``ready`` once there is room; False if ``stop`` was set first."""
    while not stop.is_set():
        try:
            ready.put(message, timeout=0.1)
            return True
        except queue.Full:
            continue  # the consumer is still busy with the previous item
    return False


def map_ordered(
    fn: Callable[[S], R],
    items: Iterable[T],
    *,
    is_task: Callable[[T], TypeGuard[S]],
    workers: int,
    name: str,
    flush: Callable[[T], bool] = lambda _: False,
) -> Generator[R | T]:
    """Yield ``fn(item)`` for each item that ``is_task``, and each other item, in input order.

    The tasks run on ``workers`` threads; the other items (markers) keep their place among the
    results. At most ``workers`` tasks are pending (running, or done and not yet handed on): the
    next item is read only when one is free, so a fast producer cannot pile up work.

    A marker for which ``flush`` is true hands on everything before it at once, rather than when
    the next item comes (that item may be slow: a file still to be read). A task's exception is
    raised in its turn, after the items before it; the items after it are not handed on, and
    this generator ends as if closed. Closing it waits for the running tasks (their results are
    dropped), stops its threads and closes ``items`` if it is a generator.
    """
    pending: deque[Future[R] | T] = deque()
    pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
    try:
        for item in items:
            if is_task(item):
                pending.append(pool.submit(fn, item))
                flushing = False
            else:
                pending.append(item)
                flushing = flush(item)
            # Hand on the markers at the head; wait for the oldest task only when flushing or
            # when every worker is taken (else read on: the next item may be a task to start).
            while pending and (
                flushing or not isinstance(pending[0], Future) or _tasks(pending) >= workers
            ):
                yield _take(pending)
        while pending:
            yield _take(pending)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _close(items)


def _tasks(pending: deque[Future[R] | T]) -> int:
    return sum(isinstance(p, Future) for p in pending)  # a few items: counting is cheap


def _take(pending: deque[Future[R] | T]) -> R | T:
    """The oldest pending item, or its task's result once ready (or its exception, raised)."""
    head = pending.popleft()
    return head.result() if isinstance(head, Future) else head


def _close(items: Iterable[object]) -> None:
    if isinstance(items, Generator):
        items.close()
