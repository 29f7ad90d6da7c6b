"""Upload progress as a user sees it: on a real pseudo-terminal, and in a CI log."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from private_pypi.console import PROGRESS_THRESHOLD, progress_bar
from private_pypi.storage.s3 import MULTIPART_THRESHOLD

ROOT = Path(__file__).resolve().parent.parent
LABEL = "acme_big-1.0.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
TOTAL = 40 * 1000 * 1000
# s3transfer's eight threads, each reporting the chunks it sends, as its subscribers do.
UPLOAD = f"""
import threading
import time
from private_pypi.console import progress_bar

advance = progress_bar({LABEL!r}, {TOTAL})
chunk = 64 * 1024
def send(share):
    for _ in range(share // chunk):
        advance(chunk)
        time.sleep(0.01)  # a network's pace: the bar redraws several times
    advance(share % chunk)
threads = [threading.Thread(target=send, args=({TOTAL} // 8,)) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("done")
"""
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_a_terminal(columns: int) -> str:
    """Run the upload with stderr on a pseudo-terminal `columns` wide; what it drew."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "LINES"}}
    process = subprocess.Popen(
        [sys.executable, "-c", UPLOAD], cwd=ROOT, env=env, stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    drawn = bytearray()
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        drawn += data
    os.close(controller)
    assert process.wait(timeout=60) == 0, drawn.decode(errors="replace")
    return drawn.decode()


@pytest.mark.parametrize("columns", [60, 80])
def test_the_bar_fits_the_terminal_and_leaves_no_stale_lines(columns: int) -> None:
    drawn = on_a_terminal(columns)
    lines = drawn.replace("\r\n", "\n").split("\n")
    # Each redraw starts at the line's beginning; none may be wider than the terminal,
    # or it wraps and leaves a stale line behind at every redraw.
    redraws = [ESCAPE.sub("", part) for line in lines for part in line.split("\r")]
    assert max(len(redraw) for redraw in redraws) <= columns, max(redraws, key=len)
    assert any("%" in redraw and "acme_big" in redraw for redraw in redraws), drawn
    # Only "done" is left on the screen: the bar cleared itself when the upload ended.
    assert [line.strip() for line in lines if ESCAPE.sub("", line).strip()][-1].endswith("done")
    assert drawn.count("\n") <= 2


def test_off_a_terminal_it_prints_plain_lines() -> None:
    log = io.StringIO()
    advance = progress_bar(LABEL, TOTAL, log)
    assert advance is not None
    for _ in range(40):
        advance(TOTAL // 40)
    assert log.getvalue().splitlines() == [
        f"  {LABEL}: {share}% of 40.0 MB uploaded" for share in (25, 50, 75, 100)
    ]


def test_files_sent_in_one_request_get_no_progress_at_all() -> None:
    assert MULTIPART_THRESHOLD == PROGRESS_THRESHOLD
    assert progress_bar(LABEL, PROGRESS_THRESHOLD - 1, io.StringIO()) is None


# --- the renderer both faces print through ----------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class ClosedPipe(io.StringIO):
    """A stdout whose reader has gone: every write fails as a closed pipe does."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_colour_follows_the_terminal_and_no_color() -> None:
    from private_pypi.advice import INSTALLED
    from private_pypi.render import Console

    for stream, env, coloured in (
        (Terminal(), {}, True),
        (Terminal(), {"NO_COLOR": "1"}, False),
        (io.StringIO(), {}, False),
    ):
        Console(INSTALLED, err=stream, env=env).error("no repository configured")
        line = stream.getvalue()
        assert line.endswith("error:\033[0m no repository configured\n") == coloured, line
        assert line.startswith("error: ") != coloured


def test_a_closed_stdout_drops_the_output_and_never_stops_the_command() -> None:
    from private_pypi.advice import INSTALLED
    from private_pypi.commands.events import Began
    from private_pypi.render import Console

    errors = io.StringIO()
    console = Console(INSTALLED, out=ClosedPipe(), err=errors)
    console.event(Began("publishing 2 file(s) to s3://acme"))  # raises nothing
    console.event(Began("and then some"))
    console.error("still on stderr")
    assert errors.getvalue() == "error: still on stderr\n"
