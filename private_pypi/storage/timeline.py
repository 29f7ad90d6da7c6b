"""The requests a storage sent, each with when it started and ended: how many, and how many
round trips one after another they took.

On S3 a request waits tens of milliseconds, so the time a command takes is about that wait
times its round trips: the length of its longest chain of requests, each of which started
after the one before it had ended. Requests under way together are one round trip.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from threading import Lock


@dataclass(frozen=True)
class TimedRequest:
    operation: str  # GetObject, PutObject, ...
    started: float  # time.perf_counter() when it was sent
    ended: float  # and when its answer (or failure) was in


class RequestLog:
    """Requests as they end, from any thread."""

    def __init__(self) -> None:
        self._requests: list[TimedRequest] = []
        self._lock = Lock()

    def record(self, request: TimedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[TimedRequest]:
        with self._lock:
            return list(self._requests)

    def counts(self) -> Counter[str]:
        return Counter(request.operation for request in self.requests)

    def round_trips(self) -> int:
        return round_trips(self.requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()


def round_trips(requests: Sequence[TimedRequest]) -> int:
    """The critical path: the most requests in a chain in which each one started after the
    one before it had ended (0 for none)."""
    by_start = sorted(range(len(requests)), key=lambda n: (requests[n].started, requests[n].ended))
    by_end = sorted(range(len(requests)), key=lambda n: requests[n].ended)
    depth = [0] * len(requests)
    longest_ended = 0  # the longest chain among the requests ended so far
    ended = 0
    for n in by_start:
        while ended < len(by_end) and requests[by_end[ended]].ended <= requests[n].started:
            longest_ended = max(longest_ended, depth[by_end[ended]])
            ended += 1
        depth[n] = longest_ended + 1
    return max(depth, default=0)
