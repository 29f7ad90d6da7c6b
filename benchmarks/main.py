"""`invoke bench`: run the plan, print the results and write them down."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .report import render
from .run import FULL, QUICK, Results, run_benchmarks

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
# A quick run proves the harness works; its figures never replace the full run's.
QUICK_RESULTS = HERE / ".work" / "results-quick.md"


def bench(*, quick: bool, say: Callable[[str], None] = print) -> tuple[Results, Path]:
    results = run_benchmarks(QUICK if quick else FULL, say)
    text = render(results)
    path = QUICK_RESULTS if quick else RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    say(text)
    say(f"written to {path}")
    return results, path
