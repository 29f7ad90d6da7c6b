"""What a mirror run did with each file a lock pins: as lines of text, and as one JSON
document."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..console import human_size
from .locks import Lock, SkippedPackage


class Outcome(enum.Enum):
    COPIED = "copied"
    # In the index already, with the pinned bytes: not downloaded.
    PRESENT = "present"
    WOULD_COPY = "would copy"
    REFUSED = "refused"


@dataclass(frozen=True)
class MirroredFile:
    lock: Path
    project: str
    filename: str
    """The file's name; a requirements pin not found upstream is named by its hash."""
    outcome: Outcome
    sha256: str | None = None
    size: int | None = None
    reason: str = ""
    """Why it was refused; or, copied, what else happened to it."""
    yanked: str | None = None
    """The upstream's yank, carried over by this run (or, in a dry run, that would be)."""

    @property
    def line(self) -> str:
        size = f" ({human_size(self.size)})" if self.size is not None else ""
        reason = f": {self.reason}" if self.reason else ""
        line = f"  {self.outcome.value:12} {self.filename}{size}{reason}"
        if self.yanked is not None:
            verb = "would yank" if self.outcome is Outcome.WOULD_COPY else "yanked"
            line += f"; {verb} as upstream" + (f": {self.yanked}" if self.yanked else "")
        return line

    def to_json(self) -> dict[str, Any]:
        return {
            "lock": str(self.lock),
            "project": self.project,
            "filename": self.filename,
            "outcome": self.outcome.value,
            "sha256": self.sha256,
            "size": self.size,
            "reason": self.reason,
            "yanked": self.yanked,
        }


def skipped_line(skipped: SkippedPackage) -> str:
    return f"  {'skipped':12} {skipped.name} ({skipped.lock.name}): {skipped.reason}"


@dataclass
class MirrorResult:
    repository: str
    index_url: str
    dry_run: bool
    locks: list[Lock] = field(default_factory=list[Lock])
    files: list[MirroredFile] = field(default_factory=list[MirroredFile])
    # The page keys the run wrote, in order: what a CDN must drop.
    pages: list[str] = field(default_factory=list[str])

    @property
    def skipped(self) -> list[SkippedPackage]:
        return [skipped for lock in self.locks for skipped in lock.skipped]

    def of(self, outcome: Outcome) -> list[MirroredFile]:
        return [file for file in self.files if file.outcome is outcome]

    @property
    def refused(self) -> list[MirroredFile]:
        return self.of(Outcome.REFUSED)

    def summary(self) -> str:
        """One line: what was copied and its size, what was there, what was refused."""
        moved = self.of(Outcome.WOULD_COPY if self.dry_run else Outcome.COPIED)
        sizes = [file.size for file in moved]
        unknown = sizes.count(None)
        total = human_size(sum(size for size in sizes if size is not None))
        unknown_part = f" (and {unknown} of unknown size)" if unknown else ""
        verb = "would copy" if self.dry_run else "copied"
        parts = [f"{verb} {len(moved)} file(s), {total}{unknown_part}"]
        parts.append(f"{len(self.of(Outcome.PRESENT))} already in the index")
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        if self.skipped:
            parts.append(f"{len(self.skipped)} package(s) skipped")
        yanked = [file for file in self.files if file.yanked is not None]
        if yanked:
            parts.append(f"{len(yanked)} yank(s) carried over")
        ending = "; dry run: nothing was written" if self.dry_run else ""
        return "; ".join(parts) + ending

    def to_json(self) -> dict[str, Any]:
        copied = self.of(Outcome.WOULD_COPY if self.dry_run else Outcome.COPIED)
        return {
            "repository": self.repository,
            "index_url": self.index_url,
            "dry_run": self.dry_run,
            "locks": [
                {"path": str(lock.path), "format": lock.kind, "files": len(lock.files)}
                for lock in self.locks
            ],
            "files": [file.to_json() for file in self.files],
            "skipped": [
                {"lock": str(skipped.lock), "name": skipped.name, "reason": skipped.reason}
                for skipped in self.skipped
            ],
            "copied": len(copied),
            "copied_bytes": sum(file.size or 0 for file in copied),
            "present": len(self.of(Outcome.PRESENT)),
            "refused": len(self.refused),
            "pages_written": self.pages,
        }
