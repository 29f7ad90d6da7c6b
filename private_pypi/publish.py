"""Publish distributions: files first, then the pages that link them.

Order is what keeps the index whole: every file (and its PEP 658 metadata) is stored
before any page names it, a new project is added to the root page before its own page
exists, and each page is updated with a conditional write. A failure at any point
leaves pages that link only stored files, and running the same publish again finishes
the job. One release into an existing project costs a fixed number of requests, however
large the repository: nothing is listed.
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
from .distributions import Distribution, content_type, file_identity, inspect
from .errors import FileConflict, InvalidDistribution, PreconditionFailed, PrivatePypiError
from .index import Index
from .pages import FileEntry, ProjectPage
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
    problems += release_problems([], unique)
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
class Publisher:
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
        projects: dict[NormalizedName, list[Distribution]] = defaultdict(list)
        for distribution in distributions:
            projects[distribution.project].append(distribution)
        snapshots = {name: self.index.snapshot(name) for name in projects}
        pages = {name: snapshot.record for name, snapshot in snapshots.items()}
        refuse_closed_projects(pages, distributions)
        conflicts = self._refuse_conflicts(pages, projects, skip_existing)

        result = PublishResult()
        entries: dict[NormalizedName, list[FileEntry]] = defaultdict(list)
        for name, members in projects.items():
            indexed_page = pages[name]
            for distribution in members:
                indexed = indexed_page.file(distribution.filename) if indexed_page else None
                if distribution.filename in conflicts:
                    published = PublishedFile(distribution, Outcome.SKIPPED)
                elif indexed:
                    published = PublishedFile(distribution, Outcome.UNCHANGED)
                elif dry_run:
                    published = PublishedFile(distribution, Outcome.WOULD_UPLOAD)
                else:
                    try:
                        entry, outcome = self._store(distribution, progress(distribution))
                    except FileConflict:
                        if not skip_existing:
                            raise
                        published = PublishedFile(distribution, Outcome.SKIPPED)
                    else:
                        entries[name].append(entry)
                        published = PublishedFile(distribution, outcome)
                result.files.append(published)
                on_file(published)
        if dry_run:
            return result

        new_projects = {name for name, page in pages.items() if page is None and entries[name]}
        if new_projects:
            result.pages += self.index.update_root(lambda known: known | new_projects).written
        deleted: list[str] = []
        for name in projects:
            added = entries[name]
            known = pages[name]
            if not added and (known is None or not self.index.html_lags(name, known)):
                continue  # every file is on the page already: nothing to write
            update = self.index.update_project(
                name, partial(_add, name, added), read=snapshots[name]
            )
            result.pages += update.written
            page = update.record
            for entry in added:
                if entry.filename in page.deleted:
                    # Deleted while this publish ran: whatever it stored is garbage now.
                    remove_objects(self.index, name, entry.filename)
                    deleted.append(_deleted(entry.filename))
        if deleted:
            raise PrivatePypiError("\n".join(deleted))
        return result

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

    def _store(
        self, distribution: Distribution, progress: Progress | None
    ) -> tuple[FileEntry, Outcome]:
        """Upload the file and its metadata, never replacing different bytes."""
        key = layout.file_key(distribution.project, distribution.filename)
        etag = self.storage.upload(
            key,
            distribution.path,
            content_type=content_type(distribution.filename),
            cache_control=layout.FILE_CACHE_CONTROL,
            metadata={SHA256_METADATA: distribution.sha256},
            progress=progress,
        )
        outcome = Outcome.UPLOADED
        uploaded_at = self.upload_times.get(distribution.filename) or self.clock()
        if etag is None:
            # Stored by an earlier, interrupted run (or a concurrent one), but not indexed.
            stored_sha256 = self.storage.sha256(key)
            if stored_sha256 != distribution.sha256:
                raise FileConflict(_conflict(distribution, stored_sha256 or "unknown"))
            info = self.storage.head(key)
            if info is None:
                raise PrivatePypiError(f"{key} vanished while it was being published; run again")
            outcome, etag, uploaded_at = Outcome.UNCHANGED, info.etag, info.last_modified
        metadata_etag = self._store_metadata(distribution)
        entry = FileEntry(
            filename=distribution.filename,
            version=str(distribution.version),
            size=distribution.size,
            sha256=distribution.sha256,
            upload_time=uploaded_at,
            requires_python=distribution.requires_python,
            metadata_sha256=distribution.metadata_sha256,
            etag=etag,
            metadata_etag=metadata_etag,
            details=distribution.details,
        )
        return entry, outcome

    def _store_metadata(self, distribution: Distribution) -> str:
        """Store a wheel's metadata file (PEP 658) and return its ETag; "" for an sdist."""
        if distribution.metadata is None:
            return ""
        key = layout.metadata_key(distribution.project, distribution.filename)
        return store_metadata(self.storage, key, distribution.metadata)


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
