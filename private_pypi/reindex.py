"""Rebuild every page from what is stored: the repair path.

It lists the bucket once, in key order, so each project's objects arrive together and
are handled while the listing goes on. The stored JSON page vouches for a file while the
file's ETag is unchanged; any other file is downloaded and inspected again. Yank markers,
first upload times and project statuses are kept. The browse pages are rebuilt with the
rest: each project's with its pages, then the catalog and the browse root page from
every project's record. Pages that would not change are not written. Projects are
rebuilt `workers` at a time, and a project's files are read (and their metadata files
repaired) at once, on the index's workers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path
from threading import BoundedSemaphore, Lock

from packaging.utils import NormalizedName, canonicalize_name

from . import layout
from .browse.assets import ASSETS_ID
from .distributions import MIRRORED, Distribution, inspect, parse_filename
from .errors import InvalidDistribution
from .index import Index, stores
from .pages import Catalog, CatalogEntry, FileEntry, ProjectPage
from .publish import store_metadata
from .releases import remove_objects
from .storage import ObjectInfo, Storage


@dataclass
class ReindexReport:
    projects: int = 0
    files: int = 0
    inspected: int = 0
    written: list[str] = field(default_factory=list[str])
    problems: list[str] = field(default_factory=list[str])


@dataclass
class Reindexer:
    index: Index
    # Projects at once: each spends most of its time waiting for S3's answers.
    workers: int = 32
    report: ReindexReport = field(default_factory=ReindexReport)
    _lock: Lock = field(default_factory=Lock)
    # Each project's record as this run left it: what the catalog is rebuilt from.
    _records: dict[NormalizedName, ProjectPage] = field(
        default_factory=dict[NormalizedName, ProjectPage]
    )

    @property
    def storage(self) -> Storage:
        return self.index.storage

    def run(self) -> ReindexReport:
        projects: set[NormalizedName] = set()
        root_objects: list[ObjectInfo] = []
        # The browse pages, listed once: a page that is right already is not written again.
        browse_pages = {info.key: info for info in self.storage.list(layout.BROWSE_PREFIX)}
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
                browse_page = browse_pages.get(layout.browse_project_key(name))
                future = pool.submit(self._project, name, objects, browse_page)
                future.add_done_callback(lambda _: slots.release())
                futures.append(future)
            for future in futures:
                future.result()
            futures.clear()
        self._root(projects, root_objects)
        browse_root = self.storage.head(layout.BROWSE_ROOT)
        self._catalog(
            {**browse_pages, **({layout.BROWSE_ROOT: browse_root} if browse_root else {})}
        )
        self.report.projects = len(projects)
        return self.report

    def _project(
        self, name: NormalizedName, objects: list[ObjectInfo], browse_page: ObjectInfo | None
    ) -> None:
        read = self.index.snapshot(name)
        cached = read.readable_record
        if cached is not None and self._published_since(name, cached, objects):
            objects = self._listing(name)

        def rebuild(current: ProjectPage | None) -> ProjectPage:
            # A publish got in since the page was read: list this project again.
            return self.index.settle(self._rebuild(name, self._listing(name), current), current)

        update = self.index.replace(
            read,
            self.index.settle(self._rebuild(name, objects, cached), cached),
            listed={info.key: info for info in [*objects, *filter(None, [browse_page])]},
            rebuild=rebuild,
        )
        self._wrote(update.written)
        with self._lock:
            self._records[name] = update.record

    def _listing(self, name: NormalizedName) -> list[ObjectInfo]:
        return list(self.storage.list(layout.project_dir(name)))

    def _published_since(
        self, name: NormalizedName, cached: ProjectPage, objects: list[ObjectInfo]
    ) -> bool:
        """Whether a file the page names but the listing lacks is stored now after all."""
        listed = {info.key for info in objects}
        unlisted = [
            key
            for key in (layout.file_key(name, entry.filename) for entry in cached.files)
            if key not in listed
        ]
        return any(self.index.workers.map(self._stored, unlisted))

    def _stored(self, key: str) -> bool:
        return self.storage.head(key) is not None

    def _rebuild(
        self, name: NormalizedName, objects: Iterable[ObjectInfo], cached: ProjectPage | None
    ) -> ProjectPage:
        listed = self._own_files(name, objects)
        deleted = cached.deleted if cached else frozenset[str]()

        def entry(filename: str) -> FileEntry | None:
            if cached is not None and cached.is_deleted(filename):
                remove_objects(self.index, name, filename)  # a delete that was interrupted
                return None
            return self._entry(
                name, filename, listed[filename], listed, cached.file(filename) if cached else None
            )

        # Each file's reads (and repairs) are its own: all of them go at once.
        files = [filename for filename in listed if filename.endswith(layout.DISTRIBUTION_SUFFIXES)]
        entries = [found for found in self.index.workers.map(entry, files) if found is not None]
        with self._lock:
            self.report.files += len(entries)
        if cached is None:
            return ProjectPage(name, tuple(entries), deleted)
        # The status, the shown release's details and the serial are the record's own.
        return replace(cached, files=tuple(entries), deleted=deleted)

    def _own_files(
        self, name: NormalizedName, objects: Iterable[ObjectInfo]
    ) -> dict[str, ObjectInfo]:
        """The project's objects by file name: only those directly in its directory, and
        only distributions of this project; every other one is a problem to report."""
        directory = layout.project_dir(name)
        own: dict[str, ObjectInfo] = {}
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
        yanked = self._yank_reason(listed.get(filename + layout.YANK_SUFFIX))
        if cached is not None and _vouches(cached, info, metadata):
            return replace(cached, yanked=yanked)
        distribution = self._inspect(info, filename)
        if distribution is None:
            return None
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
            metadata_etag=self._repair_metadata(name, filename, distribution, metadata),
            details=distribution.details,
        )

    def _yank_reason(self, marker: ObjectInfo | None) -> str | None:
        """The marker is the yank's record, reason included; yanks are rare, so read each."""
        if marker is None:
            return None
        stored = self.storage.read(marker.key)
        return stored.body.decode("utf-8", "replace") if stored else ""

    def _inspect(self, info: ObjectInfo, filename: str) -> Distribution | None:
        """Download the file and inspect it again; None, and a problem, if it is bad."""
        with tempfile.TemporaryDirectory(prefix="private-pypi-") as scratch:
            local = Path(scratch, filename)
            self.storage.download(info.key, local)
            try:
                # What is stored got past publish or mirror: the mirror's legacy files too.
                distribution = inspect(local, MIRRORED)
            except InvalidDistribution as error:
                self._problem(f"{info.key}: left off the index: {error.reason}")
                return None
        with self._lock:
            self.report.inspected += 1
        return distribution

    def _repair_metadata(
        self,
        name: NormalizedName,
        filename: str,
        distribution: Distribution,
        stored: ObjectInfo | None,
    ) -> str:
        """Make the wheel's metadata file hold its metadata, and return its ETag ("" for an
        sdist). A metadata file is written create-only, as the bucket policy refuses any
        other write of an immutable file: a wrong one is deleted first (its old version
        stays)."""
        if distribution.metadata is None:
            return ""
        if stored is not None and stores(self.storage, stored, distribution.metadata):
            return stored.etag
        key = layout.metadata_key(name, filename)
        if stored is not None:
            self.storage.delete(key)
        return store_metadata(self.storage, key, distribution.metadata)

    def _root(self, projects: set[NormalizedName], objects: list[ObjectInfo]) -> None:
        read = self.index.root_snapshot()
        known = frozenset(projects)

        def rebuild(current: frozenset[NormalizedName] | None) -> frozenset[NormalizedName]:
            return known | self._published_projects((current or frozenset()) - known)

        update = self.index.replace(
            read,
            rebuild(read.readable_record),
            listed={info.key: info for info in objects},
            rebuild=rebuild,
        )
        self._wrote(update.written)

    def _catalog(self, listed: dict[str, ObjectInfo]) -> None:
        """The catalog, and so the browse root page, from every project's record as
        rebuilt; a line a publish wrote meanwhile (a higher serial), or of a project
        published since the listing, is kept, and so is a line that says what the rebuilt
        one says: writers leave a line's serial behind when its words don't change."""
        read = self.index.catalog_snapshot()
        rebuilt = {
            name: CatalogEntry(page.line, page.serial) for name, page in self._records.items()
        }

        def rebuild(current: Catalog | None) -> Catalog:
            entries = dict(rebuilt)
            for name, entry in (current.projects if current else Catalog().projects).items():
                mine = entries.get(name)
                if mine is None or entry.serial > mine.serial or entry.line == mine.line:
                    entries[name] = entry
            return Catalog(entries, read.readable_record.assets if read.readable_record else "")

        catalog = rebuild(read.readable_record)
        if catalog.assets != ASSETS_ID:
            self.index.store_assets()
            catalog = replace(catalog, assets=ASSETS_ID)
        update = self.index.replace(
            read,
            catalog,
            listed=listed,
            rebuild=lambda current: replace(rebuild(current), assets=ASSETS_ID),
        )
        self._wrote(update.written)

    def _published_projects(self, names: frozenset[NormalizedName]) -> frozenset[NormalizedName]:
        """Those of `names` that have stored objects now: published since the listing."""
        return frozenset(
            name for name in names if next(self.storage.list(layout.project_dir(name)), None)
        )

    def _wrote(self, keys: Iterable[str]) -> None:
        with self._lock:
            self.report.written.extend(keys)

    def _problem(self, problem: str) -> None:
        with self._lock:
            self.report.problems.append(problem)


def _vouches(cached: FileEntry, info: ObjectInfo, metadata: ObjectInfo | None) -> bool:
    """Whether the page's entry still describes the stored file: the file, and its metadata
    file if it has one, have the ETags (and the file the size) they had when indexed."""
    return (
        cached.etag == info.etag
        and cached.size == info.size
        and (
            cached.metadata_sha256 is None
            or (metadata is not None and metadata.etag == cached.metadata_etag)
        )
    )


def _by_directory(
    objects: Iterator[ObjectInfo],
) -> Iterator[tuple[str | None, list[ObjectInfo]]]:
    """Group a key-ordered listing by project directory; None for the root pages."""

    def directory(info: ObjectInfo) -> str | None:
        parts = info.key[len(layout.INDEX_PREFIX) :].split("/", 1)
        return parts[0] if len(parts) == 2 else None

    for name, group in groupby(objects, key=directory):
        yield name, list(group)
