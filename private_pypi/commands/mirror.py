"""`mirror --from LOCK`: copy exactly the files a lock pins from an upstream index into
this one, hash-checked, through the same path as publish."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..advice import Extra
from .events import Began, Mirrored, Reporter
from .repository import Invalidation, Surroundings, invalidate_pages
from .verify import MissingExtra

if TYPE_CHECKING:
    from ..mirror.report import MirrorResult


@dataclass(frozen=True)
class MirrorSettings:
    locks: Sequence[Path]
    # NAME=URL or a URL; None: the index each lock names for each file, else PyPI.
    upstream: str | None = None
    repository: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class MirrorOutcome:
    result: MirrorResult
    invalidation: Invalidation | None = None


def mirror(
    settings: MirrorSettings, surroundings: Surroundings, reporter: Reporter
) -> MirrorOutcome:
    """Copy every file the locks pin; files refused (a wrong hash) are in the result, each
    named, and nothing of them is written."""
    try:
        # pypi-simple reads the upstream: the `mirror` extra, which publishing does without.
        from ..mirror import mirror as run
    except ModuleNotFoundError as error:
        if error.name != "pypi_simple":
            raise
        raise MissingExtra(
            "mirror reads the upstream index with pypi-simple, which this environment lacks: use ",
            Extra("mirror"),
        ) from None
    target = surroundings.repository(settings.repository)
    verb = "checking" if settings.dry_run else "mirroring"
    locks = ", ".join(map(str, settings.locks))
    reporter.event(Began(f"{verb} {locks} into {target}"))
    result = run(
        settings.locks,
        repository=target,
        env=surroundings.env,
        upstream=settings.upstream,
        dry_run=settings.dry_run,
        on_file=lambda file: reporter.event(Mirrored(file.line)),
        download_progress=lambda label, total: reporter.progress(label, total, verb="downloaded"),
        upload_progress=reporter.progress,
    )
    return MirrorOutcome(result, invalidate_pages(surroundings.env, result.pages))
