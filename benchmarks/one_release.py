"""P1. One release (a wheel and an sdist) into a repository that already holds many projects,
with the server answering at once and holding each request a while, as S3 does.

Each tool runs as its users run it, as a command (`private-pypi publish --dist DIR`, as
the GitHub Action runs it, and `s3pypi upload FILES --put-root-index`), so wall time
includes starting Python. Requests
are counted, and their round trips measured, at the moto server for both. Our own count
and round trips, from `S3Storage.log_requests`, are taken too, from one more publish in
this process, to check the server's figures against them.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName

from private_pypi.index import Index
from private_pypi.publish import Publisher, inspect_all
from private_pypi.storage.timeline import RequestLog
from tests.motoserver import MotoServer

from . import corpus
from .measure import ProcessRun, run_ours
from .s3pypi import S3PyPI, create_lock_table


class BenchmarkError(RuntimeError):
    """A tool did not do what it was asked: its figures would mean nothing."""


@dataclass(frozen=True)
class ToolRuns:
    seconds: list[float]
    cpu_seconds: list[float]  # the command's own, as wait4 tells it: load inflates it less
    requests: list[Counter[str]]
    round_trips: list[int]

    @classmethod
    def none_yet(cls) -> ToolRuns:
        return cls([], [], [], [])

    @property
    def same_requests_every_run(self) -> bool:
        return all(counts == self.requests[0] for counts in self.requests)


@dataclass(frozen=True)
class AtLatency:
    """Both tools' runs with the server holding each request `latency` seconds."""

    latency: float
    ours: ToolRuns
    s3pypi: ToolRuns | None


@dataclass(frozen=True)
class Observed:
    """One more publish of ours, in this process, as `log_requests` saw it and the server."""

    latency: float
    requests: Counter[str]
    round_trips: int
    requests_at_server: Counter[str]
    round_trips_at_server: int

    @property
    def agree(self) -> bool:
        return (
            self.requests == self.requests_at_server
            and self.round_trips == self.round_trips_at_server
        )


@dataclass(frozen=True)
class OneRelease:
    projects: int
    prefill_objects: int
    prefill_seconds: float
    latencies: list[AtLatency]
    observed: Observed
    ours_bucket: str

    def at(self, latency: float) -> AtLatency:
        return next(runs for runs in self.latencies if runs.latency == latency)


def run(
    server: MotoServer,
    projects: int,
    runs: int,
    s3pypi: S3PyPI | None,
    latencies: tuple[float, ...],
    observed_at: float,
) -> OneRelease:
    env = server.environment()
    ours_bucket = server.create_bucket(f"ours-{projects}")
    theirs_bucket = server.create_bucket(f"s3pypi-{projects}") if s3pypi else None
    if theirs_bucket:
        create_lock_table(theirs_bucket, env)
    started, loaded = time.perf_counter(), 0
    for batch in corpus.repositories(projects, ours=ours_bucket, s3pypi=theirs_bucket):
        server.load(batch)
        loaded += len(batch)
    prefill_seconds = time.perf_counter() - started

    target = corpus.project_name(projects // 2)
    measured: list[AtLatency] = []
    published = 0
    with tempfile.TemporaryDirectory(prefix="bench-release-") as scratch:
        for latency in latencies:
            server.set_latency(latency)
            ours, theirs = ToolRuns.none_yet(), ToolRuns.none_yet()
            for _ in range(runs):
                directory = Path(scratch, str(published))
                directory.mkdir()
                release = corpus.release(target, f"1.{published}")
                files = [artifact.write(directory) for artifact in release]
                published += 1
                server.reset()
                repository = ("--repository", f"s3://{ours_bucket}")
                timed(
                    ours,
                    server,
                    run_ours("publish", "--dist", str(directory), *repository, env=env),
                )
                if s3pypi and theirs_bucket:
                    timed(theirs, server, s3pypi.upload(files, theirs_bucket, env))
            measured.append(AtLatency(latency, ours, theirs if s3pypi else None))
        server.set_latency(observed_at)
        observed = _observed_publish(server, ours_bucket, target, Path(scratch), observed_at)
        server.set_latency(0)

    _check_ours(server, ours_bucket, target, expected=corpus.FILES_PER_PROJECT + 2 * published + 2)
    if theirs_bucket:
        _check_s3pypi(
            server, theirs_bucket, target, projects, corpus.FILES_PER_PROJECT + 2 * published
        )
    return OneRelease(
        projects=projects,
        prefill_objects=loaded,
        prefill_seconds=prefill_seconds,
        latencies=measured,
        observed=observed,
        ours_bucket=ours_bucket,
    )


def timed(runs: ToolRuns, server: MotoServer, process: ProcessRun) -> None:
    """Add a finished run: its time, and the server's count and round trips of it."""
    runs.seconds.append(process.seconds)
    runs.cpu_seconds.append(process.cpu_seconds)
    runs.round_trips.append(server.round_trips())
    runs.requests.append(server.counts(reset=True))


def _observed_publish(
    server: MotoServer, bucket: str, target: NormalizedName, scratch: Path, latency: float
) -> Observed:
    storage = server.storage(bucket)
    log = RequestLog()
    storage.log_requests(log)
    directory = scratch / "observed"
    directory.mkdir()
    files = [artifact.write(directory) for artifact in corpus.release(target, "2.0")]
    distributions = inspect_all(files)
    server.reset()
    Publisher(Index(storage)).publish(distributions)
    round_trips = server.round_trips()
    return Observed(
        latency, log.counts(), log.round_trips(), server.counts(reset=True), round_trips
    )


def _check_ours(server: MotoServer, bucket: str, target: NormalizedName, expected: int) -> None:
    page = Index(server.storage(bucket)).project(target)
    indexed = len(page.files) if page else 0
    if indexed != expected:
        raise BenchmarkError(f"s3://{bucket}: {target} lists {indexed} files, not {expected}")


def _check_s3pypi(
    server: MotoServer, bucket: str, target: NormalizedName, projects: int, expected: int
) -> None:
    client = server.client()
    page = client.get_object(Bucket=bucket, Key=f"{target}/")["Body"].read().decode()
    root = client.get_object(Bucket=bucket, Key="index.html")["Body"].read().decode()
    if page.count("<a ") != expected or root.count("<a ") != projects:
        raise BenchmarkError(
            f"s3://{bucket}: s3pypi's pages list {page.count('<a ')} files of {target} "
            f"(expected {expected}) and {root.count('<a ')} projects (expected {projects})"
        )
