"""Yank, unyank and delete releases (PEP 592).

A yank is recorded twice: as a marker object beside each file (`<file>.yank`, holding the
reason), so that it survives `invoke reindex`, and on the pages, which clients read.
The markers are written (or removed) for the files of the page being committed, each time
the update is tried, so a publish racing a yank loses no marker. A delete takes the files
off the pages first, leaving a tombstone for each name, then removes them: no page ever
links a missing file, and no publish or reindex racing the delete can bring one back.

Each command, run again after it was interrupted, finishes it: it finds the JSON page done,
brings the HTML copies in line with it, and a delete removes what is still stored of the
files its tombstones name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from . import layout
from .errors import PrivatePypiError
from .index import Index, ProjectChange, ProjectSnapshot, Update
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
    """What a yank, unyank or delete did: the release's files it changed (none: the page
    was so already), the page keys it wrote, what a CDN must drop, and what it finished of
    an interrupted run: the HTML copies it brought in line with the JSON (`repaired`), and
    the stored objects of deleted files that it removed (`removed`)."""

    files: tuple[FileEntry, ...] = ()
    pages: tuple[str, ...] = ()
    repaired: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def yank(index: Index, release: Release, reason: str = "") -> ReleaseChange:
    """Yank the release's files. If they are yanked so already, only finish what an
    interrupted run left: HTML that lags the JSON."""
    read = index.snapshot(release.project)
    if all(entry.yanked == reason for entry in _files(index, release, read)):
        return _level_html(index, release, read)

    def mark(entry: FileEntry) -> FileEntry:
        index.storage.write(
            layout.yank_key(release.project, entry.filename),
            reason.encode(),
            content_type=layout.METADATA_TYPE,
            cache_control=layout.PAGE_CACHE_CONTROL,
        )
        return entry.yank(reason)

    update = index.update_project(release.project, _marking(release, mark), read=read)
    return _changed(release, update)


def unyank(index: Index, release: Release) -> ReleaseChange:
    """Unyank the release's files. If none is yanked, only finish what an interrupted run
    left: HTML that lags the JSON."""
    read = index.snapshot(release.project)
    if all(entry.yanked is None for entry in _files(index, release, read)):
        return _level_html(index, release, read)

    def unmark(entry: FileEntry) -> FileEntry:
        index.storage.delete(layout.yank_key(release.project, entry.filename))
        return entry.unyank()

    update = index.update_project(release.project, _marking(release, unmark), read=read)
    return _changed(release, update)


def delete(index: Index, release: Release) -> ReleaseChange:
    """Take the release's files off the pages, tombstoned, then remove them. A release
    the JSON no longer lists but tombstones, an interrupted delete, is finished: its HTML
    links and its stored objects go."""
    read = index.snapshot(release.project)
    page = read.record
    if page is None or not page.files_of(release.version):
        return _finish_delete(index, release, read)
    removed: list[FileEntry] = []

    def drop(page: ProjectPage | None) -> ProjectPage:
        page = page or ProjectPage(release.project)
        # The files on the page as committed, published meanwhile or not: all are removed.
        removed[:] = page.files_of(release.version)
        return page.without_version(release.version)

    update = index.update_project(release.project, drop, read=read)
    filenames = [entry.filename for entry in removed]
    _remove_stored(index, release.project, filenames)
    return ReleaseChange(tuple(removed), update.written)


def remove_objects(index: Index, project: NormalizedName, filename: str) -> None:
    """Remove a deleted file and what goes with it; its tombstone keeps it off the pages."""
    for key in _object_keys(project, filename):
        index.storage.delete(key)


def _object_keys(project: NormalizedName, filename: str) -> tuple[str, ...]:
    """A file's keys: the file, its metadata and its yank marker."""
    return (
        layout.file_key(project, filename),
        layout.metadata_key(project, filename),
        layout.yank_key(project, filename),
    )


def _remove_stored(index: Index, project: NormalizedName, filenames: list[str]) -> tuple[str, ...]:
    """Remove what is stored of deleted files, and return its keys. Only what is listed is
    deleted: on a versioned bucket, deleting a deleted key stacks a second delete marker,
    which the recovery recipe would not lift."""
    keys = {key for filename in filenames for key in _object_keys(project, filename)}
    if not keys:
        return ()
    # A prefix of the keys, not a path: one listing of the release's files, often one request.
    prefix = os.path.commonprefix(sorted(keys))  # noqa: RUF071
    stored = sorted(info.key for info in index.storage.list(prefix) if info.key in keys)
    for key in stored:
        index.storage.delete(key)
    return tuple(stored)


def _finish_delete(index: Index, release: Release, read: ProjectSnapshot) -> ReleaseChange:
    page = read.record
    deleted = page.deleted_of(release.version) if page else []
    if not deleted:
        raise _not_found(index, release, page)
    # The HTML first, so that no page links a file once it is gone.
    levelled = _level_html(index, release, read)
    removed = _remove_stored(index, release.project, deleted)
    return replace(levelled, removed=removed)


def _level_html(index: Index, release: Release, read: ProjectSnapshot) -> ReleaseChange:
    """Bring the HTML copies in line with the JSON as `read`, if they lag it."""
    page = read.record
    if page is None or not index.html_lags(release.project, page):
        return ReleaseChange()
    update = index.update_project(release.project, _unchanged, read=read)
    return ReleaseChange(pages=update.written, repaired=update.written)


def _unchanged(page: ProjectPage | None) -> ProjectPage:
    assert page is not None, "a page that is read is there"
    return page


def _files(index: Index, release: Release, read: ProjectSnapshot) -> list[FileEntry]:
    page = read.record
    files = page.files_of(release.version) if page else []
    if not files:
        raise _not_found(index, release, page)
    return files


def _not_found(index: Index, release: Release, page: ProjectPage | None) -> ReleaseNotFound:
    known = ", ".join(page.versions) if page and page.versions else "none"
    return ReleaseNotFound(
        f"{release} is not in {index.storage.location} (versions there: {known})"
    )


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
