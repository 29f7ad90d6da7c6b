"""`build`: an sdist and a wheel of each package, reproducibly; and the build step of publish."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..configuration import find_table, packages_to_build
from ..index import Index
from .events import AlreadyPublished, Began, Built, Decided, Reporter
from .repository import Surroundings

if TYPE_CHECKING:
    from ..building import SourceRelease


@dataclass(frozen=True)
class BuildSettings:
    # --package: the package directories to build; none: those the configuration names.
    packages: tuple[Path, ...] = ()
    output: Path = Path("dist")
    # False (--no-isolation): build with the backend installed here, which works offline.
    isolated: bool = True


@dataclass(frozen=True)
class BuildOutcome:
    output: Path
    built: tuple[Path, ...]
    # With an index to ask: the releases it has already, neither built nor uploaded.
    already_published: tuple[SourceRelease, ...] = ()


def build(
    settings: BuildSettings,
    surroundings: Surroundings,
    reporter: Reporter,
    *,
    configured_packages: Sequence[Path] = (),
) -> BuildOutcome:
    """Build each package: those given, else [tool.private-pypi]'s, else `configured_packages`
    (invoke.yaml's, in this project's checkout)."""
    sources = sources_to_build(settings.packages, surroundings, configured_packages)
    return build_step(sources, settings.output, settings.isolated, reporter)


def sources_to_build(
    packages: Sequence[Path], surroundings: Surroundings, configured: Sequence[Path]
) -> tuple[Path, ...]:
    return packages_to_build(
        [str(package) for package in packages],
        find_table(surroundings.cwd),
        [str(package) for package in configured],
        None,
        surroundings.cwd,
    )


def build_step(
    sources: Sequence[Path],
    output: Path,
    isolated: bool,
    reporter: Reporter,
    index: Index | None = None,
) -> BuildOutcome:
    """Build the packages into `output`; with `index`, pass by each release it has."""
    from ..building import build_packages  # pypa/build: only what builds imports it

    reporter.event(Began(f"building {len(sources)} package(s) into {output}"))
    result = build_packages(
        sources,
        output,
        isolated=isolated,
        is_published=_published_in(index, reporter) if index else None,
    )
    for release in result.skipped:
        reporter.event(AlreadyPublished(str(release)))
    for path in result.built:
        reporter.event(Built(path, path.stat().st_size))
    return BuildOutcome(output, tuple(result.built), tuple(result.skipped))


def _published_in(index: Index, reporter: Reporter) -> Callable[[SourceRelease], bool]:
    """Whether the index has a release as a build makes it, an sdist and a wheel: one read
    of its project page. A release published in part (one file of it) is built again, and
    its files already there are unchanged."""

    def published(release: SourceRelease) -> bool:
        page = index.project(release.project)
        files = page.files_of(release.version) if page is not None else []
        wheels = [entry for entry in files if entry.filename.endswith(".whl")]
        done = bool(wheels) and len(wheels) < len(files)
        if done:
            why = "the repository has its sdist and wheel: not built"
        elif files:
            why = f"the repository has {len(files)} of its files: built to complete it"
        else:
            why = "not in the repository: built"
        reporter.event(Decided(f"{release}: {why}"))
        return done

    return published
