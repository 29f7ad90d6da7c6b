"""P2. `invoke reindex` of a large repository, run as a command so its peak memory is its own,
with the server holding each request a while, as S3 does.

Two cases, on the repository P1 filled:
- rebuild: every page is deleted first, so each file is downloaded and inspected again
  and every page written: the most a reindex ever does;
- no-op: a second reindex straight after, with nothing changed: it must write nothing.

Beside them, the listing alone (what every reindex starts with), timed in this process at
the same latency, with the server's CPU for it: moto sorts the whole bucket for every
page of a listing, so in a large bucket the listing is mostly moto's.

Wall time includes moto's own CPU (the server runs on the same two cores), so the
server's CPU seconds for each run are recorded beside it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from private_pypi import layout
from tests.motoserver import MotoServer

from .measure import run_invoke
from .one_release import BenchmarkError

WRITES = ("PutObject", "DeleteObject", "DeleteObjects", "CopyObject")


@dataclass(frozen=True)
class ReindexRun:
    seconds: float
    cpu_seconds: float
    server_cpu_seconds: float
    max_rss_bytes: int
    requests: Counter[str]

    @property
    def writes(self) -> int:
        return sum(self.requests[operation] for operation in WRITES)


@dataclass(frozen=True)
class Listing:
    seconds: float
    server_cpu_seconds: float
    pages: int
    keys: int


@dataclass(frozen=True)
class Reindex:
    projects: int
    objects: int
    latency: float
    rebuild: list[ReindexRun]
    noop: list[ReindexRun]
    listing: Listing


def run(server: MotoServer, bucket: str, projects: int, runs: int, latency: float) -> Reindex:
    rebuilds, noops = [], []
    objects = 0
    for _ in range(runs):
        objects = _delete_pages(server, bucket)
        server.set_latency(latency)
        rebuilds.append(_reindex(server, bucket))
        noops.append(_reindex(server, bucket))
        server.set_latency(0)
    server.set_latency(latency)
    listing = _list(server, bucket)
    server.set_latency(0)
    for run in noops:
        if run.writes:
            raise BenchmarkError(f"a reindex with nothing changed wrote: {run.requests}")
    return Reindex(projects, objects, latency, rebuilds, noops, listing)


def _reindex(server: MotoServer, bucket: str) -> ReindexRun:
    server.reset()
    server_cpu = server.cpu_seconds()
    process = run_invoke("reindex", "--repository", f"s3://{bucket}", env=server.environment())
    return ReindexRun(
        seconds=process.seconds,
        cpu_seconds=process.cpu_seconds,
        server_cpu_seconds=server.cpu_seconds() - server_cpu,
        max_rss_bytes=process.max_rss_bytes,
        requests=server.counts(reset=True),
    )


def _list(server: MotoServer, bucket: str) -> Listing:
    """List the index as reindex does, and nothing else."""
    server.reset()
    server_cpu, started = server.cpu_seconds(), time.perf_counter()
    keys = sum(1 for _ in server.storage(bucket).list(layout.INDEX_PREFIX))
    seconds = time.perf_counter() - started
    pages = server.counts(reset=True)["ListObjectsV2"]
    return Listing(seconds, server.cpu_seconds() - server_cpu, pages, keys)


def _delete_pages(server: MotoServer, bucket: str) -> int:
    """Delete every page, keeping files and metadata files; return how many objects remain."""
    client = server.client()
    pages, kept = [], 0
    for listing in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in listing.get("Contents", []):
            key = item["Key"]
            if key.endswith(("/", "/index.html", "/index.json")):
                pages.append({"Key": key})
            elif key.startswith(layout.INDEX_PREFIX):
                kept += 1
    for start in range(0, len(pages), 1000):
        client.delete_objects(Bucket=bucket, Delete={"Objects": pages[start : start + 1000]})
    return kept
