"""What the tasks print: sizes, one line per file, and progress bars on a terminal."""

from __future__ import annotations

import sys
from typing import TextIO

from .storage.base import Progress

# Smaller uploads finish before a bar would be worth drawing.
PROGRESS_THRESHOLD = 8 * 1024 * 1024


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def progress_bar(label: str, total: int, stream: TextIO = sys.stderr) -> Progress | None:
    """A bar for a large upload on a terminal; None (no bar) otherwise, e.g. in CI logs."""
    if total < PROGRESS_THRESHOLD or not stream.isatty():
        return None
    sent = 0

    def advance(chunk: int) -> None:
        nonlocal sent
        sent += chunk
        filled = int(30 * sent / total)
        stream.write(f"\r  {label} [{'#' * filled}{' ' * (30 - filled)}] {sent * 100 // total:3d}%")
        if sent >= total:
            stream.write("\r" + " " * (len(label) + 40) + "\r")
        stream.flush()

    return advance
