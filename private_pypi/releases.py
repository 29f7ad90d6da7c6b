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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from . import layout
from .errors import PrivatePypiError
from .index import Index, ProjectSnapshot
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
    return yank_all(index, [release], reason)[0]


def unyank(index: Index, release: Release) -> ReleaseChange:
    """Unyank the release's files. If none is yanked, only finish what an interrupted run
    left: HTML that lags the JSON."""
    return unyank_all(index, [release])[0]


def delete(index: Index, release: Release) -> ReleaseChange:
    """Take the release's files off the pages, tombstoned, then remove them. A release
    the JSON no longer lists but tombstones, an interrupted delete, is finished: its HTML
    links and its stored objects go."""
    return delete_all(index, [release])[0]


def yank_all(
    index: Index,
    planned: Sequence[Release],
    reason: str = "",
    *,
    read: ProjectSnapshot | None = None,
) -> list[ReleaseChange]:
    """`yank` each release of one project, in one update of its page; the markers of
    every file are written at once. `read`: the project's page, if it was just read."""

    def mark(project: NormalizedName, entry: FileEntry) -> FileEntry:
        index.storage.write(
            layout.yank_key(project, entry.filename),
            reason.encode(),
            content_type=layout.METADATA_TYPE,
            cache_control=layout.PAGE_CACHE_CONTROL,
        )
        return entry.yank(reason)

    return _mark_all(index, planned, lambda entry: entry.yanked == reason, mark, read)


def unyank_all(
    index: Index, planned: Sequence[Release], read: ProjectSnapshot | None = None
) -> list[ReleaseChange]:
    """`unyank` each release of one project, in one update of its page."""

    def unmark(project: NormalizedName, entry: FileEntry) -> FileEntry:
        index.storage.delete(layout.yank_key(project, entry.filename))
        return entry.unyank()

    return _mark_all(index, planned, lambda entry: entry.yanked is None, unmark, read)


def delete_all(
    index: Index, planned: Sequence[Release], read: ProjectSnapshot | None = None
) -> list[ReleaseChange]:
    """`delete` each release of one project, in one update of its page; then what is
    stored of their files goes, every release's at once."""
    project = _one_project(planned)
    read = read or index.snapshot(project)
    page = read.record
    listed = [release for release in planned if page and page.files_of(release.version)]
    for release in planned:
        if release not in listed and not (page and page.deleted_of(release.version)):
            raise _not_found(index, release, page)
    if not listed:
        levelled = _level_html(index, project, read)
        removed = _remove_all(index, planned, page)
        return [
            replace(levelled if n == 0 else ReleaseChange(), removed=gone)
            for n, gone in enumerate(removed)
        ]
    dropped: dict[Release, list[FileEntry]] = {}

    def drop(current: ProjectPage | None) -> ProjectPage:
        current = current or ProjectPage(project)
        # The files on the page as committed, published meanwhile or not: all are removed.
        for release in listed:
            dropped[release] = current.files_of(release.version)
            current = current.without_version(release.version)
        return current

    update = index.update_project(project, drop, read=read)
    removed = _remove_all(index, planned, update.record)
    return [
        ReleaseChange(
            tuple(dropped.get(release, ())),
            update.written if n == 0 else (),
            removed=() if release in listed else gone,
        )
        for n, (release, gone) in enumerate(zip(planned, removed, strict=True))
    ]


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
    index.workers.map(index.storage.delete, stored)
    return tuple(stored)


def _mark_all(
    index: Index,
    planned: Sequence[Release],
    done: Callable[[FileEntry], bool],
    mark: Callable[[NormalizedName, FileEntry], FileEntry],
    read: ProjectSnapshot | None,
) -> list[ReleaseChange]:
    """Mark the files of each release that are not `done`, on the page being committed, so
    a file published meanwhile is on the page marked only if its marker says so. If every
    file is done, only finish what an interrupted run left: HTML that lags the JSON."""
    project = _one_project(planned)
    read = read or index.snapshot(project)
    pending = [
        release
        for release in planned
        if not all(done(entry) for entry in _files(index, release, read))
    ]
    if not pending:
        return [
            _level_html(index, project, read) if n == 0 else ReleaseChange()
            for n in range(len(planned))
        ]

    def change(page: ProjectPage | None) -> ProjectPage:
        page = page or ProjectPage(project)
        entries = [
            entry
            for release in pending
            for entry in page.files_of(release.version)
            if not done(entry)
        ]
        for entry in index.workers.map(partial(mark, project), entries):
            page = page.with_file(entry)
        return page

    update = index.update_project(project, change, read=read)
    return [
        ReleaseChange(
            tuple(update.record.files_of(release.version)) if release in pending else (),
            update.written if n == 0 else (),
        )
        for n, release in enumerate(planned)
    ]


def _one_project(planned: Sequence[Release]) -> NormalizedName:
    projects = {release.project for release in planned}
    assert len(projects) == 1, "the releases of one project"
    return projects.pop()


def _remove_all(
    index: Index, planned: Sequence[Release], page: ProjectPage | None
) -> list[tuple[str, ...]]:
    """Remove what is stored of each release's deleted files, every release at once."""

    def remove(release: Release) -> tuple[str, ...]:
        deleted = page.deleted_of(release.version) if page else []
        return _remove_stored(index, release.project, deleted)

    return index.workers.map(remove, planned)


def _level_html(index: Index, project: NormalizedName, read: ProjectSnapshot) -> ReleaseChange:
    """Bring the HTML copies in line with the JSON as `read`, if they lag it."""
    page = read.record
    if page is None or not index.html_lags(project, page):
        return ReleaseChange()
    update = index.update_project(project, _unchanged, read=read)
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
