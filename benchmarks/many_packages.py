"""P6. A monorepo's release under latency, and start-up.

- Twelve new packages, a wheel and an sdist each, in one publish, by both tools as their
  users run them (`private-pypi publish --dist DIR` as the GitHub Action runs it, and
  `s3pypi upload FILES --put-root-index`),
  each into an empty bucket of its own, with the server holding each request 0, 30 and
  80 ms. A serial tool pays the wait once per request; ours once per round trip.
- Start-up: `--version` of our installed command and of s3pypi's, and what ours imports
  to answer it, from `python -X importtime`.
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from private_pypi.index import Index
from tests.motoserver import MotoServer

from . import corpus
from .measure import our_command, run_ours, run_process
from .one_release import AtLatency, BenchmarkError, ToolRuns, timed
from .s3pypi import S3PyPI, create_lock_table

# The imports whose cost start-up is about; each one's cumulative time is reported.
WATCHED_IMPORTS = ("boto3", "botocore", "s3transfer", "invoke", "click", "tqdm", "packaging")
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


@dataclass(frozen=True)
class ManyPackages:
    packages: int
    latencies: list[AtLatency]

    def at(self, latency: float) -> AtLatency:
        return next(runs for runs in self.latencies if runs.latency == latency)


@dataclass(frozen=True)
class StartUp:
    command: str  # ours, as installed
    seconds: list[float]
    cpu_seconds: list[float]
    s3pypi_seconds: list[float] | None
    s3pypi_cpu_seconds: list[float] | None
    import_seconds: float  # every import `--version` makes, as -X importtime sums them
    watched: dict[str, float]  # seconds, for those of WATCHED_IMPORTS it imports at all


def run(
    server: MotoServer,
    packages: int,
    runs: int,
    s3pypi: S3PyPI | None,
    latencies: tuple[float, ...],
) -> ManyPackages:
    env = server.environment()
    names = [canonicalize_name(f"mono-{number:02d}") for number in range(packages)]
    measured: list[AtLatency] = []
    with tempfile.TemporaryDirectory(prefix="bench-packages-") as scratch:
        directory = Path(scratch)
        files = [
            artifact.write(directory) for name in names for artifact in corpus.release(name, "1.0")
        ]
        for latency in latencies:
            ours, theirs = ToolRuns.none_yet(), ToolRuns.none_yet()
            # Made before the server is slowed: nothing measured waits for them.
            buckets = [_bucket(server, "ours", latency, number) for number in range(runs)]
            theirs_buckets = [
                _bucket(server, "s3pypi", latency, number) for number in range(runs) if s3pypi
            ]
            for bucket in theirs_buckets:
                create_lock_table(bucket, env)
            server.set_latency(latency)
            for number, bucket in enumerate(buckets):
                server.reset()
                repository = ("--repository", f"s3://{bucket}")
                timed(ours, server, run_ours("publish", "--dist", scratch, *repository, env=env))
                if s3pypi:
                    timed(theirs, server, s3pypi.upload(files, theirs_buckets[number], env))
            server.set_latency(0)
            for bucket in buckets:
                _check_ours(server, bucket, names)
            for bucket in theirs_buckets:
                _check_s3pypi(server, bucket, len(names))
            measured.append(AtLatency(latency, ours, theirs if s3pypi else None))
    return ManyPackages(packages, measured)


def start_up(runs: int, s3pypi: S3PyPI | None) -> StartUp:
    command = our_command()
    ours = [run_process([str(command), "--version"]) for _ in range(runs)]
    theirs = (
        [run_process([str(s3pypi.executable), "--version"]) for _ in range(runs)]
        if s3pypi
        else None
    )
    traced = run_process([sys.executable, "-X", "importtime", str(command), "--version"])
    total, watched = _import_times(traced.output)
    return StartUp(
        command.name,
        [run.seconds for run in ours],
        [run.cpu_seconds for run in ours],
        [run.seconds for run in theirs] if theirs else None,
        [run.cpu_seconds for run in theirs] if theirs else None,
        total,
        watched,
    )


def _import_times(trace: str) -> tuple[float, dict[str, float]]:
    """The seconds of every top-level import, summed, and of each watched package."""
    total, watched = 0.0, dict[str, float]()
    for line in trace.splitlines():
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        cumulative, nesting, module = int(match[2]) / 1e6, match[3], match[4]
        if not nesting:
            total += cumulative
        if module in WATCHED_IMPORTS:
            watched[module] = max(watched.get(module, 0.0), cumulative)
    return total, watched


def _bucket(server: MotoServer, tool: str, latency: float, number: int) -> str:
    return server.create_bucket(f"many-{tool}-{round(latency * 1000)}ms-{number}")


def _check_ours(server: MotoServer, bucket: str, names: list[NormalizedName]) -> None:
    index = Index(server.storage(bucket))
    listed = sum(len(page.files) for name in names if (page := index.project(name)))
    if index.projects() != frozenset(names) or listed != 2 * len(names):
        raise BenchmarkError(f"s3://{bucket}: publish indexed {listed} files of {len(names)}")


def _check_s3pypi(server: MotoServer, bucket: str, packages: int) -> None:
    root = server.client().get_object(Bucket=bucket, Key="index.html")["Body"].read().decode()
    if root.count("<a ") != packages:
        raise BenchmarkError(f"s3://{bucket}: s3pypi's root page lists {root.count('<a ')}")
