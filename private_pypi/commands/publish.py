"""`publish`: build what is new (or take the files given), upload it, update the index."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..distributions import find_distributions
from ..errors import ConfigurationError
from ..index import Index
from ..publish import Outcome, PublishedFile, Publisher, inspect_all
from .events import Began, FileDone, Ignored, Reporter
from .repository import (
    Invalidation,
    Surroundings,
    invalidate_pages,
    open_index,
    require_new_or_repository,
    require_repository,
)

# Why each outcome came about, for -v.
REASONS = {
    Outcome.UPLOADED: "not in the repository: stored",
    Outcome.UNCHANGED: "the repository has it with the same sha256: not stored again",
    Outcome.WOULD_UPLOAD: "not in the repository: a publish would store it",
    Outcome.SKIPPED: "the repository has other bytes under this name, which stay (--skip-existing)",
}


@dataclass(frozen=True)
class PublishSettings:
    # FILE… and --dist: these files, or the distributions in these directories; build nothing.
    files: tuple[Path, ...] = ()
    # --package: build these package directories instead of the configured ones.
    packages: tuple[Path, ...] = ()
    repository: str | None = None
    dry_run: bool = False
    # Skip a file whose name the repository has with other bytes, instead of refusing.
    skip_existing: bool = False
    isolated: bool = True


@dataclass(frozen=True)
class PublishOutcome:
    repository: str
    index_url: str
    dry_run: bool
    files: tuple[PublishedFile, ...] = ()
    # Build mode: the releases the repository had already, neither built nor uploaded.
    already_published: tuple[str, ...] = ()
    # The page keys written, and the CloudFront paths dropped for them.
    pages: tuple[str, ...] = ()
    invalidation: Invalidation | None = None
    built: bool = False

    @property
    def projects(self) -> list[str]:
        return sorted({published.distribution.project for published in self.files})


def publish(
    settings: PublishSettings,
    surroundings: Surroundings,
    reporter: Reporter,
    *,
    configured_packages: Sequence[Path] = (),
) -> PublishOutcome:
    """Publish the files given, or build the packages and publish what is new.

    Safe to run again: files already there with the same bytes are unchanged, and a run
    that stopped part way is finished by the next."""
    index = open_index(surroundings, settings.repository, reporter)
    if settings.dry_run:
        require_repository(index.storage)
    else:
        require_new_or_repository(index.storage)
    if settings.files:
        return _publish(index, dist_files(settings.files, reporter), settings, surroundings,
                        reporter)  # fmt: skip
    from .build import build_step, sources_to_build  # pypa/build: only to build

    sources = sources_to_build(settings.packages, surroundings, configured_packages)
    # A directory of this run's own: files that another build left, or that a publish
    # running beside this one in the same checkout writes, are never taken for this build's.
    with tempfile.TemporaryDirectory(prefix="private-pypi-build-") as output:
        built = build_step(sources, Path(output), settings.isolated, reporter, index)
        if not built.built:
            return _outcome(index, settings, already=built.already_published, built=True)
        outcome = _publish(index, list(built.built), settings, surroundings, reporter)
    return replace(outcome, already_published=tuple(map(str, built.already_published)), built=True)


def _outcome(
    index: Index, settings: PublishSettings, *, already: Sequence[object] = (), built: bool
) -> PublishOutcome:
    storage = index.storage
    return PublishOutcome(
        storage.location,
        storage.index_url,
        settings.dry_run,
        already_published=tuple(map(str, already)),
        built=built,
    )


def _publish(
    index: Index,
    files: list[Path],
    settings: PublishSettings,
    surroundings: Surroundings,
    reporter: Reporter,
) -> PublishOutcome:
    distributions = inspect_all(files)
    storage = index.storage
    verb = "checking" if settings.dry_run else "publishing"
    reporter.event(Began(f"{verb} {len(distributions)} file(s) to {storage.location}"))

    def done(published: PublishedFile) -> None:
        distribution = published.distribution
        reporter.event(
            FileDone(
                distribution.filename,
                published.outcome.value,
                distribution.size,
                REASONS[published.outcome],
            )
        )

    result = Publisher(index).publish(
        distributions,
        dry_run=settings.dry_run,
        skip_existing=settings.skip_existing,
        on_file=done,
        progress=lambda distribution: reporter.progress(distribution.filename, distribution.size),
    )
    invalidation = None if settings.dry_run else invalidate_pages(surroundings.env, result.pages)
    return PublishOutcome(
        storage.location,
        storage.index_url,
        settings.dry_run,
        tuple(result.files),
        pages=tuple(result.pages),
        invalidation=invalidation,
    )


def dist_files(paths: Sequence[Path], reporter: Reporter) -> list[Path]:
    """The distributions the arguments name: each file, and those in each directory."""
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
            continue
        if not path.is_dir():
            raise ConfigurationError(f"{path}: no such file or directory")
        found = find_distributions(path)
        if not found:
            raise ConfigurationError(f"no .whl, .tar.gz or .zip files in {path}")
        for other in sorted(set(path.iterdir()) - set(found)):
            if other.is_file() and not other.name.startswith("."):
                reporter.event(
                    Ignored(other, "not a wheel or an sdist (.egg and others are refused)")
                )
        files.extend(found)
    return files
