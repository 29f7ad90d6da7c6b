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
from .index import Index, ProjectChange, Update
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


@dataclass(frozen=True)
class ReleaseChange:
    """What a yank, unyank or delete did: the release's files it changed (none: there was
    nothing to do), and the page keys it wrote, what a CDN must drop."""

    files: tuple[FileEntry, ...] = ()
    pages: tuple[str, ...] = ()


def yank(index: Index, release: Release, reason: str = "") -> ReleaseChange:
    """Yank the release's files; none (and nothing written) if they are yanked so already."""
    if all(entry.yanked == reason for entry in _files(index, release)):
        return ReleaseChange()

    def mark(entry: FileEntry) -> FileEntry:
        index.storage.write(
            layout.yank_key(release.project, entry.filename),
            reason.encode(),
            content_type=layout.METADATA_TYPE,
            cache_control=layout.PAGE_CACHE_CONTROL,
        )
        return entry.yank(reason)

    return _changed(release, index.update_project(release.project, _marking(release, mark)))


def unyank(index: Index, release: Release) -> ReleaseChange:
    """Unyank the release's files; none (and nothing written) if none is yanked."""
    if all(entry.yanked is None for entry in _files(index, release)):
        return ReleaseChange()

    def unmark(entry: FileEntry) -> FileEntry:
        index.storage.delete(layout.yank_key(release.project, entry.filename))
        return entry.unyank()

    return _changed(release, index.update_project(release.project, _marking(release, unmark)))


def delete(index: Index, release: Release) -> ReleaseChange:
    _files(index, release)
    removed: list[FileEntry] = []

    def drop(page: ProjectPage | None) -> ProjectPage:
        page = page or ProjectPage(release.project)
        # The files on the page as committed, published meanwhile or not: all are removed.
        removed[:] = page.files_of(release.version)
        return page.without_version(release.version)

    update = index.update_project(release.project, drop)
    for entry in removed:
        remove_objects(index, release.project, entry.filename)
    return ReleaseChange(tuple(removed), update.written)


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


def _marking(release: Release, mark: Callable[[FileEntry], FileEntry]) -> ProjectChange:
    """The change that marks each file of the release on the page being committed, so a file
    published while a yank runs is on the page yanked only if its marker says so."""

    def change(page: ProjectPage | None) -> ProjectPage:
        page = page or ProjectPage(release.project)
        for entry in page.files_of(release.version):
            page = page.with_file(mark(entry))
        return page

    return change


def _changed(release: Release, update: Update[ProjectPage]) -> ReleaseChange:
    return ReleaseChange(tuple(update.record.files_of(release.version)), update.written)
