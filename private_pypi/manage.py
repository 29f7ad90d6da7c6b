"""Yank, unyank and delete releases (PEP 592).

A yank is recorded twice: as a marker object beside each file (`<file>.yank`, holding the
reason), so that it survives `invoke reindex`, and on the pages, which clients read.
A delete takes the files off the pages first and then removes them, so no page ever
links a missing file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from . import layout
from .errors import PublishError
from .index import Index
from .pages import FileEntry, ProjectPage


class ReleaseNotFound(PublishError):
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
    files = _files(index, release)
    if all(entry.yanked == reason for entry in files):
        return []
    for entry in files:
        index.storage.write(
            layout.yank_key(release.project, entry.filename),
            reason.encode(),
            content_type=layout.METADATA_TYPE,
            cache_control=layout.PAGE_CACHE_CONTROL,
        )
    page = index.update_project(
        release.project, lambda page: _mark(page, release, lambda e: e.yank(reason))
    )
    return page.files_of(release.version)


def unyank(index: Index, release: Release) -> list[FileEntry]:
    """Unyank the release's files; none (and nothing written) if none is yanked."""
    files = _files(index, release)
    if all(entry.yanked is None for entry in files):
        return []
    for entry in files:
        index.storage.delete(layout.yank_key(release.project, entry.filename))
    page = index.update_project(
        release.project, lambda page: _mark(page, release, FileEntry.unyank)
    )
    return page.files_of(release.version)


def delete(index: Index, release: Release) -> list[FileEntry]:
    files = _files(index, release)
    index.update_project(
        release.project,
        lambda page: (page or ProjectPage(release.project)).without_version(release.version),
    )
    for entry in files:
        for key in (
            layout.file_key(release.project, entry.filename),
            layout.metadata_key(release.project, entry.filename),
            layout.yank_key(release.project, entry.filename),
        ):
            index.storage.delete(key)
    return files


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
    page = page or ProjectPage(release.project)
    for entry in page.files_of(release.version):
        page = page.with_file(mark(entry))
    return page
