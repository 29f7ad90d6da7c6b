"""Run every scenario against one moto server, in one run, and write the results."""

from __future__ import annotations

import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.motoserver import MotoServer

from . import (
    cold_start,
    many_packages,
    monorepo,
    one_release,
    reindex_scale,
    resolution,
    s3pypi,
)
from .cold_start import ColdStart
from .many_packages import ManyPackages, StartUp
from .measure import ROOT, compile_bytecode
from .monorepo import Monorepo
from .one_release import OneRelease
from .reindex_scale import Reindex
from .resolution import Resolution

# What the server holds each request, in seconds: S3 from a runner in its region takes
# tens of milliseconds (TYPICAL), a distant one more.
TYPICAL_LATENCY = 0.03
LATENCIES = (0.0, TYPICAL_LATENCY, 0.08)


@dataclass(frozen=True)
class Plan:
    quick: bool
    sizes: tuple[int, ...]  # P1: projects pre-filled; the largest is reindexed in P2
    runs: int  # P1, P3 and P6: timed runs, of which the median is reported
    latencies: tuple[float, ...]  # P1 and P6: each run at each of these
    reindex_runs: int  # P2, at TYPICAL_LATENCY: each run is a rebuild and a no-op
    packages: int  # P3
    chain: int  # P4
    released_packages: int  # P6

    @property
    def command(self) -> str:
        return "invoke bench --quick" if self.quick else "invoke bench"


FULL = Plan(
    quick=False,
    sizes=(10, 1_000, 10_000),
    runs=5,
    latencies=LATENCIES,
    reindex_runs=1,
    packages=10,
    chain=10,
    released_packages=12,
)
QUICK = Plan(
    quick=True,
    sizes=(10, 100),
    runs=1,
    latencies=(0.0, TYPICAL_LATENCY),
    reindex_runs=1,
    packages=3,
    chain=3,
    released_packages=12,
)


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
    many_packages: ManyPackages
    start_up: StartUp


def run_benchmarks(plan: Plan, say: Callable[[str], None] = print) -> Results:
    started, clock = datetime.now(UTC), time.perf_counter()
    tool = s3pypi.install()
    say("compiling both tools' bytecode, as pip does when it installs them")
    compile_bytecode(sys.executable, Path(sysconfig.get_paths()["purelib"]), ROOT / "private_pypi")
    if isinstance(tool, str):
        say(f"s3pypi left out: {tool}")
    installed = None if isinstance(tool, str) else tool
    with MotoServer(own_process=True, count_requests=True, quiet=True) as server:
        say(f"moto server (its own process) at {server.endpoint}")
        releases = []
        latencies = " / ".join(f"{latency * 1000:.0f}" for latency in plan.latencies)
        for projects in plan.sizes:
            say(
                f"P1: one release into {projects:,} projects, {plan.runs} run(s) per tool "
                f"at {latencies} ms a request"
            )
            releases.append(
                one_release.run(
                    server, projects, plan.runs, installed, plan.latencies, TYPICAL_LATENCY
                )
            )
        largest = releases[-1]
        say(
            f"P2: reindex of {largest.projects:,} projects at {TYPICAL_LATENCY * 1000:.0f} ms "
            "a request: rebuild, then no-op"
        )
        reindex = reindex_scale.run(
            server, largest.ours_bucket, largest.projects, plan.reindex_runs, TYPICAL_LATENCY
        )
        say(f"P3: build and publish {plan.packages} packages, {plan.runs} run(s) each way")
        mono = monorepo.run(server, plan.packages, plan.runs)
        say(
            f"P6: release {plan.released_packages} packages in one publish, {plan.runs} run(s) "
            f"per tool at {latencies} ms a request; then start-up"
        )
        many = many_packages.run(
            server, plan.released_packages, plan.runs, installed, plan.latencies
        )
    start = many_packages.start_up(plan.runs * 2, installed)
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
        many_packages=many,
        start_up=start,
    )
