"""Publish distributions: files first, then the pages that link them.

Order is what keeps the index whole: every file (and its PEP 658 metadata) is stored
before any page names it, a new project is added to the root page before its own page
exists, and each page is updated with a conditional write. A failure at any point
leaves pages that link only stored files, and running the same publish again finishes
the job. One release into an existing project costs a fixed number of requests, however
large the repository: nothing is listed. Within that order, whatever need not wait goes
at once: a publish takes a few round trips however many files it has.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from packaging.utils import NormalizedName

from . import layout
from .browse.assets import ASSETS_ID
from .distributions import Distribution, content_type, file_identity, inspect
from .errors import FileConflict, InvalidDistribution, PreconditionFailed, PrivatePypiError
from .index import (
    CatalogSnapshot,
    CatalogStart,
    CopyEtags,
    Index,
    ProjectSnapshot,
    ProjectStart,
    RootSnapshot,
)
from .pages import Catalog, FileEntry, ProjectPage, prepare_browse_rendering
from .releases import remove_objects
from .status import refuse_closed_projects
from .storage import Storage
from .storage.base import SHA256_METADATA, Progress

Clock = Callable[[], datetime]


class PublishRefused(PrivatePypiError):
    """Some files are bad; nothing was published. The message lists every problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(
            f"refusing to publish: {len(problems)} problem(s), nothing was written\n{lines}"
        )
        self.problems = list(problems)


class Outcome(enum.Enum):
    UPLOADED = "uploaded"
    UNCHANGED = "unchanged"
    WOULD_UPLOAD = "would upload"
    # --skip-existing: the repository has other bytes under this name; they stay.
    SKIPPED = "skipped"


@dataclass(frozen=True)
class PublishedFile:
    distribution: Distribution
    outcome: Outcome


@dataclass
class PublishResult:
    files: list[PublishedFile] = field(default_factory=list[PublishedFile])
    # The page keys this publish wrote, in order: what a CDN must drop.
    pages: list[str] = field(default_factory=list[str])


def utc_now() -> datetime:
    return datetime.now(UTC)


def inspect_all(paths: Iterable[Path]) -> list[Distribution]:
    """Inspect every file; refuse the lot if any is bad or two disagree."""
    distributions: list[Distribution] = []
    problems: list[str] = []
    for path in paths:
        try:
            distributions.append(inspect(path))
        except InvalidDistribution as error:
            problems.append(str(error))
    by_name: dict[str, Distribution] = {}
    for distribution in distributions:
        twin = by_name.setdefault(distribution.filename, distribution)
        if twin.sha256 != distribution.sha256:
            problems.append(
                f"{distribution.filename}: given twice with different content "
                f"({twin.path} and {distribution.path})"
            )
    unique = list(by_name.values())
    projects: dict[NormalizedName, list[Distribution]] = defaultdict(list)
    for distribution in unique:
        projects[distribution.project].append(distribution)
    for members in projects.values():
        problems += release_problems([], members)
    if problems:
        raise PublishRefused(problems)
    return unique


def release_problems(
    published: Sequence[FileEntry], distributions: Sequence[Distribution]
) -> list[str]:
    """Why files would give a release a second meaning, next to the files it has.

    A release is a version as PEP 440 compares them (1.0 is 1.0.0), spelled one way; it
    has at most one sdist, and no two wheels with the same build tag and tags.
    """
    problems: list[str] = []
    known = [(entry.filename, entry.version) for entry in published]
    for distribution in distributions:
        identity = file_identity(distribution.filename)
        for filename, version in known:
            other = file_identity(filename)
            if filename == distribution.filename or other.version != identity.version:
                continue
            if version != str(distribution.version):
                problems.append(
                    f"{distribution.filename}: version {distribution.version} is release "
                    f"{version}, which has {filename}; a release is spelled one way: "
                    f"build it as version {version}"
                )
            elif identity == other:
                what = (
                    "the release's sdist"
                    if identity.kind == "sdist"
                    else ("a wheel with the same build tag and tags")
                )
                problems.append(
                    f"{distribution.filename}: release {version} already has {what} "
                    f"({filename}); give a new build tag or publish a new version"
                )
            else:
                continue
            break
        known.append((distribution.filename, str(distribution.version)))
    return problems


@dataclass
class _Stored:
    """What storing a file found: its ETag, and when it was first uploaded."""

    outcome: Outcome
    etag: str = ""
    uploaded_at: datetime | None = None


@dataclass
class _Round:
    """What the rounds of writes and looks before the pages found, filled in by their
    calls as they end, each into its own key."""

    files: dict[str, _Stored] = field(default_factory=dict[str, _Stored])
    metadata_etags: dict[str, str] = field(default_factory=dict[str, str])
    copies: dict[NormalizedName, CopyEtags[ProjectPage]] = field(
        default_factory=dict[NormalizedName, CopyEtags[ProjectPage]]
    )
    lagging: set[NormalizedName] = field(default_factory=set[NormalizedName])
    root: RootSnapshot | None = None
    root_copies: CopyEtags[frozenset[NormalizedName]] | None = None
    snapshots: dict[NormalizedName, ProjectSnapshot] = field(
        default_factory=dict[NormalizedName, ProjectSnapshot]
    )
    catalog: CatalogSnapshot | None = None
    catalog_copies: CopyEtags[Catalog] | None = None

    def stored(self, filename: str) -> bool:
        """Whether the file is in the store now, as this publish put it or found it."""
        stored = self.files.get(filename)
        return stored is not None and stored.outcome is not Outcome.SKIPPED


@dataclass
class Publisher:
    """Publishes in rounds, each of requests that go at once (on the index's workers):
    read every project's page, and the catalog; store every file (and look at the copies
    of each page to be written, and read the root page if a project is new); store every
    metadata file (and the browse pages' assets if a page lacks them), and update the
    root page once; commit every project page; write their copies, and commit the
    catalog's lines once; write the browse root page. Whatever the number of files and
    projects, that is a handful of round trips, each as long as its slowest request."""

    index: Index
    clock: Clock = utc_now
    # The upload times to record, by file name, for files that keep another index's (a
    # mirror's copies): uv's exclude-newer and pip's --uploaded-prior-to read them.
    upload_times: Mapping[str, datetime] = field(default_factory=dict[str, datetime])

    @property
    def storage(self) -> Storage:
        return self.index.storage

    def publish(
        self,
        distributions: Sequence[Distribution],
        *,
        dry_run: bool = False,
        skip_existing: bool = False,
        on_file: Callable[[PublishedFile], None] = lambda _: None,
        progress: Callable[[Distribution], Progress | None] = lambda _: None,
    ) -> PublishResult:
        """Publish the files. `on_file` hears of each, in the order given (grouped by
        project), once they are all stored; `progress` may give an upload a progress
        report, and those uploads go one at a time, in order, so reports never mix."""
        projects: dict[NormalizedName, list[Distribution]] = defaultdict(list)
        for distribution in distributions:
            projects[distribution.project].append(distribution)
        found = _Round()

        def read_catalog() -> None:
            found.catalog = self.index.catalog_snapshot()

        def read_page(name: NormalizedName) -> None:
            found.snapshots[name] = self.index.snapshot(name)

        reads = [partial(read_page, name) for name in projects]
        # The caller runs the first call, while the workers send the reads.
        described = [d.details for d in distributions if d.details is not None]
        prepare = partial(prepare_browse_rendering, described)
        self.index.workers.run(reads if dry_run else [prepare, *reads, read_catalog])
        snapshots = {name: found.snapshots[name] for name in projects}
        pages = {name: snapshot.record for name, snapshot in snapshots.items()}
        refuse_closed_projects(pages, distributions)
        conflicts = self._refuse_conflicts(pages, projects, skip_existing)

        settled: dict[str, Outcome] = {}
        to_store: dict[NormalizedName, list[Distribution]] = defaultdict(list)
        for name, members in projects.items():
            page = pages[name]
            for distribution in members:
                if distribution.filename in conflicts:
                    settled[distribution.filename] = Outcome.SKIPPED
                elif page is not None and page.file(distribution.filename):
                    settled[distribution.filename] = Outcome.UNCHANGED
                elif dry_run:
                    settled[distribution.filename] = Outcome.WOULD_UPLOAD
                else:
                    to_store[name].append(distribution)

        try:
            if not dry_run:
                self._store_and_look(pages, to_store, found, progress, skip_existing)
        finally:
            result = PublishResult()
            for distribution in (d for members in projects.values() for d in members):
                stored = found.files.get(distribution.filename)
                outcome = stored.outcome if stored else settled.get(distribution.filename)
                if outcome is not None:
                    published = PublishedFile(distribution, outcome)
                    result.files.append(published)
                    on_file(published)
        if dry_run:
            return result

        gaining = [
            name
            for name, members in to_store.items()
            if any(found.stored(d.filename) for d in members)
        ]
        new_projects = {name for name in gaining if pages[name] is None}
        lacking_assets = any(
            (page := pages[name]) is None or page.assets != ASSETS_ID for name in gaining
        )
        result.pages += self._store_metadata_and_root(
            to_store, found, new_projects, store_assets=lacking_assets
        )
        entries = {name: self._entries(members, found) for name, members in to_store.items()}
        stale = [
            name
            for name, page in pages.items()
            if entries.get(name)
            or name in found.lagging
            or (name in to_store and page is not None and self.index.html_lags(name, page))
        ]

        updates = self.index.update_projects(
            {name: partial(_add, name, entries.get(name, [])) for name in stale},
            {name: ProjectStart(snapshots[name], found.copies.get(name)) for name in stale},
            catalog=CatalogStart(found.catalog, found.catalog_copies),
        )
        # Files deleted while this publish ran: whatever it stored of them is garbage now.
        garbage = [
            (name, entry.filename)
            for name in stale
            for entry in entries.get(name, [])
            if entry.filename in updates[name].record.deleted
        ]
        for name in stale:
            result.pages += updates[name].written
        self.index.workers.map(lambda item: remove_objects(self.index, *item), garbage)
        deleted = [_deleted(filename) for _, filename in garbage]
        if deleted:
            raise PrivatePypiError("\n".join(deleted))
        return result

    def _store_and_look(
        self,
        pages: dict[NormalizedName, ProjectPage | None],
        to_store: dict[NormalizedName, list[Distribution]],
        found: _Round,
        progress: Callable[[Distribution], Progress | None],
        skip_existing: bool,
    ) -> None:
        """The first round of writes, all at once: store every file, look at the copies of
        each page about to be written, read the root page (and look at its copies) if a
        project is new, and see whether each page that gains nothing has HTML older than
        its JSON."""
        calls: list[Callable[[], None]] = []
        shown: list[tuple[Distribution, Progress]] = []

        def store(distribution: Distribution, report: Progress | None) -> None:
            try:
                found.files[distribution.filename] = self._store_file(distribution, report)
            except FileConflict:
                if not skip_existing:
                    raise
                found.files[distribution.filename] = _Stored(Outcome.SKIPPED)

        def look(name: NormalizedName) -> None:
            found.copies[name] = self.index.project_copies(name, new=pages[name] is None)

        def read_root() -> None:
            found.root = self.index.root_snapshot()

        def look_at_root() -> None:
            found.root_copies = self.index.root_copies()

        def look_at_catalog() -> None:
            found.catalog_copies = self.index.catalog_copies()

        def check_html(name: NormalizedName, page: ProjectPage) -> None:
            if self.index.html_lags(name, page):
                found.lagging.add(name)

        def store_shown() -> None:
            for distribution, report in shown:
                store(distribution, report)

        for name, page in pages.items():
            members = to_store.get(name, [])
            if not members and page is not None:
                calls.append(partial(check_html, name, page))
                continue
            for distribution in members:
                report = progress(distribution)
                if report is None:
                    calls.append(partial(store, distribution, None))
                else:
                    shown.append((distribution, report))
            if members:
                calls.append(partial(look, name))
        if shown:
            calls.append(store_shown)
        if any(to_store.get(name) and page is None for name, page in pages.items()):
            calls += [read_root, look_at_root]
        if to_store:
            calls.append(look_at_catalog)
        self.index.workers.run(calls)

    def _store_metadata_and_root(
        self,
        to_store: dict[NormalizedName, list[Distribution]],
        found: _Round,
        new_projects: set[NormalizedName],
        *,
        store_assets: bool,
    ) -> tuple[str, ...]:
        """The second round, all at once: store the metadata file of each wheel stored (not
        before: a wheel refused by the store leaves nothing), store the browse pages'
        stylesheet and script if a page to be written lacks them, and add the new projects
        to the root page, which names projects, not files. Returns the root page's keys
        written."""
        root: list[tuple[str, ...]] = []

        def update_root() -> None:
            update = self.index.update_root(
                lambda known: known | new_projects, read=found.root, copies=found.root_copies
            )
            root.append(update.written)

        def store_metadata_file(distribution: Distribution, body: bytes) -> None:
            key = layout.metadata_key(distribution.project, distribution.filename)
            found.metadata_etags[distribution.filename] = store_metadata(self.storage, key, body)

        calls: list[Callable[[], None]] = [update_root] if new_projects else []
        # Stored now, once every file is, rather than when a page that lacks them is
        # committed: a round trip fewer, and a refused publish still stores nothing.
        if store_assets:
            calls.append(self.index.store_assets)
        calls += [
            partial(store_metadata_file, distribution, distribution.metadata)
            for members in to_store.values()
            for distribution in members
            if distribution.metadata is not None and found.stored(distribution.filename)
        ]
        self.index.workers.run(calls)
        return root[0] if root else ()

    def _store_file(self, distribution: Distribution, progress: Progress | None) -> _Stored:
        """Upload the file, never replacing different bytes."""
        key = layout.file_key(distribution.project, distribution.filename)
        etag = self.storage.upload(
            key,
            distribution.path,
            content_type=content_type(distribution.filename),
            cache_control=layout.FILE_CACHE_CONTROL,
            metadata={SHA256_METADATA: distribution.sha256},
            progress=progress,
        )
        kept = self.upload_times.get(distribution.filename)
        if etag is not None:
            return _Stored(Outcome.UPLOADED, etag, kept or self.clock())
        # Stored by an earlier, interrupted run (or a concurrent one), but not indexed.
        info = self.storage.head(key)
        if info is None:
            raise PrivatePypiError(f"{key} vanished while it was being published; run again")
        stored_sha256 = info.metadata.get(SHA256_METADATA) or self.storage.sha256(key)
        if stored_sha256 != distribution.sha256:
            raise FileConflict(_conflict(distribution, stored_sha256 or "unknown"))
        return _Stored(Outcome.UNCHANGED, info.etag, kept or info.last_modified)

    def _entries(self, members: list[Distribution], found: _Round) -> list[FileEntry]:
        """The page entries of the files stored, in the order given."""
        entries: list[FileEntry] = []
        for distribution in members:
            if not found.stored(distribution.filename):
                continue
            stored = found.files[distribution.filename]
            entries.append(
                FileEntry(
                    filename=distribution.filename,
                    version=str(distribution.version),
                    size=distribution.size,
                    sha256=distribution.sha256,
                    upload_time=stored.uploaded_at or self.clock(),
                    requires_python=distribution.requires_python,
                    metadata_sha256=distribution.metadata_sha256,
                    etag=stored.etag,
                    metadata_etag=found.metadata_etags.get(distribution.filename, ""),
                    details=distribution.details,
                )
            )
        return entries

    def _refuse_conflicts(
        self,
        pages: dict[NormalizedName, ProjectPage | None],
        projects: dict[NormalizedName, list[Distribution]],
        skip_existing: bool,
    ) -> set[str]:
        """Refuse what would change a release's meaning: files indexed with other bytes (or,
        to skip them, name them), deleted names, and second spellings, sdists or wheels."""
        conflicts: dict[str, str] = {}
        problems: list[str] = []
        for name, members in projects.items():
            page = pages[name]
            for distribution in members:
                indexed = page.file(distribution.filename) if page else None
                if indexed and indexed.sha256 != distribution.sha256:
                    conflicts[distribution.filename] = _conflict(distribution, indexed.sha256)
                if page and page.is_deleted(distribution.filename):
                    problems.append(_deleted(distribution.filename))
            problems += release_problems(page.files if page else (), members)
        if not skip_existing:
            problems = [*conflicts.values(), *problems]
        if problems:
            raise FileConflict("\n".join(problems))
        return set(conflicts)


def store_metadata(storage: Storage, key: str, body: bytes) -> str:
    """Store a metadata file create-only, as every immutable file is, and return its ETag.

    Already there, it was stored by an earlier or a concurrent run of the same wheel, so
    its bytes are these.
    """
    try:
        return storage.write(
            key,
            body,
            content_type=layout.METADATA_TYPE,
            cache_control=layout.FILE_CACHE_CONTROL,
            create_only=True,
        )
    except PreconditionFailed:
        info = storage.head(key)
        return info.etag if info else ""


def _add(name: NormalizedName, entries: list[FileEntry], page: ProjectPage | None) -> ProjectPage:
    page = page or ProjectPage(name)
    for entry in entries:
        if page.is_deleted(entry.filename):
            # Its release was deleted while this publish ran: the file goes with it, as if
            # the delete had come right after this publish.
            page = page.with_tombstone(entry.filename)
            continue
        existing = page.file(entry.filename)
        # A file indexed meanwhile keeps its first upload time and its yank.
        page = page.with_file(entry if existing is None else existing)
    return page


def _deleted(filename: str) -> str:
    return (
        f"{filename}: its release was deleted from the index, and a deleted release is never "
        "published again (nor its file names, as on PyPI); publish a new version"
    )


def _conflict(distribution: Distribution, stored_sha256: str) -> str:
    return (
        f"{distribution.filename}: the repository already has a different file of this name "
        f"(sha256 {stored_sha256[:12]}…, yours {distribution.sha256[:12]}…); files are "
        "immutable, so publish a new version instead"
    )
