"""A bounded pool of threads for storage requests, which work inside it may use again.

A publish waits for many requests at once, and some of that work waits for more: a page
update writes the page's copies at once. On a plain pool, a task that waits for work
queued behind it waits forever once every worker does the same. Here the caller never
waits for work that no worker has started: it takes that work back and runs it itself.
So the pool stays bounded, nested work can't deadlock it, and a pool of one (or a
storage that gains nothing from parallel requests) runs everything in the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from threading import Event, Lock
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Workers:
    """At most `size` calls at once: `size - 1` threads, and the caller."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = Lock()

    def map(self, function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
        """`function` of each item, as many at once as there are workers, in item order.

        If a call fails, the calls not yet started are dropped, and once those under way
        have ended, the failure of the first item that failed is raised: nothing is left
        running behind the caller's back.
        """
        items = list(items)
        if self.size == 1 or len(items) < 2:
            return [function(item) for item in items]
        pool = self._executor()
        # The caller runs the first item itself; the workers take the rest from the front.
        futures = [pool.submit(function, item) for item in items[1:]]
        a_worker_failed = Event()

        def note(done: Future[Result]) -> None:
            if _failed(done):
                a_worker_failed.set()

        for future in futures:
            future.add_done_callback(note)
        results: dict[int, Result] = {}
        failures: dict[int, BaseException] = {}
        try:
            _run_here(function, items, 0, results, failures)
            # Then it takes back, from the back, what no worker has started yet.
            for position in reversed(range(len(futures))):
                if failures or a_worker_failed.is_set():
                    break
                if futures[position].cancel():
                    _run_here(function, items, position + 1, results, failures)
        except BaseException:  # Ctrl-C: start nothing more, and don't wait
            for future in futures:
                future.cancel()
            raise
        for position, future in enumerate(futures, start=1):
            if failures:  # start nothing more: cancelling is a no-op for work under way
                for rest in futures[position - 1 :]:
                    rest.cancel()
            if future.cancelled():
                continue
            error = future.exception()
            if error is not None:
                failures[position] = error
            else:
                results[position] = future.result()
        if failures:
            raise failures[min(failures)]
        return [results[position] for position in range(len(items))]

    def run(self, calls: Iterable[Callable[[], None]]) -> None:
        """Make the calls, as many at once as there are workers, as `map` does."""
        self.map(_call, calls)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.size - 1, thread_name_prefix="private-pypi-worker"
                )
            return self._pool


def _run_here(
    function: Callable[[Item], Result],
    items: list[Item],
    position: int,
    results: dict[int, Result],
    failures: dict[int, BaseException],
) -> None:
    try:
        results[position] = function(items[position])
    except Exception as error:
        failures[position] = error


def _call(call: Callable[[], None]) -> None:
    call()


def _failed(future: Future[Result]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is not None
