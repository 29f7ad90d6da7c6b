"""Run the invoke tasks as CI does: a separate process, its environment, its exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from invoke.context import Context

import tasks
from private_pypi.contract import SEED_BUCKET_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
# `python -m invoke`; a test may give another way to start the same program.
INVOKE = ("-m", "invoke")
# What the machine running the tests may have set that a task reads: its AWS settings
# (the AWS_PYPI_* repository ones among them), the seed's bucket and the readers' index.
MACHINE_SETTINGS = ("AWS_", "PRIVATE_PYPI_", SEED_BUCKET_VARIABLE)


def _environment(env: dict[str, str] | None) -> dict[str, str]:
    """`env` over this process's environment, without the machine's own settings."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(MACHINE_SETTINGS)}
    return {**inherited, **(env or {})}


def invoke(
    *args: str,
    env: dict[str, str] | None = None,
    answer: str = "",
    python: tuple[str, ...] = INVOKE,
) -> subprocess.CompletedProcess[str]:
    """`invoke ARGS` in this checkout, as CI runs it: no terminal, `answer` on stdin, and
    `env` over this process's environment without the machine's own settings."""
    return subprocess.run(
        [sys.executable, *python, *args],
        cwd=ROOT,
        env=_environment(env),
        input=answer,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_in_process(name: str, *args: str, **options: Any) -> None:
    """The task `name` called in this process, as invoke calls it: a subprocess costs
    seconds. It reads this process's environment, and raises what invoke would report."""
    getattr(tasks, name)(Context(), *args, **options)


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed task prints: exit code 1 and `error: ...` alone on stderr."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]
