"""The pool publish and reindex send requests through, and how their round trips are counted."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from private_pypi.storage.timeline import TimedRequest, round_trips
from private_pypi.workers import Workers


def test_results_come_back_in_the_order_given_however_the_calls_end() -> None:
    def slow_square(number: int) -> int:
        time.sleep(random.uniform(0, 0.01))
        return number * number

    assert Workers(4).map(slow_square, range(40)) == [n * n for n in range(40)]


def test_no_more_calls_run_at_once_than_the_pool_has_workers() -> None:
    lock, running, most = threading.Lock(), [0], [0]

    def call(_: int) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    Workers(4).map(call, range(24))
    assert most[0] == 4


def test_work_in_the_pool_may_use_the_pool_without_waiting_forever() -> None:
    workers = Workers(2)

    def outer(number: int) -> list[int]:
        return workers.map(lambda inner: number * 10 + inner, range(5))

    with ThreadPoolExecutor(1) as watchdog:
        nested = watchdog.submit(workers.map, outer, range(8))
        assert nested.result(timeout=30) == [[n * 10 + i for i in range(5)] for n in range(8)]


def test_a_failure_stops_what_has_not_started_and_is_raised_once_the_rest_ended() -> None:
    started: list[int] = []
    ended: list[int] = []

    def call(number: int) -> None:
        started.append(number)
        if number == 0:
            raise ValueError("the first one failed")
        time.sleep(0.2)
        ended.append(number)

    with pytest.raises(ValueError, match="the first one failed"):
        Workers(2).map(call, range(10))
    assert sorted(started) == [0, 1]  # the one worker had taken the second call
    assert ended == [1]


def test_of_two_failures_the_first_given_is_raised() -> None:
    def call(number: int) -> None:
        time.sleep(0.05 if number == 1 else 0)
        if number in (1, 3):
            raise ValueError(f"call {number} failed")

    with pytest.raises(ValueError, match="call 1 failed"):
        Workers(8).map(call, range(4))


def test_a_pool_of_one_runs_every_call_in_the_caller() -> None:
    caller = threading.get_ident()
    assert Workers(1).map(lambda _: threading.get_ident(), range(5)) == [caller] * 5


def request(started: float, ended: float) -> TimedRequest:
    return TimedRequest("GetObject", started, ended)


def test_requests_under_way_together_are_one_round_trip() -> None:
    assert round_trips([request(0, 1), request(0.5, 1.5), request(0.9, 3)]) == 1


def test_a_request_sent_after_another_ended_is_a_second_round_trip() -> None:
    assert round_trips([request(0, 1), request(1, 2), request(2.5, 3)]) == 3


def test_the_round_trips_are_the_longest_chain_of_requests_one_after_another() -> None:
    # A long request beside a chain of three short ones, then one after all of them.
    timeline = [request(0, 2.9), request(0, 1), request(1.1, 2), request(2.1, 2.8)]
    assert round_trips([*timeline, request(3, 4)]) == 4
    assert round_trips([]) == 0
