"""Rebuild every page from what is stored: the repair path.

It lists the bucket once, in key order, so each project's objects arrive together and
are handled while the listing goes on. The stored JSON page vouches for a file while the
file's ETag is unchanged; any other file is downloaded and inspected again. Yank markers
and first upload times are kept. Pages that would not change are not written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path
from threading import BoundedSemaphore, Lock

from packaging.utils import NormalizedName, canonicalize_name

from . import layout
from .distributions import inspect, parse_filename
from .errors import InvalidDistribution, PreconditionFailed
from .index import Index, ProjectSnapshot
from .pages import (
    FileEntry,
    InvalidPage,
    ProjectPage,
    parse_project_json,
    parse_root_json,
    render_project_html,
    render_project_json,
    render_root_html,
    render_root_json,
)
from .publish import store_metadata
from .releases import remove_objects
from .storage import ObjectInfo, Storage, StoredObject, content_etag


@dataclass
class ReindexReport:
    projects: int = 0
    files: int = 0
    inspected: int = 0
    written: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Reindexer:
    index: Index
    workers: int = 16
    on_project: Callable[[NormalizedName], None] = lambda _: None
    report: ReindexReport = field(default_factory=ReindexReport)
    _lock: Lock = field(default_factory=Lock)

    @property
    def storage(self) -> Storage:
        return self.index.storage

    def run(self) -> ReindexReport:
        projects: set[NormalizedName] = set()
        root_objects: list[ObjectInfo] = []
        # Bound the work in flight, so memory stays flat however large the bucket is.
        slots = BoundedSemaphore(self.workers * 4)
        futures: list[Future[None]] = []
        with ThreadPoolExecutor(self.workers) as pool:
            for directory, objects in _by_directory(self.storage.list(layout.INDEX_PREFIX)):
                if directory is None:
                    root_objects.extend(objects)
                    continue
                name = canonicalize_name(directory)
                if not layout.is_project_name(directory):
                    self._problem(
                        f"{layout.INDEX_PREFIX}{directory}/ is not a project name: pip can't ask "
                        "for it; move its files to their project's directory and reindex"
                    )
                    continue
                if name != directory:
                    self._problem(
                        f"{layout.INDEX_PREFIX}{directory}/ is not a normalized project name: "
                        f"move its files to {layout.project_dir(name)} and reindex"
                    )
                    continue
                projects.add(name)
                slots.acquire()
                future = pool.submit(self._project, name, objects)
                future.add_done_callback(lambda _: slots.release())
                futures.append(future)
            for future in futures:
                future.result()
            futures.clear()
        self._root(projects, root_objects)
        self.report.projects = len(projects)
        return self.report

    def _project(self, name: NormalizedName, objects: list[ObjectInfo]) -> None:
        json_key = layout.project_json(name)
        stored = self.storage.read(json_key)
        try:
            cached = parse_project_json(stored.body) if stored else None
        except InvalidPage:
            cached = None
        if cached is not None and self._published_since(name, cached, objects):
            objects = list(self.storage.list(layout.project_dir(name)))
        page = self._rebuild(name, objects, cached)
        listed = {info.key: info for info in objects}
        html = render_project_html(page)
        if (
            stored is not None
            and stored.body == render_project_json(page)
            and self._html_current(html, layout.project_json(name), listed)
        ):
            self.on_project(name)
            return
        expected = cached
        # What the update starts from: the page as read (absent counts), or None to re-read.
        read: ProjectSnapshot | None = ProjectSnapshot(name, stored)
        if stored is not None and cached is None:
            # The index cannot update a record it cannot read: replace it, if still unread.
            body = render_project_json(page)
            try:
                etag = self._replace(json_key, stored, body)
                read, expected = ProjectSnapshot(name, StoredObject(json_key, body, etag)), page
            except PreconditionFailed:
                read = None  # replaced meanwhile: start from the new record

        def rebuild(current: ProjectPage | None) -> ProjectPage:
            if current == expected:
                return page
            # A publish got in since the page was read: list this project again.
            return self._rebuild(name, list(self.storage.list(layout.project_dir(name))), current)

        index = Index(self.storage, self.index.retry, sleep=self.index.sleep)
        index.update_project(name, rebuild, read=read)
        with self._lock:
            self.report.written.extend(index.written)
        self.on_project(name)

    def _published_since(
        self, name: NormalizedName, cached: ProjectPage, objects: list[ObjectInfo]
    ) -> bool:
        """Whether a file the page names but the listing lacks is stored now after all."""
        listed = {info.key for info in objects}
        return any(
            self.storage.head(key) is not None
            for key in (layout.file_key(name, entry.filename) for entry in cached.files)
            if key not in listed
        )

    def _replace(self, key: str, stored: StoredObject, body: bytes) -> str:
        etag = self.storage.write(
            key,
            body,
            content_type=layout.JSON_TYPE,
            cache_control=layout.PAGE_CACHE_CONTROL,
            if_match=stored.etag,
        )
        with self._lock:
            self.report.written.append(key)
        return etag

    def _rebuild(
        self, name: NormalizedName, objects: Iterable[ObjectInfo], cached: ProjectPage | None
    ) -> ProjectPage:
        listed = self._own_files(name, objects)
        deleted = cached.deleted if cached else frozenset()
        entries = []
        for filename, info in listed.items():
            if not filename.endswith(layout.DISTRIBUTION_SUFFIXES):
                continue
            if cached is not None and cached.is_deleted(filename):
                remove_objects(self.index, name, filename)  # a delete that was interrupted
                continue
            entry = self._entry(
                name, filename, info, listed, cached.file(filename) if cached else None
            )
            if entry is not None:
                entries.append(entry)
        with self._lock:
            self.report.files += len(entries)
        return ProjectPage(name, tuple(entries), deleted)

    def _own_files(
        self, name: NormalizedName, objects: Iterable[ObjectInfo]
    ) -> dict[str, ObjectInfo]:
        """The project's objects by file name: only those directly in its directory, and
        only distributions of this project; every other one is a problem to report."""
        directory = layout.project_dir(name)
        own = {}
        for info in objects:
            filename = info.key.removeprefix(directory)
            if "/" in filename:
                self._problem(
                    f"{info.key}: left off the index: a project's files are stored directly "
                    f"in {directory}; move it there (or delete it) and reindex"
                )
                continue
            if filename.endswith(layout.DISTRIBUTION_SUFFIXES):
                try:
                    _, project, _ = parse_filename(filename)
                except InvalidDistribution as error:
                    self._problem(f"{info.key}: left off the index: {error.reason}")
                    continue
                if project != name:
                    self._problem(
                        f"{info.key}: left off the index: it is a file of {project}, not "
                        f"{name}; move it to {layout.project_dir(project)} and reindex"
                    )
                    continue
            own[filename] = info
        return own

    def _entry(
        self,
        name: NormalizedName,
        filename: str,
        info: ObjectInfo,
        listed: dict[str, ObjectInfo],
        cached: FileEntry | None,
    ) -> FileEntry | None:
        metadata = listed.get(filename + layout.METADATA_SUFFIX)
        marker = listed.get(filename + layout.YANK_SUFFIX)
        # The marker is the yank's record, reason included; yanks are rare, so read each.
        yanked = None if marker is None else self._reason(marker)
        if (
            cached is not None
            and cached.etag == info.etag
            and cached.size == info.size
            and (
                cached.metadata_sha256 is None
                or (metadata is not None and metadata.etag == cached.metadata_etag)
            )
        ):
            return replace(cached, yanked=yanked)
        with tempfile.TemporaryDirectory(prefix="private-pypi-") as scratch:
            local = Path(scratch, filename)
            self.storage.download(info.key, local)
            try:
                distribution = inspect(local)
            except InvalidDistribution as error:
                self._problem(f"{info.key}: left off the index: {error.reason}")
                return None
        with self._lock:
            self.report.inspected += 1
        metadata_etag = ""
        if distribution.metadata is not None:
            if metadata is not None and metadata.etag == content_etag(distribution.metadata):
                # Already stored with these very bytes (an S3 ETag is their MD5): no write.
                metadata_etag = metadata.etag
            else:
                metadata_etag = self._replace_metadata(
                    layout.metadata_key(name, filename), distribution.metadata, metadata
                )
        return FileEntry(
            filename=filename,
            version=str(distribution.version),
            size=distribution.size,
            sha256=distribution.sha256,
            upload_time=cached.upload_time if cached else info.last_modified,
            requires_python=distribution.requires_python,
            metadata_sha256=distribution.metadata_sha256,
            yanked=yanked,
            etag=info.etag,
            metadata_etag=metadata_etag,
        )

    def _reason(self, marker: ObjectInfo) -> str:
        stored = self.storage.read(marker.key)
        return stored.body.decode("utf-8", "replace") if stored else ""

    def _root(self, projects: set[NormalizedName], objects: list[ObjectInfo]) -> None:
        listed = {info.key: info for info in objects}
        stored = self.storage.read(layout.ROOT_JSON)
        if (
            stored is not None
            and stored.body == render_root_json(projects)
            and self._html_current(render_root_html(projects), layout.ROOT_JSON, listed)
        ):
            return
        if stored is not None:
            try:
                parse_root_json(stored.body)
            except InvalidPage:
                with suppress(PreconditionFailed):  # replaced meanwhile: update the new one
                    self._replace(layout.ROOT_JSON, stored, render_root_json(projects))
        index = Index(self.storage, self.index.retry, sleep=self.index.sleep)
        known = frozenset(projects)
        index.update_root(lambda current: known | self._published_projects(current - known))
        self.report.written.extend(index.written)

    def _published_projects(self, names: frozenset[NormalizedName]) -> frozenset[NormalizedName]:
        """Those of `names` that have stored objects now: published since the listing."""
        return frozenset(
            name for name in names if next(self.storage.list(layout.project_dir(name)), None)
        )

    def _html_current(self, html: bytes, json_key: str, listed: dict[str, ObjectInfo]) -> bool:
        for key in layout.html_keys(json_key, directory_keys=self.storage.directory_keys):
            info = listed.get(key)
            if info is None:
                return False
            if info.etag != content_etag(html):
                stored = self.storage.read(key)
                if stored is None or stored.body != html:
                    return False
        return True

    def _replace_metadata(self, key: str, body: bytes, stored: ObjectInfo | None) -> str:
        """Write a metadata file create-only: the bucket policy refuses any other write of
        an immutable file, so a wrong one is deleted first (its old version stays)."""
        if stored is not None:
            self.storage.delete(key)
        return store_metadata(self.storage, key, body)

    def _problem(self, problem: str) -> None:
        with self._lock:
            self.report.problems.append(problem)


def _by_directory(
    objects: Iterator[ObjectInfo],
) -> Iterator[tuple[str | None, list[ObjectInfo]]]:
    """Group a key-ordered listing by project directory; None for the root pages."""

    def directory(info: ObjectInfo) -> str | None:
        parts = info.key[len(layout.INDEX_PREFIX) :].split("/", 1)
        return parts[0] if len(parts) == 2 else None

    for name, group in groupby(objects, key=directory):
        yield name, list(group)
