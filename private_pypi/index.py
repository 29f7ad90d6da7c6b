"""Safe updates of the index pages by many writers at once, with no lock to run.

Each page's JSON document is its record. An update reads it, applies a change, and
writes it back only if nobody wrote it meanwhile (If-Match, or If-None-Match: * for a new
page); when that fails it re-reads and retries, with jittered backoff. The HTML twins are
written after the JSON, each on the condition that nobody wrote it since its ETag was
looked at, before the JSON was committed: so no writer, slow or killed, puts HTML from an
older record over HTML from a newer one, and the last HTML written is the latest record's.
A writer that finds the JSON unchanged still writes the HTML, which repairs HTML that a
killed writer left behind.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from packaging.utils import NormalizedName

from . import layout
from .errors import PreconditionFailed, PrivatePypiError
from .pages import PROJECT_PAGE, ROOT_PAGE, InvalidPage, PageFormat, ProjectPage, Rendering
from .storage import Storage, StoredObject

Record = TypeVar("Record")


class ConcurrentUpdateError(PrivatePypiError):
    """Other writers kept changing a page; nothing of this update was lost, run it again."""


class CorruptPage(PrivatePypiError):
    """A stored page is unreadable; `invoke reindex` rebuilds it."""


@dataclass(frozen=True)
class RetryPolicy:
    # Generous: eight CI jobs racing for one page on a slow day must all get through.
    attempts: int = 50
    base_delay: float = 0.02
    max_delay: float = 2.0

    def delays(self, rng: random.Random) -> Iterator[float]:
        """Full-jitter exponential backoff: spreads racing writers apart."""
        for attempt in range(self.attempts):
            yield rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass(frozen=True)
class ProjectSnapshot:
    """A project page as read, so an update can start from it without reading it again."""

    name: NormalizedName
    stored: StoredObject | None

    @property
    def page(self) -> ProjectPage | None:
        if self.stored is None:
            return None
        return _parse(PROJECT_PAGE, self.stored.body, self.stored.key)


# Each copy of a page, with the ETag it had when looked at (None: not there yet).
CopyEtags = list[tuple[Rendering[Record], str | None]]
ProjectChange = Callable[[ProjectPage | None], ProjectPage]
RootChange = Callable[[frozenset[NormalizedName]], frozenset[NormalizedName]]


@dataclass
class Index:
    storage: Storage
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    # Every page key written, in order: what a CDN must invalidate.
    written: list[str] = field(default_factory=list)

    def project(self, name: NormalizedName) -> ProjectPage | None:
        return self.snapshot(name).page

    def snapshot(self, name: NormalizedName) -> ProjectSnapshot:
        return ProjectSnapshot(name, self.storage.read(layout.project_json(name)))

    def html_lags(self, name: NormalizedName, page: ProjectPage) -> bool:
        """Whether a copy of the project's HTML is not `page`, as a writer killed between the
        JSON and the HTML leaves it: then the next writer of the page brings it level."""
        directory = layout.project_dir(name)
        return any(
            (stored := self.storage.read(copy.key(directory))) is None
            or stored.body != copy.render(page)
            for copy in PROJECT_PAGE.copies_on(directory_keys=self.storage.directory_keys)
        )

    def projects(self) -> frozenset[NormalizedName]:
        stored = self.storage.read(layout.ROOT_JSON)
        return frozenset() if stored is None else _parse(ROOT_PAGE, stored.body, stored.key)

    def update_project(
        self, name: NormalizedName, change: ProjectChange, *, read: ProjectSnapshot | None = None
    ) -> ProjectPage:
        """Apply `change` to the project's page; `read` saves re-reading a fresh snapshot."""
        first = (read.stored,) if read is not None else None
        return self._update(layout.project_dir(name), PROJECT_PAGE, change, first)

    def update_root(self, change: RootChange) -> frozenset[NormalizedName]:
        return self._update(
            layout.INDEX_PREFIX, ROOT_PAGE, lambda names: change(names or frozenset())
        )

    def _update(
        self,
        directory: str,
        kind: PageFormat[Record],
        change: Callable[[Record | None], Record],
        first: tuple[StoredObject | None] | None = None,
    ) -> Record:
        json_key = kind.record.key(directory)
        for delay in self.retry.delays(self.rng):
            # Looked at before the record is committed: see _write_copies.
            copy_etags = self._copy_etags(directory, kind)
            from_snapshot = first is not None
            stored = first[0] if first else self.storage.read(json_key)
            first = None
            current = None if stored is None else _parse(kind, stored.body, json_key)
            record = change(current)
            body = kind.record.render(record)
            if stored is not None and stored.body == body:
                etag = stored.etag
                latest = self.storage.head(json_key) if from_snapshot else None
                if from_snapshot and (latest is None or latest.etag != etag):
                    continue  # the snapshot is older than the HTML just looked at
            else:
                try:
                    etag = self.storage.write(
                        json_key,
                        body,
                        content_type=kind.record.content_type,
                        cache_control=layout.PAGE_CACHE_CONTROL,
                        if_match=None if stored is None else stored.etag,
                        create_only=stored is None,
                    )
                except PreconditionFailed:
                    self.sleep(delay)
                    continue
                self.written.append(json_key)
            self._write_copies(directory, kind, record, copy_etags)
            return record
        raise ConcurrentUpdateError(
            f"{self.storage.location}/{json_key} kept changing under "
            f"{self.retry.attempts} attempts; nothing was lost, run the same command again"
        )

    def _copy_etags(self, directory: str, kind: PageFormat[Record]) -> CopyEtags[Record]:
        copies = kind.copies_on(directory_keys=self.storage.directory_keys)
        return [
            (copy, info.etag if (info := self.storage.head(copy.key(directory))) else None)
            for copy in copies
        ]

    def _write_copies(
        self,
        directory: str,
        kind: PageFormat[Record],
        record: Record,
        etags: CopyEtags[Record],
    ) -> None:
        """Write the page's copies, each only if nobody wrote it since `etags` were read.

        The ETags were read before `record` was committed (or read), so a copy written in
        between came from an older record or this one, never a newer one: a writer that
        is slow, or killed, can't put a stale copy over a newer one. When the condition
        fails, the copies are looked at and the record read again, in that order.
        """
        json_key = kind.record.key(directory)
        for delay in self.retry.delays(self.rng):
            try:
                for position, (copy, etag) in enumerate(etags):
                    key = copy.key(directory)
                    written = self.storage.write(
                        key,
                        copy.render(record),
                        content_type=copy.content_type,
                        cache_control=layout.PAGE_CACHE_CONTROL,
                        if_match=etag,
                        create_only=etag is None,
                    )
                    etags[position] = (copy, written)
                    self.written.append(key)
                return
            except PreconditionFailed:
                self.sleep(delay)
            etags = self._copy_etags(directory, kind)
            stored = self.storage.read(json_key)
            if stored is None:
                return
            record = _parse(kind, stored.body, json_key)
        raise ConcurrentUpdateError(
            f"{self.storage.location}/{json_key} kept changing while its copies were written; "
            "run the same command again"
        )


def _parse(kind: PageFormat[Record], body: bytes, key: str) -> Record:
    try:
        return kind.parse(body)
    except InvalidPage as error:
        raise CorruptPage(
            f"{key} is unreadable ({error}); run `uv run invoke reindex` to rebuild it"
        ) from None
