"""Safe updates of the index pages by many writers at once, with no lock to run.

Each page's JSON document is its record. An update reads it, applies a change, and
writes it back only if nobody wrote it meanwhile (If-Match, or If-None-Match: * for a new
page); when that fails it re-reads and retries, with jittered backoff. The HTML twin is
written after the JSON, then the JSON's ETag is checked again: if another writer got in
between, the HTML is rendered again from the newer record, so the last HTML written is
always the latest record's.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from packaging.utils import NormalizedName

from . import layout
from .errors import PreconditionFailed, PublishError
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


class ConcurrentUpdateError(PublishError):
    """Other writers kept changing a page; nothing of this update was lost, run it again."""


class CorruptPage(PublishError):
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
            stored = first[0] if first else self.storage.read(json_key)
            first = None
            current = None if stored is None else _parse(kind, stored.body, json_key)
            record = change(current)
            body = kind.render_json(record)
            if stored is not None and stored.body == body:
                etag = stored.etag
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
            self._write_html(json_key, kind, record, etag)
            return record
        raise ConcurrentUpdateError(
            f"{self.storage.location}/{json_key} kept changing under "
            f"{self.retry.attempts} attempts; nothing was lost, run the same command again"
        )

    def _write_html(self, json_key: str, kind: PageKind[Record], record: Record, etag: str) -> None:
        keys = layout.html_keys(json_key, directory_keys=self.storage.directory_keys)
        for _ in range(self.retry.attempts):
            html = kind.render_html(record)
            for key in keys:
                self.storage.write(
                    key,
                    html,
                    content_type=layout.HTML_TYPE,
                    cache_control=layout.PAGE_CACHE_CONTROL,
                )
                self.written.append(key)
            latest = self.storage.head(json_key)
            if latest is None or latest.etag == etag:
                return
            # Another writer committed after us and may have written its HTML before ours.
            stored = self.storage.read(json_key)
            if stored is None:
                return
            record, etag = _parse(kind, stored.body, json_key), stored.etag
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
