"""Run every scenario against one moto server, in one run, and write the results."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tests.motoserver import MotoServer

from . import cold_start, monorepo, one_release, reindex_scale, resolution, s3pypi
from .cold_start import ColdStart
from .monorepo import Monorepo
from .one_release import OneRelease
from .reindex_scale import Reindex
from .resolution import Resolution


@dataclass(frozen=True)
class Plan:
    quick: bool
    sizes: tuple[int, ...]  # P1: projects pre-filled; the largest is reindexed in P2
    runs: int  # P1 and P3: timed runs, of which the median is reported
    reindex_runs: int  # P2: each run is a rebuild and a no-op
    packages: int  # P3
    chain: int  # P4

    @property
    def command(self) -> str:
        return "invoke bench --quick" if self.quick else "invoke bench"


FULL = Plan(quick=False, sizes=(10, 1_000, 10_000), runs=5, reindex_runs=1, packages=10, chain=10)
QUICK = Plan(quick=True, sizes=(10, 100), runs=1, reindex_runs=1, packages=3, chain=3)


@dataclass(frozen=True)
class Results:
    plan: Plan
    started: datetime
    seconds: float
    s3pypi: str  # its version, or why it is missing
    one_release: list[OneRelease]
    reindex: Reindex
    monorepo: Monorepo
    resolution: list[Resolution]
    cold_start: list[ColdStart]


def run_benchmarks(plan: Plan, say: Callable[[str], None] = print) -> Results:
    started, clock = datetime.now(UTC), time.perf_counter()
    tool = s3pypi.install()
    if isinstance(tool, str):
        say(f"s3pypi left out: {tool}")
    with MotoServer(own_process=True, count_requests=True, quiet=True) as server:
        say(f"moto server (its own process) at {server.endpoint}")
        releases = []
        for projects in plan.sizes:
            say(f"P1: one release into {projects:,} projects, {plan.runs} run(s) per tool")
            releases.append(
                one_release.run(
                    server, projects, plan.runs, None if isinstance(tool, str) else tool
                )
            )
        largest = releases[-1]
        say(f"P2: reindex of {largest.projects:,} projects: rebuild, then no-op")
        reindex = reindex_scale.run(
            server, largest.ours_bucket, largest.projects, plan.reindex_runs
        )
        say(f"P3: build and publish {plan.packages} packages, {plan.runs} run(s) each way")
        mono = monorepo.run(server, plan.packages, plan.runs)
    say(f"P4: resolve a chain of {plan.chain} packages with pip and uv")
    resolutions = resolution.run(plan.chain)
    say("P5: cold start" + (" (quick: then again, offline, from that cache)" if plan.quick else ""))
    cold = cold_start.run(quick=plan.quick)
    return Results(
        plan=plan,
        started=started,
        seconds=time.perf_counter() - clock,
        s3pypi=tool if isinstance(tool, str) else f"s3pypi {tool.version}",
        one_release=releases,
        reindex=reindex,
        monorepo=mono,
        resolution=resolutions,
        cold_start=cold,
    )
