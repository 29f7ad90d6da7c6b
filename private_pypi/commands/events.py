"""What a command tells the face while it runs, and the reporter the face passes in.

A command returns its result at the end; these are the events before it: a step begun, a
package built or passed by, a file stored, a warning, a storage request. The face decides
what to show (`-q`: none; `-v`: every request and decision too) and how.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..advice import Text
from ..storage.base import Progress


@dataclass(frozen=True)
class Began:
    """A command's main step began: `publishing 4 file(s) to s3://acme-pypi`."""

    text: str


@dataclass(frozen=True)
class Built:
    path: Path
    size: int


@dataclass(frozen=True)
class AlreadyPublished:
    """A package whose release the repository has: neither built nor uploaded."""

    release: str  # "acme-hello 1.0.0"


@dataclass(frozen=True)
class Ignored:
    """A file in a directory given to publish that is not a distribution."""

    path: Path
    reason: str


@dataclass(frozen=True)
class FileDone:
    """One distribution's outcome: uploaded, unchanged, skipped or would upload."""

    filename: str
    outcome: str
    size: int
    # Why, for -v: what the repository had that decided it.
    reason: str


@dataclass(frozen=True)
class Warned:
    text: str | Text


@dataclass(frozen=True)
class Requested:
    """One storage request, for -v: `GET simple/acme/index.json`."""

    operation: str
    key: str


@dataclass(frozen=True)
class Decided:
    """A decision and its reason, for -v: `acme 1.0: published with a wheel: not built`."""

    text: str


Event = Began | Built | AlreadyPublished | Ignored | FileDone | Warned | Requested | Decided


class Reporter(Protocol):
    """What a face passes a command, to hear of its events as they happen."""

    @property
    def shows_requests(self) -> bool:
        """Whether to report every storage request (Requested), which costs a little."""
        ...

    def event(self, event: Event) -> None: ...

    def progress(self, label: str, total: int) -> Progress | None:
        """A callback for an upload's progress (bytes sent), or None to show none."""
        ...


class Silent:
    """A reporter that shows nothing: for a caller that wants only the result."""

    shows_requests = False

    def event(self, event: Event) -> None:
        pass

    def progress(self, label: str, total: int) -> Progress | None:
        return None
