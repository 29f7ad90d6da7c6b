"""P1. One release (a wheel and an sdist) into a repository that already holds many projects.

Each tool runs as its users run it, as a command (`invoke publish --dist DIR` and
`s3pypi upload FILES --put-root-index`), so wall time includes starting Python. Requests
are counted at the moto server for both. Our own count, from `observe_requests`, is taken
too, from one more publish in this process, to check the server's counter against it.
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
from tests.motoserver import MotoServer

from . import corpus
from .measure import run_invoke
from .s3pypi import S3PyPI, create_lock_table


class BenchmarkError(RuntimeError):
    """A tool did not do what it was asked: its figures would mean nothing."""


@dataclass(frozen=True)
class ToolRuns:
    seconds: list[float]
    requests: list[Counter[str]]

    @property
    def same_requests_every_run(self) -> bool:
        return all(counts == self.requests[0] for counts in self.requests)


@dataclass(frozen=True)
class OneRelease:
    projects: int
    prefill_objects: int
    prefill_seconds: float
    ours: ToolRuns
    observed: Counter[str]  # ours again, as `observe_requests` saw one in-process publish
    observed_at_server: Counter[str]
    s3pypi: ToolRuns | None
    ours_bucket: str


def run(server: MotoServer, projects: int, runs: int, s3pypi: S3PyPI | None) -> OneRelease:
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
    ours, theirs = ToolRuns([], []), ToolRuns([], [])
    with tempfile.TemporaryDirectory(prefix="bench-release-") as scratch:
        for number in range(runs):
            directory = Path(scratch, str(number))
            directory.mkdir()
            files = [
                artifact.write(directory) for artifact in corpus.release(target, f"1.{number}")
            ]
            server.reset()
            publish = ("publish", "--dist", str(directory), "--repository", f"s3://{ours_bucket}")
            ours.seconds.append(run_invoke(*publish, env=env).seconds)
            ours.requests.append(server.counts(reset=True))
            if s3pypi and theirs_bucket:
                theirs.seconds.append(s3pypi.upload(files, theirs_bucket, env).seconds)
                theirs.requests.append(server.counts(reset=True))
        observed, at_server = _observed_publish(server, ours_bucket, target, Path(scratch))

    _check_ours(server, ours_bucket, target, expected=corpus.FILES_PER_PROJECT + 2 * runs + 2)
    if theirs_bucket:
        _check_s3pypi(server, theirs_bucket, target, projects, corpus.FILES_PER_PROJECT + 2 * runs)
    return OneRelease(
        projects=projects,
        prefill_objects=loaded,
        prefill_seconds=prefill_seconds,
        ours=ours,
        observed=observed,
        observed_at_server=at_server,
        s3pypi=theirs if s3pypi else None,
        ours_bucket=ours_bucket,
    )


def _observed_publish(
    server: MotoServer, bucket: str, target: NormalizedName, scratch: Path
) -> tuple[Counter[str], Counter[str]]:
    storage = server.storage(bucket)
    observed: Counter[str] = Counter()
    storage.observe_requests(lambda operation: observed.update([operation]))
    directory = scratch / "observed"
    directory.mkdir()
    files = [artifact.write(directory) for artifact in corpus.release(target, "2.0")]
    distributions = inspect_all(files)
    server.reset()
    Publisher(Index(storage)).publish(distributions)
    return observed, server.counts(reset=True)


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
