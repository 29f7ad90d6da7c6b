"""Yank, unyank and delete releases (PEP 592).

A yank is recorded twice: as a marker object beside each file (`<file>.yank`, holding the
reason), so that it survives `invoke reindex`, and on the pages, which clients read.
The markers are written (or removed) for the files of the page being committed, each time
the update is tried, so a publish racing a yank loses no marker. A delete takes the files
off the pages first, leaving a tombstone for each name, then removes them: no page ever
links a missing file, and no publish or reindex racing the delete can bring one back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from . import layout
from .errors import PrivatePypiError
from .index import Index
from .pages import FileEntry, ProjectPage


class ReleaseNotFound(PrivatePypiError):
    """The project or version is not in the index."""


@dataclass(frozen=True)
class Release:
    project: NormalizedName
    version: Version

    @classmethod
    def parse(cls, name: str, version: str) -> Release:
        try:
            return cls(canonicalize_name(name, validate=True), Version(version))
        except (ValueError, InvalidVersion) as error:
            raise ReleaseNotFound(f"{name} {version}: {error}") from None

    def __str__(self) -> str:
        return f"{self.project} {self.version}"


def yank(index: Index, release: Release, reason: str = "") -> list[FileEntry]:
    """Yank the release's files; none (and nothing written) if they are yanked so already."""
    if all(entry.yanked == reason for entry in _files(index, release)):
        return []

    def mark(entry: FileEntry) -> FileEntry:
        index.storage.write(
            layout.yank_key(release.project, entry.filename),
            reason.encode(),
            content_type=layout.METADATA_TYPE,
            cache_control=layout.PAGE_CACHE_CONTROL,
        )
        return entry.yank(reason)

    page = index.update_project(release.project, lambda page: _mark(page, release, mark))
    return page.files_of(release.version)


def unyank(index: Index, release: Release) -> list[FileEntry]:
    """Unyank the release's files; none (and nothing written) if none is yanked."""
    if all(entry.yanked is None for entry in _files(index, release)):
        return []

    def unmark(entry: FileEntry) -> FileEntry:
        index.storage.delete(layout.yank_key(release.project, entry.filename))
        return entry.unyank()

    page = index.update_project(release.project, lambda page: _mark(page, release, unmark))
    return page.files_of(release.version)


def delete(index: Index, release: Release) -> list[FileEntry]:
    _files(index, release)
    removed: list[FileEntry] = []

    def drop(page: ProjectPage | None) -> ProjectPage:
        page = page or ProjectPage(release.project)
        # The files on the page as committed, published meanwhile or not: all are removed.
        removed[:] = page.files_of(release.version)
        return page.without_version(release.version)

    index.update_project(release.project, drop)
    for entry in removed:
        remove_objects(index, release.project, entry.filename)
    return removed


def remove_objects(index: Index, project: NormalizedName, filename: str) -> None:
    """Remove a deleted file and what goes with it; its tombstone keeps it off the pages."""
    for key in (
        layout.file_key(project, filename),
        layout.metadata_key(project, filename),
        layout.yank_key(project, filename),
    ):
        index.storage.delete(key)


def _files(index: Index, release: Release) -> list[FileEntry]:
    page = index.project(release.project)
    files = page.files_of(release.version) if page else []
    if not files:
        known = ", ".join(page.versions) if page and page.versions else "none"
        raise ReleaseNotFound(
            f"{release} is not in {index.storage.location} (versions there: {known})"
        )
    return files


def _mark(
    page: ProjectPage | None, release: Release, mark: Callable[[FileEntry], FileEntry]
) -> ProjectPage:
    # The marks go with the files of the page being committed, so a file published while
    # a yank runs is on the page yanked only if its marker says so.
    page = page or ProjectPage(release.project)
    for entry in page.files_of(release.version):
        page = page.with_file(mark(entry))
    return page
