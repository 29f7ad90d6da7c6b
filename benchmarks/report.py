"""The results as Markdown: the machine, the figures, and each target met or missed."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version

from .many_packages import WATCHED_IMPORTS
from .measure import middle
from .one_release import AtLatency, ToolRuns
from .run import TYPICAL_LATENCY, Results

SHORT_NAMES = {
    "GetObject": "GET",
    "PutObject": "PUT",
    "HeadObject": "HEAD",
    "ListObjectsV2": "LIST",
    "DeleteObject": "DELETE",
}
MB = 1_000_000


@dataclass(frozen=True)
class Target:
    scenario: str
    goal: str
    measured: str
    met: bool


def requests(counts: Counter[str], *, prefix: str = "") -> str:
    """`1 GET + 6 PUT + 1 HEAD = 8`, for the operations whose names start with `prefix`."""
    chosen = {name: count for name, count in counts.items() if name.startswith(prefix)}
    if not chosen:
        return "0"
    parts = [
        f"{count} {SHORT_NAMES.get(name, name.removeprefix(prefix))}"
        for name, count in sorted(chosen.items(), key=lambda item: -item[1])
    ]
    return f"{' + '.join(parts)} = {sum(chosen.values())}"


def s3_total(counts: Counter[str]) -> int:
    return sum(count for name, count in counts.items() if not name.startswith("dynamodb:"))


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def megabytes(value: int) -> str:
    return f"{value / MB:.1f} MB"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    with open("/proc/meminfo") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    uv = shutil.which("uv")
    uv_version = (
        subprocess.run([uv, "--version"], capture_output=True, text=True).stdout if uv else ""
    )
    return (
        f"{os.cpu_count()} cores, {total_kib / 1024 / 1024:.1f} GiB memory, "
        f"Python {platform.python_version()}, {platform.platform()}; "
        f"moto {version('moto')}, boto3 {version('boto3')}, {uv_version.strip() or 'no uv'}"
    )


def _median(runs: ToolRuns) -> float:
    return middle(runs.seconds)


def _ratio(runs: AtLatency) -> float:
    assert runs.s3pypi is not None
    return _median(runs.ours) / _median(runs.s3pypi)


def _versus(runs: AtLatency) -> str:
    assert runs.s3pypi is not None
    return f"{seconds(_median(runs.ours))} vs {seconds(_median(runs.s3pypi))}"


def _ms(latency: float) -> str:
    return f"{latency * 1000:.0f} ms"


def _has(latencies: list[AtLatency], latency: float) -> bool:
    return any(runs.latency == latency for runs in latencies)


def targets(results: Results) -> list[Target]:
    found = []
    releases = results.one_release
    last = releases[-1]
    first_latency = results.plan.latencies[0]
    counts = [s3_total(r.at(first_latency).ours.requests[0]) for r in releases]
    same = len(set(counts)) == 1 and all(
        runs.ours.same_requests_every_run for r in releases for runs in r.latencies
    )
    found.append(
        Target(
            "P1",
            "same request count at every size, at most 8",
            f"{' / '.join(map(str, counts))} at "
            f"{' / '.join(f'{r.projects:,}' for r in releases)} projects",
            same and max(counts) <= 8,
        )
    )
    trips = [max(runs.ours.round_trips) for r in releases for runs in r.latencies if runs.latency]
    if trips:
        found.append(
            Target(
                "P1",
                "critical path ≤ 6 round trips at every size",
                f"at most {max(trips)} (server's count, every run with latency)",
                max(trips) <= 6,
            )
        )
    zero = last.at(first_latency)
    if zero.s3pypi is not None:
        ratio = _median(zero.ours) / _median(zero.s3pypi)
        found.append(
            Target(
                "P1",
                f"wall time ≤ 0.5x s3pypi's at {last.projects:,} projects, "
                f"{_ms(first_latency)} a request",
                f"{ratio:.2f}x ({seconds(_median(zero.ours))} vs {seconds(_median(zero.s3pypi))})",
                ratio <= 0.5,
            )
        )
    typical = [r.at(TYPICAL_LATENCY) for r in releases if _has(r.latencies, TYPICAL_LATENCY)]
    compared = [(r, runs) for r, runs in zip(releases, typical, strict=True) if runs.s3pypi]
    if compared:
        ratios = [_ratio(runs) for _, runs in compared]
        found.append(
            Target(
                "P1",
                f"wall time ≤ 0.7x s3pypi's at {_ms(TYPICAL_LATENCY)} a request, every size",
                " / ".join(f"{ratio:.2f}x" for ratio in ratios)
                + f" at {' / '.join(f'{r.projects:,}' for r, _ in compared)} projects",
                max(ratios) <= 0.7,
            )
        )
    reindex = results.reindex
    rebuild = max(run.seconds for run in reindex.rebuild)
    noop = max(run.seconds for run in reindex.noop)
    noop_writes = max(run.writes for run in reindex.noop)
    for label, taken in (("rebuild", rebuild), ("no-op", noop)):
        found.append(
            Target(
                "P2",
                f"reindex ({label}) of {reindex.projects:,} projects under 60 s at "
                f"{_ms(reindex.latency)} a request",
                seconds(taken),
                taken < 60,
            )
        )
    peak = max(run.max_rss_bytes for run in results.reindex.rebuild + results.reindex.noop)
    found.append(Target("P2", "peak memory under 300 MB", megabytes(peak), peak < 300 * MB))
    found.append(
        Target("P2", "no-op reindex writes zero objects", f"{noop_writes} writes", noop_writes == 0)
    )
    mono = results.monorepo
    ratio = middle(mono.ours_seconds) / middle(mono.sequential_seconds)
    found.append(
        Target(
            "P3",
            "≤ 0.5x the sequential time, same wheels",
            f"{ratio:.2f}x, wheels {'identical' if mono.same_wheels else 'DIFFERENT'}",
            ratio <= 0.5 and mono.same_wheels,
        )
    )
    with_metadata = [r for r in results.resolution if r.metadata_files]
    fetched = sum(r.wheels_fetched for r in with_metadata)
    found.append(
        Target(
            "P4",
            "no wheel downloaded while resolving",
            ", ".join(f"{r.installer}: {r.wheels_fetched} wheels" for r in with_metadata),
            fetched == 0,
        )
    )
    publish = results.cold_start[0]
    if publish.cold:
        found.append(
            Target(
                "P5",
                "publish environment downloads under 20 MB",
                megabytes(publish.download_bytes),
                publish.download_bytes < 20 * MB,
            )
        )
        found.append(
            Target("P5", "cold start under 15 s", seconds(publish.seconds), publish.seconds < 15)
        )
    many = results.many_packages
    if _has(many.latencies, TYPICAL_LATENCY) and many.at(TYPICAL_LATENCY).s3pypi:
        runs = many.at(TYPICAL_LATENCY)
        found.append(
            Target(
                "P6",
                f"{many.packages} packages ≤ 0.35x s3pypi's wall at {_ms(TYPICAL_LATENCY)} "
                "a request",
                f"{_ratio(runs):.2f}x ({_versus(runs)}), {max(runs.ours.round_trips)} round trips",
                _ratio(runs) <= 0.35,
            )
        )
    start = results.start_up
    if start.s3pypi_seconds:
        ours, theirs = middle(start.seconds), middle(start.s3pypi_seconds)
        found.append(
            Target(
                "P6",
                "`--version` no slower than `s3pypi --version`",
                f"{seconds(ours)} vs {seconds(theirs)}",
                ours <= theirs,
            )
        )
    return found


def render(results: Results) -> str:
    plan = results.plan
    out = [
        "# Benchmark results",
        "",
        f"- Command: `{plan.command}` ({'quick: a small version' if plan.quick else 'full'}), "
        f"finished in {results.seconds / 60:.1f} min",
        f"- Date: {results.started:%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        "- Load average at the end (1, 5, 15 min): "
        + ", ".join(f"{load:.1f}" for load in os.getloadavg())
        + " (other work on the machine shares its cores and slows every figure)",
        f"- Compared with: {results.s3pypi}; pip {version('pip')}",
        f"- Timed runs per figure: {plan.runs} (the median is shown); P2: {plan.reindex_runs}",
        "- Storage: one moto server in its own process on 127.0.0.1, counting requests by "
        "operation as they arrive, the same counter for both tools. moto closes every "
        "connection and spends ~2-3 ms of CPU per request on the same two cores, so "
        "absolute times are moto's as much as the tools'.",
        "- Bytecode: compiled for both tools before any run, as pip compiles what it "
        "installs (uv and PYTHONDONTWRITEBYTECODE leave it to each start, which then compiles "
        "botocore from source: ~0.6 s of CPU).",
        "- Latency: where a figure is at 30 or 80 ms, the server held every request (S3's "
        "and DynamoDB's) that long before handling it, each in its own thread, as S3's "
        "answers take tens of milliseconds. Round trips are the server's count of the "
        "critical path: the longest chain of requests each of which arrived after the one "
        "before it was answered.",
        "",
        "## Targets",
        "",
        table(
            ["", "goal", "measured", ""],
            [
                [t.scenario, t.goal, t.measured, "met" if t.met else "**missed**"]
                for t in targets(results)
            ],
        ),
        "",
        _one_release(results),
        _reindex(results),
        _monorepo(results),
        _resolution(results),
        _cold_start(results),
        _many_packages(results),
    ]
    return "\n".join(out)


def _one_release(results: Results) -> str:
    rows = []
    for r in results.one_release:
        for runs in r.latencies:
            rows.append([f"{r.projects:,}", *_tool_columns(runs)])
    observed = results.one_release[-1].observed
    agree = all(r.observed.agree for r in results.one_release)
    prefilled = "; ".join(
        f"{r.projects:,} projects: {r.prefill_objects:,} objects in {seconds(r.prefill_seconds)}"
        for r in results.one_release
    )
    return "\n".join(
        [
            "## P1. One release (a wheel and an sdist) into a big repository",
            "",
            "Each pre-filled project holds 5 files (3 wheels, 2 sdists) and its pages, in each "
            "tool's own layout. Both tools run as commands (`private-pypi publish --dist DIR`, "
            "`s3pypi upload FILES --put-root-index` with its DynamoDB lock table), so wall "
            "time includes starting Python and importing boto3 (~1 s each). Pre-filled (both "
            f"repositories): {prefilled}.",
            "",
            table(["projects", *TOOL_HEADERS], rows),
            "",
            f"An in-process publish at {_ms(observed.latency)} a request, as "
            f"`S3Storage.log_requests` saw it: {requests(observed.requests)} in "
            f"{observed.round_trips} round trips; the server counted "
            f"{requests(observed.requests_at_server)} in {observed.round_trips_at_server} "
            f"({'the same at every size' if agree else 'NOT the same at every size'}).",
            "",
        ]
    )


TOOL_HEADERS = [
    "latency",
    "ours: requests",
    "ours: round trips",
    "ours: wall (CPU)",
    "s3pypi: requests (S3 and DynamoDB)",
    "s3pypi: round trips",
    "s3pypi: wall (CPU)",
    "ours / s3pypi (wall)",
]


def _tool_columns(runs: AtLatency) -> list[str]:
    """One row's columns under TOOL_HEADERS."""
    theirs = runs.s3pypi
    return [
        _ms(runs.latency),
        requests(runs.ours.requests[0]),
        _trips(runs.ours),
        _wall_and_cpu(runs.ours),
        requests(theirs.requests[0]) if theirs else "-",
        _trips(theirs) if theirs else "-",
        _wall_and_cpu(theirs) if theirs else "-",
        f"{_ratio(runs):.2f}x" if theirs else "-",
    ]


def _wall_and_cpu(runs: ToolRuns) -> str:
    return f"{seconds(_median(runs))} ({seconds(middle(runs.cpu_seconds))})"


def _trips(runs: ToolRuns) -> str:
    """The round trips of the runs: one figure if every run took as many."""
    low, high = min(runs.round_trips), max(runs.round_trips)
    return str(low) if low == high else f"{low}-{high}"


def _reindex(results: Results) -> str:
    reindex = results.reindex
    rows = []
    for label, runs in (
        ("rebuild (every page deleted first)", reindex.rebuild),
        ("no-op (straight after)", reindex.noop),
    ):
        for run in runs:
            rows.append(
                [
                    label,
                    seconds(run.seconds),
                    seconds(run.cpu_seconds),
                    seconds(run.server_cpu_seconds),
                    megabytes(run.max_rss_bytes),
                    requests(run.requests),
                    str(run.writes),
                ]
            )
    return "\n".join(
        [
            f"## P2. `invoke reindex` of {reindex.projects:,} projects at "
            f"{_ms(reindex.latency)} a request",
            "",
            f"The P1 repository: {reindex.objects:,} files and metadata files. Peak memory is "
            "the reindex process's own (its `ru_maxrss`).",
            "",
            table(
                ["reindex", "wall", "its CPU", "moto's CPU", "peak memory", "requests", "writes"],
                rows,
            ),
            "",
            f"The listing alone, as every reindex starts: {reindex.listing.keys:,} keys in "
            f"{reindex.listing.pages} pages, {seconds(reindex.listing.seconds)}, of which moto "
            f"spent {seconds(reindex.listing.server_cpu_seconds)} of CPU (it sorts the whole "
            "bucket for every page).",
            "",
        ]
    )


def _monorepo(results: Results) -> str:
    mono = results.monorepo
    ours, sequential = middle(mono.ours_seconds), middle(mono.sequential_seconds)
    return "\n".join(
        [
            f"## P3. Build and publish a monorepo of {mono.packages} flit_core packages",
            "",
            table(
                ["", "wall", "ratio"],
                [
                    [
                        "`invoke publish --package … --no-isolation` (parallel builds)",
                        seconds(ours),
                        f"{ours / sequential:.2f}x",
                    ],
                    [
                        "`python -m build --no-isolation` per package, then upload_file per file "
                        "and an index.html per project",
                        seconds(sequential),
                        "1",
                    ],
                ],
            ),
            "",
            f"Wheels identical: {'yes' if mono.same_wheels else 'NO'}; sdists identical: "
            f"{'yes' if mono.same_sdists else 'no'} (SOURCE_DATE_EPOCH fixed for both).",
            "",
        ]
    )


def _resolution(results: Results) -> str:
    rows = []
    for r in results.resolution:
        kinds = ("page", "metadata", "wheel")
        rows.append(
            [
                r.installer,
                "yes" if r.metadata_files else "no",
                " / ".join(str(r.requests[kind]) for kind in kinds),
                " / ".join(f"{r.bytes[kind]:,}" for kind in kinds),
                f"{sum(r.bytes.values()):,}",
                seconds(r.seconds),
            ]
        )
    return "\n".join(
        [
            f"## P4. Resolving a chain of {len(results.resolution) and results.plan.chain} "
            "packages (each wheel carries 200 kB)",
            "",
            "`pip install --dry-run --report -` and `uv pip compile`, with no config and no "
            "cache, against a local HTTP server that counts what it sends.",
            "",
            table(
                [
                    "installer",
                    "metadata files",
                    "requests: pages / metadata / wheels",
                    "bytes: pages / metadata / wheels",
                    "bytes",
                    "wall",
                ],
                rows,
            ),
            "",
        ]
    )


def _cold_start(results: Results) -> str:
    rows = [
        [
            c.label,
            "empty" if c.cold else "warm, offline",
            seconds(c.seconds),
            megabytes(c.download_bytes),
            megabytes(c.cache_bytes) if c.cold else "-",
            megabytes(c.venv_bytes),
            str(c.packages),
        ]
        for c in results.cold_start
    ]
    return "\n".join(
        [
            "## P5. CI cold start: clean clone, empty uv cache, one publish",
            "",
            "Download = the wheels uv.lock pins for what was installed, for this machine "
            "(plus flit_core for the isolated build); the uv cache holds them unpacked.",
            "",
            table(
                ["command", "uv cache", "wall", "download", "uv cache after", "venv", "packages"],
                rows,
            ),
            "",
        ]
    )


def _many_packages(results: Results) -> str:
    many, start = results.many_packages, results.start_up
    watched = ", ".join(f"{name} {seconds(taken)}" for name, taken in start.watched.items())
    return "\n".join(
        [
            f"## P6. A monorepo's release: {many.packages} new packages in one publish",
            "",
            f"A wheel and an sdist of each of {many.packages} projects, {2 * many.packages} "
            "files, published by each tool as a command into an empty bucket of its own.",
            "",
            table(TOOL_HEADERS, [_tool_columns(runs) for runs in many.latencies]),
            "",
            "Start-up, `--version` (median of "
            f"{len(start.seconds)}, wall and CPU): `{start.command} --version` "
            f"{seconds(middle(start.seconds))} ({seconds(middle(start.cpu_seconds))})"
            + (
                f", `s3pypi --version` {seconds(middle(start.s3pypi_seconds))} "
                f"({seconds(middle(start.s3pypi_cpu_seconds))})"
                if start.s3pypi_seconds and start.s3pypi_cpu_seconds
                else ""
            )
            + f". `python -X importtime` of ours: {seconds(start.import_seconds)} of imports"
            + (f", of which {watched}" if watched else ", none of " + ", ".join(WATCHED_IMPORTS))
            + ".",
            "",
        ]
    )
