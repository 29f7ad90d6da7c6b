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
from typing import Generic, TypeVar

from packaging.utils import NormalizedName

from . import layout
from .errors import PreconditionFailed, PrivatePypiError
from .pages import (
    InvalidPage,
    ProjectPage,
    parse_project_json,
    parse_root_json,
    render_project_html,
    render_project_json,
    render_root_html,
    render_root_json,
)
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
class PageKind(Generic[Record]):
    parse: Callable[[bytes], Record]
    render_json: Callable[[Record], bytes]
    render_html: Callable[[Record], bytes]


PROJECT = PageKind(parse_project_json, render_project_json, render_project_html)
ROOT = PageKind(parse_root_json, render_root_json, render_root_html)


@dataclass(frozen=True)
class ProjectSnapshot:
    """A project page as read, so an update can start from it without reading it again."""

    name: NormalizedName
    stored: StoredObject | None

    @property
    def page(self) -> ProjectPage | None:
        if self.stored is None:
            return None
        return _parse(PROJECT, self.stored.body, self.stored.key)


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
        html = PROJECT.render_html(page)
        json_key = layout.project_json(name)
        keys = layout.html_keys(json_key, directory_keys=self.storage.directory_keys)
        return any(
            (stored := self.storage.read(key)) is None or stored.body != html for key in keys
        )

    def projects(self) -> frozenset[NormalizedName]:
        stored = self.storage.read(layout.ROOT_JSON)
        return frozenset() if stored is None else _parse(ROOT, stored.body, stored.key)

    def update_project(
        self, name: NormalizedName, change: ProjectChange, *, read: ProjectSnapshot | None = None
    ) -> ProjectPage:
        """Apply `change` to the project's page; `read` saves re-reading a fresh snapshot."""
        first = (read.stored,) if read is not None else None
        return self._update(layout.project_json(name), PROJECT, change, first)

    def update_root(self, change: RootChange) -> frozenset[NormalizedName]:
        return self._update(layout.ROOT_JSON, ROOT, lambda names: change(names or frozenset()))

    def _update(
        self,
        json_key: str,
        kind: PageKind[Record],
        change: Callable[[Record | None], Record],
        first: tuple[StoredObject | None] | None = None,
    ) -> Record:
        for delay in self.retry.delays(self.rng):
            # Looked at before the record is committed: see _write_html.
            html_etags = self._html_etags(json_key)
            from_snapshot = first is not None
            stored = first[0] if first else self.storage.read(json_key)
            first = None
            current = None if stored is None else _parse(kind, stored.body, json_key)
            record = change(current)
            body = kind.render_json(record)
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
                        content_type=layout.JSON_TYPE,
                        cache_control=layout.PAGE_CACHE_CONTROL,
                        if_match=None if stored is None else stored.etag,
                        create_only=stored is None,
                    )
                except PreconditionFailed:
                    self.sleep(delay)
                    continue
                self.written.append(json_key)
            self._write_html(json_key, kind, record, html_etags)
            return record
        raise ConcurrentUpdateError(
            f"{self.storage.location}/{json_key} kept changing under "
            f"{self.retry.attempts} attempts; nothing was lost, run the same command again"
        )

    def _html_etags(self, json_key: str) -> dict[str, str | None]:
        keys = layout.html_keys(json_key, directory_keys=self.storage.directory_keys)
        return {key: info.etag if (info := self.storage.head(key)) else None for key in keys}

    def _write_html(
        self,
        json_key: str,
        kind: PageKind[Record],
        record: Record,
        etags: dict[str, str | None],
    ) -> None:
        """Write the HTML twins, each only if nobody wrote it since `etags` were read.

        The ETags were read before `record` was committed (or read), so an HTML page
        written in between came from an older record or this one, never a newer one: a
        writer that is slow, or killed, can't put stale HTML over newer HTML. When the
        condition fails, the twins are looked at and the record read again, in that order.
        """
        for delay in self.retry.delays(self.rng):
            html = kind.render_html(record)
            try:
                for key, etag in etags.items():
                    etags[key] = self.storage.write(
                        key,
                        html,
                        content_type=layout.HTML_TYPE,
                        cache_control=layout.PAGE_CACHE_CONTROL,
                        if_match=etag,
                        create_only=etag is None,
                    )
                    self.written.append(key)
                return
            except PreconditionFailed:
                self.sleep(delay)
            etags = self._html_etags(json_key)
            stored = self.storage.read(json_key)
            if stored is None:
                return
            record = _parse(kind, stored.body, json_key)
        raise ConcurrentUpdateError(
            f"{self.storage.location}/{json_key} kept changing while its HTML was written; "
            "run the same command again"
        )


def _parse(kind: PageKind[Record], body: bytes, key: str) -> Record:
    try:
        return kind.parse(body)
    except InvalidPage as error:
        raise CorruptPage(
            f"{key} is unreadable ({error}); run `uv run invoke reindex` to rebuild it"
        ) from None
