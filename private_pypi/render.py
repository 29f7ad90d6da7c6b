"""What a command shows, for both faces: its events as they happen, then its result, as
text lines or as one JSON document; and its error, as one line.

Text goes to stdout; warnings and errors to stderr; with --json the document is all of
stdout, and the lines that would have been text go to stderr. A closed stdout (`| head -1`)
ends the output, never the work: the rest is dropped, the command finishes, and it exits
as it would have. Colour follows the terminal and NO_COLOR.
"""

from __future__ import annotations

import enum
import errno
import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from .advice import INTERRUPTED, Program, Text, render
from .commands.events import (
    AlreadyPublished,
    Began,
    Built,
    Decided,
    Event,
    FileDone,
    Ignored,
    Requested,
    Warned,
)
from .console import human_size, progress_bar
from .errors import ConfigurationError, PrivatePypiError
from .storage.base import Progress

if TYPE_CHECKING:
    from .commands.build import BuildOutcome
    from .commands.publish import PublishOutcome
    from .commands.reindex import ReindexOutcome
    from .commands.releases import DeletePlan, ReleaseOutcome
    from .commands.repository import Invalidation
    from .commands.verify import VerifyOutcome

    Outcome = BuildOutcome | PublishOutcome | ReleaseOutcome | ReindexOutcome | VerifyOutcome

# Verify shows the first problems; --json has every one.
SHOWN_PROBLEMS = 20


_COLOURS = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "dim": "2", "bold": "1"}
_OUTCOME_COLOURS = {
    "uploaded": "green",
    "unchanged": "dim",
    "would upload": "cyan",
    "skipped": "yellow",
}


class Verbosity(enum.IntEnum):
    QUIET = 0  # errors only
    NORMAL = 1
    VERBOSE = 2  # every storage request and decision too


def wants_colour(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Colour on a terminal, unless NO_COLOR is set to anything (no-color.org)."""
    if env.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


@dataclass
class Console:
    """The reporter both faces pass to a command, and what prints its result."""

    program: Program
    verbosity: Verbosity = Verbosity.NORMAL
    json: bool = False
    show_progress: bool = True
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _closed: set[int] = field(default_factory=set[int], repr=False)

    # --- the Reporter a command is given --------------------------------------------------

    @property
    def shows_requests(self) -> bool:
        return self.verbosity >= Verbosity.VERBOSE

    def event(self, event: Event) -> None:
        if self.verbosity == Verbosity.QUIET:
            return
        match event:
            case Began(text):
                self._say(text)
            case Built(path, size):
                self._say(f"  built {path.name} ({human_size(size)})")
            case AlreadyPublished(release):
                self._say(f"  already published: {release}")
            case Ignored(path, reason):
                self._say(f"  ignored {path.name}: {reason}")
            case FileDone(filename, outcome, size, reason):
                word = self._paint(self._stream, f"{outcome:12}", _OUTCOME_COLOURS.get(outcome))
                self._say(f"  {word} {filename} ({human_size(size)})")
                if self.shows_requests:
                    self._say(f"    {reason}")
            case Warned(text):
                warning = self._paint(self.err, "warning:", "yellow")
                self._write(self.err, f"  {warning} {render(text, self.program)}")
            case Requested(operation, key) if self.shows_requests:
                self._say(self._paint(self._stream, f"    {operation:6} {key}", "dim"))
            case Decided(text) if self.shows_requests:
                self._say(f"  {text}")
            case _:
                pass

    def progress(self, label: str, total: int) -> Progress | None:
        if not self.show_progress or self.verbosity == Verbosity.QUIET:
            return None
        return progress_bar(label, total, self.err)

    # --- the end of a command ---------------------------------------------------------------

    def result(self, outcome: Outcome) -> None:
        """Print what the command did: one JSON document, or (unless quiet) text lines."""
        if self.json:
            self._write(self.out, json.dumps(document(outcome, self.program), indent=2))
        elif self.verbosity > Verbosity.QUIET:
            for line in text_lines(outcome, self.program):
                self._write(self.out, line)

    def error(self, error: PrivatePypiError | str | Text) -> None:
        """The one line of an error: `error: what is wrong, and what to do`."""
        text = error.render(self.program) if isinstance(error, PrivatePypiError) else error
        self._write(
            self.err, f"{self._paint(self.err, 'error:', 'red')} {render(text, self.program)}"
        )

    def interrupted(self) -> None:
        self._write(self.err, INTERRUPTED)

    def verified(self, outcome: VerifyOutcome) -> int:
        """Print verify's result; its exit status, 1 with an error line if it found problems."""
        self.result(outcome)
        failure = verify_failure(outcome)
        if failure is None:
            return 0
        self.error(failure)
        return 1

    def confirmer(self, yes: bool) -> Callable[[DeletePlan], bool]:
        """How a delete is confirmed: --yes, else a question on the terminal; with no
        terminal to ask on, refused (nothing is deleted)."""

        def confirm(plan: DeletePlan) -> bool:
            if yes:
                return True
            release = f"{plan.project} {', '.join(plan.versions)}"
            if not self.stdin.isatty():
                raise ConfigurationError(
                    f"nothing deleted: deleting {release} needs a yes; with no terminal to "
                    "ask on, pass --yes"
                )
            self.err.write(
                f"delete every file of {release} from {plan.repository}? {plan.recovery}. [y/N] "
            )
            self.err.flush()
            return self.stdin.readline().strip().lower() in {"y", "yes"}

        return confirm

    # --- writing ----------------------------------------------------------------------------

    @property
    def _stream(self) -> TextIO:
        """Where progress lines go: stdout, unless it holds the JSON document."""
        return self.err if self.json else self.out

    def _say(self, line: str) -> None:
        self._write(self._stream, line)

    def _paint(self, stream: TextIO, text: str, colour: str | None) -> str:
        if colour is None or not wants_colour(stream, self.env):
            return text
        return f"\033[{_COLOURS[colour]}m{text}\033[0m"

    def _write(self, stream: TextIO, line: str) -> None:
        with self._lock:
            if id(stream) in self._closed:
                return
            try:
                stream.write(line + "\n")
                stream.flush()
            except OSError as error:
                if not isinstance(error, BrokenPipeError) and error.errno != errno.EPIPE:
                    raise
                self._closed.add(id(stream))
                silence(stream)


def verify_failure(outcome: VerifyOutcome) -> Text | None:
    """What verify's error line says, when it found problems: how many, and the next step."""
    report = outcome.report
    if report.ok:
        return None
    from .verify.report import next_step

    return Text(f"{len(report.problems)} problem(s): ", *next_step(report).parts)


def silence(stream: TextIO) -> None:
    """Point a closed pipe's file descriptor at /dev/null, so that nothing written later,
    nor the interpreter's last flush, fails on it."""
    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


# --- text ---------------------------------------------------------------------------------


def text_lines(outcome: Outcome, program: Program) -> list[str]:
    from .commands.build import BuildOutcome
    from .commands.publish import PublishOutcome
    from .commands.reindex import ReindexOutcome
    from .commands.releases import ReleaseOutcome

    match outcome:
        case PublishOutcome():
            return _publish_lines(outcome)
        case BuildOutcome():
            return [] if outcome.built else ["nothing built"]
        case ReleaseOutcome():
            return _release_lines(outcome)
        case ReindexOutcome(report=report):
            return [
                f"{report.projects} project(s), {report.files} file(s); {report.inspected} "
                f"file(s) read again; {len(report.written)} page object(s) written",
                *_cdn_lines(outcome.invalidation),
            ]
        case _:
            return _verify_lines(outcome, program)


def _publish_lines(outcome: PublishOutcome) -> list[str]:
    if outcome.built and not outcome.files:
        return [f"nothing to do: every package is already published in {outcome.repository}"]
    if outcome.dry_run:
        return ["dry run: nothing was written"]
    if not outcome.pages:
        return ["nothing to do: every file is already published"]
    return [
        *_cdn_lines(outcome.invalidation),
        f"index: {outcome.index_url}",
        f"install: pip install --extra-index-url {outcome.index_url} " + " ".join(outcome.projects),
    ]


def _release_lines(outcome: ReleaseOutcome) -> list[str]:
    lines: list[str] = []
    where = outcome.repository
    idle = {
        "yank": "{release} is already yanked in {where}, for that reason",
        "unyank": "{release} is not yanked in {where}",
        "delete": "{release} was deleted from {where} already",
    }[outcome.action]
    for change in outcome.changes:
        release = f"{outcome.project} {change.version}"
        if outcome.action == "delete":
            lines += [f"  deleted {filename} from {where}" for filename in change.files]
        elif change.files:
            lines.append(f"{outcome.action}ed {len(change.files)} file(s) of {release} in {where}")
        if change.finished:
            done = [f"rewrote {', '.join(change.repaired)} to match the JSON"] * bool(
                change.repaired
            ) + [f"removed {', '.join(change.removed)}"] * bool(change.removed)
            lines.append(f"finished an interrupted run in {where}: {'; '.join(done)}")
        elif not change.files:
            lines.append("nothing to do: " + idle.format(release=release, where=where))
    if outcome.recovery and any(change.files or change.removed for change in outcome.changes):
        lines.append(f"recovery: {outcome.recovery}")
    return lines + _cdn_lines(outcome.invalidation)


def _verify_lines(outcome: VerifyOutcome, program: Program) -> list[str]:
    report = outcome.report
    lines = [render(report.summary(), program)]
    lines += [f"  {_problem(problem, program)}" for problem in report.problems[:SHOWN_PROBLEMS]]
    if len(report.problems) > SHOWN_PROBLEMS:
        lines.append(f"  … and {len(report.problems) - SHOWN_PROBLEMS} more")
    return lines


def _problem(problem: Any, program: Program) -> str:
    return f"{problem.kind}: {problem.where}: {render(problem.detail, program)}"


def _cdn_lines(invalidation: Invalidation | None) -> list[str]:
    if invalidation is None:
        return []
    return [
        f"cdn: invalidated {len(invalidation.paths)} page path(s) on {invalidation.distribution_id}"
    ]


# --- JSON ---------------------------------------------------------------------------------


def document(outcome: Outcome, program: Program) -> dict[str, Any]:
    """The one JSON document of --json: what was done, per file, and the index URL."""
    from .commands.build import BuildOutcome
    from .commands.publish import PublishOutcome
    from .commands.reindex import ReindexOutcome
    from .commands.releases import ReleaseOutcome

    match outcome:
        case PublishOutcome():
            return {
                "command": "publish",
                "repository": outcome.repository,
                "index_url": outcome.index_url,
                "dry_run": outcome.dry_run,
                "files": [
                    {
                        "filename": published.distribution.filename,
                        "project": published.distribution.project,
                        "version": str(published.distribution.version),
                        "outcome": published.outcome.value,
                        "size": published.distribution.size,
                        "sha256": published.distribution.sha256,
                        "url": f"{outcome.index_url}{published.distribution.project}/"
                        f"{published.distribution.filename}",
                    }
                    for published in outcome.files
                ],
                "already_published": list(outcome.already_published),
                "pages_written": list(outcome.pages),
                **_cdn(outcome.invalidation),
            }
        case BuildOutcome():
            return {
                "command": "build",
                "output": str(outcome.output),
                "files": [
                    {"filename": path.name, "path": str(path), "size": path.stat().st_size}
                    for path in outcome.built
                ],
            }
        case ReleaseOutcome():
            return {
                "command": outcome.action,
                "repository": outcome.repository,
                "index_url": outcome.index_url,
                "project": outcome.project,
                "versions": [
                    {
                        "version": change.version,
                        "files": list(change.files),
                        "repaired": list(change.repaired),
                        "removed": list(change.removed),
                    }
                    for change in outcome.changes
                ],
                **({"reason": outcome.reason} if outcome.action == "yank" else {}),
                **({"recovery": outcome.recovery} if outcome.recovery else {}),
                "pages_written": list(outcome.pages),
                **_cdn(outcome.invalidation),
            }
        case ReindexOutcome(report=report):
            return {
                "command": "reindex",
                "repository": outcome.repository,
                "index_url": outcome.index_url,
                "projects": report.projects,
                "files": report.files,
                "inspected": report.inspected,
                "pages_written": report.written,
                "problems": [render(problem, program) for problem in report.problems],
                **_cdn(outcome.invalidation),
            }
        case _:
            report = outcome.report
            return {
                "command": "verify",
                "index_url": outcome.index_url,
                "listed": outcome.listed,
                "ok": report.ok,
                "empty": report.empty,
                "projects": report.projects,
                "files": report.files,
                "bytes": report.bytes,
                "problems": [
                    {
                        "kind": str(problem.kind),
                        "where": problem.where,
                        "detail": render(problem.detail, program),
                    }
                    for problem in report.problems
                ],
            }


def _cdn(invalidation: Invalidation | None) -> dict[str, Any]:
    if invalidation is None:
        return {"cdn": None}
    return {
        "cdn": {"distribution_id": invalidation.distribution_id, "paths": list(invalidation.paths)}
    }
