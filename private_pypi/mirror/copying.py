"""Copy the files a lock pins from the upstream into the index, project by project.

Projects go a few at a time, and their lines come out in name order. For each project:

1. One read of its page in the index. A pinned file there with the pinned bytes is
   present, and is not downloaded; one there with other bytes, or deleted, is refused.
2. One read of its page on the upstream: where each missing file is, its hash, size and
   metadata, and what the upstream has yanked. A file the page gives other bytes for is
   refused before it is downloaded.
3. Each missing file is streamed into a temporary file, no further than its pinned size,
   hashed as it arrives, and checked against every hash the lock gives and the upstream's
   own; then inspected as publish inspects a file (with the MIRRORED acceptance: the legacy
   files PyPI holds). A wheel's PEP 658 metadata is the upstream's when its hash checks and
   it is the wheel's METADATA, else the wheel's own, said so.
4. The project's accepted files are published through publish's Publisher, in batches of
   about 256 MB (so the temporary files stay that small), so files go first and pages
   after, with conditional writes, as for any publish.
5. The upstream's yanks, with their reasons, are carried over to files not yanked here.
   Nothing is ever unyanked: a yank made in this index stays.

A refused file is one line; nothing of it is written, and the other files go on.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.utils import NormalizedName

from .. import layout
from ..distributions import MIRRORED, Distribution, inspect, parse_filename
from ..errors import FileConflict, InvalidDistribution
from ..index import Index
from ..pages import FileEntry, ProjectPage
from ..publish import Clock, Publisher, release_problems, utc_now
from ..storage.base import Progress
from ..verify.client import Missing, ReadFailed, TooLarge, Unreachable
from .locks import PinnedFile
from .report import MirroredFile, Outcome
from .upstream import Upstream, UpstreamFile, UpstreamPage

ProgressFor = Callable[[str, int], Progress | None]
BATCH_BYTES = 256 * 1024 * 1024
NOTHING_WRITTEN = "refused, nothing of it was written"


def no_progress(label: str, total: int) -> Progress | None:
    return None


class _Stopped(Exception):
    """The run is stopping (Ctrl-C, or a failure elsewhere): a download ends at its next
    chunk, and a project not yet started is not started."""


@dataclass(frozen=True)
class _Planned:
    """A missing file, found on the upstream."""

    pin: PinnedFile
    index: str
    file: UpstreamFile


@dataclass(frozen=True)
class _Fetched:
    planned: _Planned
    distribution: Distribution | None
    reason: str = ""
    """Refused: why. Accepted: what else there is to say (the metadata's source)."""


@dataclass
class ProjectCopy:
    """What one project's copy did."""

    files: list[MirroredFile] = field(default_factory=list[MirroredFile])
    pages: list[str] = field(default_factory=list[str])


@dataclass
class Mirror:
    index: Index
    upstream: Upstream
    # Projects in flight at once, and downloads in flight in each: a re-run is two page
    # reads a project, and a first run mostly waits on downloads.
    projects_at_once: int = 4
    downloads_at_once: int = 4
    # A project's files are downloaded and published in batches of about this many bytes,
    # so the temporary files stay this small however large the project's release is.
    batch_bytes: int = BATCH_BYTES
    clock: Clock = utc_now
    download_progress: ProgressFor = no_progress
    upload_progress: ProgressFor = no_progress
    on_file: Callable[[MirroredFile], None] = lambda _: None
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self, pins: Iterable[PinnedFile], *, dry_run: bool = False) -> ProjectCopy:
        """Mirror every pinned file; each file's outcome, in project order, and the pages
        written."""
        done = ProjectCopy()
        projects: dict[NormalizedName, list[PinnedFile]] = {}
        for pin in pins:
            projects.setdefault(pin.project, []).append(pin)

        def copy(name: NormalizedName) -> ProjectCopy:
            if self.stopping.is_set():
                raise _Stopped
            return _ProjectMirror(self, name, dry_run).run(projects[name])

        with ThreadPoolExecutor(self.projects_at_once) as pool:
            try:
                # In name order, each project's lines once it is done.
                for copied in pool.map(copy, sorted(projects)):
                    for file in copied.files:
                        self.on_file(file)
                    done.files += copied.files
                    done.pages += copied.pages
            except BaseException:
                # Ctrl-C, or an error: the threads stop at their next chunk, not their end.
                self.stopping.set()
                raise
        return done


@dataclass
class _ProjectMirror:
    mirror: Mirror
    name: NormalizedName
    dry_run: bool
    copy: ProjectCopy = field(default_factory=ProjectCopy)
    _upstream_pages: dict[str, UpstreamPage | None] = field(
        default_factory=dict[str, UpstreamPage | None]
    )

    @property
    def index(self) -> Index:
        return self.mirror.index

    def run(self, pins: list[PinnedFile]) -> ProjectCopy:
        page = self.index.project(self.name)
        present, missing = self._sort(page, self._distinct(pins))
        planned: dict[str, _Planned] = {}
        for pin in missing:
            found = self._locate(pin, page)
            if found is not None:
                planned.setdefault(found.file.filename, found)
        yanks = self._upstream_yanks(list(present.values()), list(planned.values()))
        if self.dry_run:
            self._report_present(present, yanks)
            for plan in planned.values():
                self._report(_file(plan, Outcome.WOULD_COPY, yanked=yanks.get(plan.file.filename)))
            return self.copy
        copied = self._copy(list(planned.values()), page)
        here = copied.keys() | present.keys()
        carried = {name: reason for name, reason in yanks.items() if name in here}
        self.copy.pages += self._carry_yanks(carried)
        self._report_present(present, carried)
        for file in copied.values():
            self._report(replace(file, yanked=carried.get(file.filename)))
        return self.copy

    def _distinct(self, pins: list[PinnedFile]) -> list[PinnedFile]:
        """Each file once, though several locks pin it; a pin of other bytes under a name
        another lock pins first is refused."""
        first: dict[str, PinnedFile] = {}
        for pin in pins:
            earlier = first.setdefault(pin.filename or f"sha256:{pin.sha256}", pin)
            if earlier is not pin and not _same_bytes(earlier, pin):
                reason = f"{earlier.lock} pins other bytes under this name"
                self._refuse(pin, pin.label, reason)
        return list(first.values())

    def _sort(
        self, page: ProjectPage | None, pins: list[PinnedFile]
    ) -> tuple[dict[str, tuple[PinnedFile, FileEntry]], list[PinnedFile]]:
        """The pins this index has, by file name (a file pinned by name in one lock and by
        hash in another is one file), and those it lacks; refusing those it can't take."""
        present: dict[str, tuple[PinnedFile, FileEntry]] = {}
        missing: list[PinnedFile] = []
        for pin in pins:
            entry = _indexed(page, pin)
            if entry is not None and pin.sha256 not in (None, entry.sha256):
                self._refuse(pin, pin.label, _other_bytes_here(entry.sha256, pin))
            elif entry is not None:
                present.setdefault(entry.filename, (pin, entry))
            elif pin.filename is not None and page is not None and page.is_deleted(pin.filename):
                self._refuse(pin, pin.label, _DELETED)
            else:
                missing.append(pin)
        return present, missing

    def _report_present(
        self, present: dict[str, tuple[PinnedFile, FileEntry]], yanks: dict[str, str]
    ) -> None:
        for pin, entry in present.values():
            self._report(
                MirroredFile(
                    pin.lock,
                    self.name,
                    entry.filename,
                    Outcome.PRESENT,
                    entry.sha256,
                    entry.size,
                    yanked=yanks.get(entry.filename),
                )
            )

    def _report(self, file: MirroredFile) -> None:
        self.copy.files.append(file)

    def _refuse(self, pin: PinnedFile, filename: str, reason: str) -> None:
        refused = Outcome.REFUSED
        self._report(
            MirroredFile(pin.lock, self.name, filename, refused, pin.sha256, pin.size, reason)
        )

    # --- finding files on the upstream ------------------------------------------------

    def _upstream_page(self, index: str) -> UpstreamPage | None:
        if index not in self._upstream_pages:
            self._upstream_pages[index] = self.mirror.upstream.page(index, self.name)
        return self._upstream_pages[index]

    def _locate(self, pin: PinnedFile, page: ProjectPage | None) -> _Planned | None:
        """Where the upstream has the file, checked as far as its page tells; None (and a
        refusal) when it has no such file, or one the lock would refuse."""
        for index in pin.indexes:
            upstream_page = self._upstream_page(index)
            if upstream_page is None:
                continue
            # By name, else by the pinned bytes' sha256: a lock may spell a legacy name
            # otherwise than the index does, and a requirements file gives no name.
            file = upstream_page.files.get(pin.filename) if pin.filename else None
            if file is None and pin.sha256 is not None:
                file = upstream_page.with_sha256(pin.sha256)
            if file is not None:
                reason = _page_refusal(pin, file, page)
                if reason:
                    self._refuse(pin, file.filename, reason)
                    return None
                return _Planned(pin, index, file)
        where = " or ".join(f"{index}{self.name}/" for index in pin.indexes)
        if all(self._upstream_pages.get(index) is None for index in pin.indexes):
            self._refuse(pin, pin.label, f"{self.name} is not on the upstream ({where})")
        elif pin.filename is None:
            self._refuse(pin, pin.label, f"no file on {where} has this sha256")
        else:
            self._refuse(pin, pin.label, f"not on {where}")
        return None

    def _upstream_yanks(
        self, present: Sequence[tuple[PinnedFile, FileEntry]], planned: Sequence[_Planned]
    ) -> dict[str, str]:
        """The upstream's yanks of files not yanked here, by file name: read from the first
        page each file is looked for on, which is read anyway for a missing file."""
        yanks: dict[str, str] = {}
        for pin, entry in present:
            if entry.yanked is not None:
                continue
            upstream_page = self._upstream_page(pin.indexes[0])
            file = upstream_page.files.get(entry.filename) if upstream_page else None
            if file is not None and file.yanked is not None:
                yanks[entry.filename] = file.yanked
        for plan in planned:
            if plan.file.yanked is not None:
                yanks[plan.file.filename] = plan.file.yanked
        return yanks

    # --- copying ----------------------------------------------------------------------

    def _copy(self, planned: list[_Planned], page: ProjectPage | None) -> dict[str, MirroredFile]:
        """Download, check and publish the planned files, a batch at a time; the copied
        ones by name."""
        copied: dict[str, MirroredFile] = {}
        accepted: list[Distribution] = []
        for batch in _batches(planned, self.mirror.batch_bytes):
            copied |= self._copy_batch(batch, page, accepted)
        return copied

    def _copy_batch(
        self, batch: list[_Planned], page: ProjectPage | None, accepted: list[Distribution]
    ) -> dict[str, MirroredFile]:
        """Download and check the batch into a directory of its own, publish what passes,
        and add it to `accepted`, the project's files that the next batch must agree with."""
        with tempfile.TemporaryDirectory(prefix="private-pypi-mirror-") as scratch:
            with ThreadPoolExecutor(self.mirror.downloads_at_once) as pool:
                fetched = list(pool.map(self._fetch, batch, [Path(scratch)] * len(batch)))
            checked: list[_Fetched] = []
            for item in fetched:
                reason = item.reason
                if item.distribution is not None:
                    reason = _release_refusal(page, accepted, item.distribution)
                    if not reason:
                        checked.append(item)
                        accepted.append(item.distribution)
                        continue
                self._refuse(item.planned.pin, item.planned.file.filename, reason)
            return self._publish(checked)

    def _fetch(self, plan: _Planned, scratch: Path) -> _Fetched:
        pin, file = plan.pin, plan.file
        algorithms = tuple(sorted({algorithm for algorithm, _ in pin.hashes} | {"sha256"}))
        known_size = pin.size or file.size
        limit = known_size or self.mirror.upstream.limits.file_bytes
        path = scratch / file.filename
        bar = self.mirror.download_progress(file.filename, known_size or 0)

        def progress(chunk: int) -> None:
            if self.mirror.stopping.is_set():
                raise _Stopped
            if bar is not None:
                bar(chunk)

        try:
            with path.open("wb") as into:
                download = self.mirror.upstream.download(
                    plan.index, file, into, limit=limit, algorithms=algorithms, progress=progress
                )
        except TooLarge:
            said = "the lock pins" if pin.size else "its page gives"
            reason = f"the upstream sent more than {limit:,} bytes, the size {said}"
            return _Fetched(plan, None, f"{reason}; {NOTHING_WRITTEN}")
        except Missing as error:
            return _Fetched(plan, None, f"{file.url} answers {error}, though the page links it")
        except Unreachable as error:
            return _Fetched(plan, None, f"cannot download {file.url}: {error}")
        mismatch = _hash_mismatch(pin, file, download.digests)
        if mismatch:
            return _Fetched(plan, None, mismatch)
        try:
            distribution = inspect(path, MIRRORED)
        except InvalidDistribution as error:
            return _Fetched(plan, None, f"{error.reason}; {NOTHING_WRITTEN}")
        if distribution.project != pin.project:
            reason = f"its metadata names project {distribution.project}, the lock {pin.project}"
            return _Fetched(plan, None, reason)
        # The file keeps the upstream's name, which the lock names it by.
        distribution = replace(distribution, filename=file.filename)
        return self._with_metadata(plan, distribution)

    def _with_metadata(self, plan: _Planned, distribution: Distribution) -> _Fetched:
        """The wheel with the upstream's PEP 658 metadata, when offered with a hash and it
        is the wheel's own METADATA; else as extracted, and why."""
        if distribution.metadata is None or plan.file.metadata_sha256 is None:
            return _Fetched(plan, distribution)
        try:
            body = self.mirror.upstream.metadata(plan.index, plan.file)
        except ReadFailed as error:
            note = f"the upstream's metadata file could not be read ({error})"
        else:
            if hashlib.sha256(body).hexdigest() != plan.file.metadata_sha256:
                note = "the upstream's metadata file does not match its sha256"
            elif body != distribution.metadata:
                note = "the upstream's metadata file is not the wheel's METADATA"
            else:
                return _Fetched(plan, replace(distribution, metadata=body))
        return _Fetched(plan, distribution, f"{note}: serving the wheel's own")

    def _publish(self, accepted: list[_Fetched]) -> dict[str, MirroredFile]:
        if not accepted:
            return {}
        distributions = [item.distribution for item in accepted if item.distribution]
        upload_times = {
            item.planned.file.filename: item.planned.file.upload_time
            for item in accepted
            if item.planned.file.upload_time is not None
        }
        publisher = Publisher(self.index, self.mirror.clock, upload_times=upload_times)
        try:
            result = publisher.publish(
                distributions,
                progress=lambda d: self.mirror.upload_progress(d.filename, d.size),
            )
        except FileConflict as error:
            # Another writer got in since the page was read: nothing of the batch is written.
            lines = str(error).splitlines()
            for item in accepted:
                filename = item.planned.file.filename
                prefix = f"{filename}: "
                own = [line.removeprefix(prefix) for line in lines if line.startswith(prefix)]
                reason = "; ".join(own) or f"not published with the others: {lines[0]}"
                self._refuse(item.planned.pin, filename, reason)
            return {}
        self.copy.pages += result.pages
        return {
            item.planned.file.filename: replace(
                _file(item.planned, Outcome.COPIED, item.reason),
                sha256=item.distribution.sha256,
                size=item.distribution.size,
            )
            for item in accepted
            if item.distribution is not None
        }

    def _carry_yanks(self, yanks: dict[str, str]) -> list[str]:
        """Yank the files here as the upstream has; the page keys written."""
        if not yanks:
            return []
        storage = self.index.storage
        name = self.name

        def change(page: ProjectPage | None) -> ProjectPage:
            page = page or ProjectPage(name)
            for filename, reason in yanks.items():
                entry = page.file(filename)
                if entry is None or entry.yanked is not None:
                    continue
                # The marker first, as a yank writes it: it is what reindex keeps.
                storage.write(
                    layout.yank_key(name, filename),
                    reason.encode(),
                    content_type=layout.METADATA_TYPE,
                    cache_control=layout.PAGE_CACHE_CONTROL,
                )
                page = page.with_file(entry.yank(reason))
            return page

        return list(self.index.update_project(name, change).written)


_DELETED = (
    "its release was deleted from this index, and a deleted release is never published "
    "again; pin another version"
)


def _same_bytes(one: PinnedFile, other: PinnedFile) -> bool:
    """Whether two pins agree on every hash algorithm they share."""
    mine, theirs = dict(one.hashes), dict(other.hashes)
    return all(
        theirs[algorithm] == digest for algorithm, digest in mine.items() if algorithm in theirs
    )


def _indexed(page: ProjectPage | None, pin: PinnedFile) -> FileEntry | None:
    """The pinned file on the index's page: by its name, else by its bytes' sha256."""
    if page is None:
        return None
    named = page.file(pin.filename) if pin.filename is not None else None
    if named is not None or pin.sha256 is None:
        return named
    return next((entry for entry in page.files if entry.sha256 == pin.sha256), None)


def _other_bytes_here(sha256: str, pin: PinnedFile) -> str:
    return (
        f"this index has other bytes under this name (sha256 {sha256}) than {pin.lock.name} "
        "pins; files are immutable, so pin the file the index has"
    )


def _page_refusal(pin: PinnedFile, file: UpstreamFile, page: ProjectPage | None) -> str:
    """Why the file, as the upstream's page describes it, can't be copied; "" if it can."""
    if not file.filename.endswith(layout.DISTRIBUTION_SUFFIXES):
        served = ", ".join(layout.DISTRIBUTION_SUFFIXES)
        return f"the index serves only {served} files, so this one can't be mirrored"
    try:
        _, project, version = parse_filename(file.filename)
    except InvalidDistribution as error:
        return error.reason
    if project != pin.project:
        return f"a file of {project}, not of {pin.project}"
    if pin.version is not None and version != pin.version:
        return f"a file of version {version}, not {pin.version}"
    if pin.sha256 is not None and file.sha256 is not None and file.sha256 != pin.sha256:
        return (
            f"the upstream's page gives sha256 {file.sha256}, {pin.lock.name} pins "
            f"{pin.sha256}: {NOTHING_WRITTEN}"
        )
    if pin.size is not None and file.size is not None and file.size != pin.size:
        return (
            f"the upstream's page gives {file.size:,} bytes, {pin.lock.name} pins "
            f"{pin.size:,}: {NOTHING_WRITTEN}"
        )
    indexed = page.file(file.filename) if page else None
    if indexed is not None:
        return _other_bytes_here(indexed.sha256, pin)
    if page is not None and page.is_deleted(file.filename):
        return _DELETED
    return ""


def _hash_mismatch(pin: PinnedFile, file: UpstreamFile, digests: dict[str, str]) -> str:
    for algorithm, pinned in pin.hashes:
        if digests[algorithm] != pinned:
            return (
                f"{algorithm} is {digests[algorithm]}, but {pin.lock.name} pins {pinned}: "
                f"{NOTHING_WRITTEN}"
            )
    if file.sha256 is not None and digests["sha256"] != file.sha256:
        return (
            f"sha256 is {digests['sha256']}, but the upstream's page gives {file.sha256}: "
            f"{NOTHING_WRITTEN}"
        )
    return ""


def _release_refusal(
    page: ProjectPage | None, accepted: list[Distribution], distribution: Distribution
) -> str:
    """Why the file would give its release a second meaning here, as publish refuses it,
    beside what the page had and the files accepted before it."""
    problems = release_problems(page.files if page else (), [*accepted, distribution])
    prefix = f"{distribution.filename}: "
    return "; ".join(problem.removeprefix(prefix) for problem in problems)


def _batches(planned: list[_Planned], limit: int) -> Iterator[list[_Planned]]:
    """The files in batches of at most `limit` bytes, as far as their sizes are known (a
    larger file is a batch of its own)."""
    batch: list[_Planned] = []
    size = 0
    for plan in planned:
        known = plan.pin.size or plan.file.size or 0
        if batch and size + known > limit:
            yield batch
            batch, size = [], 0
        batch.append(plan)
        size += known
    if batch:
        yield batch


def _file(
    plan: _Planned, outcome: Outcome, reason: str = "", yanked: str | None = None
) -> MirroredFile:
    sha256 = plan.pin.sha256 or plan.file.sha256
    return MirroredFile(
        plan.pin.lock,
        plan.pin.project,
        plan.file.filename,
        outcome,
        sha256,
        plan.pin.size or plan.file.size,
        reason,
        yanked,
    )
