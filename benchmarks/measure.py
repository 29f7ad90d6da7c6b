"""Timing a command the way a user runs it: wall time, CPU and peak memory of the process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent


class CommandFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class ProcessRun:
    seconds: float
    cpu_seconds: float
    max_rss_bytes: int
    output: str


def run_process(
    command: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> ProcessRun:
    """Run `command` to the end; raise CommandFailed with its output if it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    # wait4 rather than wait: it also answers the child's own CPU time and peak RSS.
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    if process.returncode != 0:
        raise CommandFailed(
            f"{' '.join(map(str, command))} failed ({process.returncode}):\n{output}"
        )
    return ProcessRun(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_bytes=usage.ru_maxrss * 1024,  # Linux counts it in KiB
        output=output,
    )


def compile_bytecode(python: Path | str, *directories: Path) -> None:
    """Compile the modules under `directories` to bytecode with `python`, as pip does when it
    installs: every timed command then starts from bytecode, as on a second run, whatever
    PYTHONDONTWRITEBYTECODE says (uv installs without it; compiling botocore from source
    takes ~0.6 s of CPU at every start)."""
    command = [str(python), "-m", "compileall", "-q", "-j", "0", *map(str, directories)]
    subprocess.run(command, capture_output=True, check=False)  # a test file may not compile


def run_invoke(*args: str, env: dict[str, str]) -> ProcessRun:
    """`invoke ARGS` in this checkout, as a user runs it: a command of its own."""
    command = [sys.executable, "-m", "invoke", "--search-root", str(ROOT), *args]
    return run_process(command, env=env, cwd=ROOT)


def run_ours(*args: str, env: dict[str, str] | None = None) -> ProcessRun:
    """Our installed command with ARGS, as the GitHub Action runs it (`private-pypi ARGS`)."""
    return run_process([str(our_command()), *args], env=env, cwd=ROOT)


def our_command() -> Path:
    """The console script this checkout installs for the library, whatever it is named."""
    for entry in entry_points(group="console_scripts"):
        if entry.value.startswith("private_pypi."):
            return Path(sys.executable).parent / entry.name
    raise CommandFailed("the library installs no command here: run `uv sync`")


def middle(values: Sequence[float]) -> float:
    return float(median(values))


def directory_size(path: Path) -> int:
    """Bytes in the files under `path`, counting hard-linked files once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, _, names in os.walk(path):
        for name in names:
            stat = os.lstat(os.path.join(directory, name))
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size
    return total
