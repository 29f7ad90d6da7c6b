"""Sizes as a user reads them, and progress for large uploads (render.py prints the rest)."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, NoReturn, TextIO

from .storage.base import MULTIPART_THRESHOLD, Progress

if TYPE_CHECKING:
    from tqdm import tqdm

# Below this an upload is one request, which reports its progress once, at the end.
PROGRESS_THRESHOLD = MULTIPART_THRESHOLD
# Off a terminal (a CI log), one plain line at each of these fractions of the upload.
PLAIN_STEPS = (0.25, 0.5, 0.75, 1.0)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def progress_bar(
    label: str, total: int, stream: TextIO = sys.stderr, *, verb: str = "uploaded"
) -> Progress | None:
    """Progress for an upload (or, as `verb` says, a download) of `total` bytes, which
    s3transfer's threads call with each chunk sent: a bar that fits the terminal, plain
    lines off one, None for a small file. Nothing shows until the first chunk: publish
    asks for every file's progress first, then uploads those that have one in turn."""
    if total < PROGRESS_THRESHOLD:
        return None
    if not stream.isatty():
        return _plain_lines(label, total, stream, verb)
    lock = threading.Lock()
    shown: list[tqdm[NoReturn]] = []  # the bar, once the first chunk is sent

    def advance(chunk: int) -> None:
        with lock:
            if not shown:
                shown.append(_bar(label, total, stream))
            bar = shown[0]
            if bar.disable:
                return
            bar.update(chunk)
            if bar.n >= total:
                bar.close()

    return advance


def _bar(label: str, total: int, stream: TextIO) -> tqdm[NoReturn]:
    from tqdm import tqdm  # only for a large file on a terminal

    return tqdm(
        desc=label,
        # The file name last: a narrow terminal cuts it short, never the bar.
        bar_format="  {percentage:3.0f}% |{bar:20}| {n_fmt}B/{total_fmt}B {desc}",
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1000,
        file=stream,
        dynamic_ncols=True,  # follows the terminal's width, even when it is resized
        leave=False,
        mininterval=0.2,
    )


def _plain_lines(label: str, total: int, stream: TextIO, verb: str) -> Progress:
    lock = threading.Lock()
    sent = 0
    steps = list(PLAIN_STEPS)

    def advance(chunk: int) -> None:
        nonlocal sent
        with lock:
            sent += chunk
            while steps and sent >= steps[0] * total:
                stream.write(f"  {label}: {steps.pop(0):.0%} of {human_size(total)} {verb}\n")
                stream.flush()

    return advance
