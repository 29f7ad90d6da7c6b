"""The small interface every storage backend offers to publishing."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

# The user metadata that records a file's sha256 at upload (x-amz-meta-sha256 on S3).
SHA256_METADATA = "sha256"

# A file this large or larger goes up in parts (on S3), and shows its progress while it does.
MULTIPART_THRESHOLD = 16 * 1024 * 1024

# Called with the bytes sent since the last call, for progress bars.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How a writer backs off when its write did not take effect: a conditional page write
    that lost a race, or any write that met a conflicting request (S3's 409)."""

    # Generous: eight CI jobs racing for one page on a slow day must all get through.
    attempts: int = 50
    base_delay: float = 0.02
    max_delay: float = 2.0

    def delays(self, rng: random.Random) -> Iterator[float]:
        """Full-jitter exponential backoff: spreads racing writers apart."""
        for attempt in range(self.attempts):
            yield rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass(frozen=True)
class StoredObject:
    key: str
    body: bytes
    etag: str


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime
    metadata: Mapping[str, str] = field(default_factory=dict[str, str])


class Storage(Protocol):
    """A key-value store of immutable files and conditionally-updated pages.

    ETags are opaque: equal ETags mean equal content, and a write that names one
    (`if_match`) fails with PreconditionFailed if the object has changed since.

    A write the store answers "a conflicting request is in progress, try again" (S3's 409
    ConditionalRequestConflict) did not take effect. The backend sends it again itself,
    bounded, where sending the same request is the whole remedy (create-only and plain
    writes, uploads, deletes); an `if_match` write raises ConditionalConflict instead,
    because only its caller knows what to read again.
    """

    @property
    def location(self) -> str:
        """The repository as the user named it, for messages: s3://bucket or a path."""
        ...

    @property
    def index_url(self) -> str:
        """The URL of `simple/` that pip and uv use."""
        ...

    @property
    def directory_keys(self) -> bool:
        """Whether a page must also be stored under its directory key (`simple/name/`)."""
        ...

    @property
    def parallel_requests(self) -> int:
        """How many requests are worth having under way at once: a publish waits for the
        slowest of them, not for their sum."""
        ...

    def etag_for(self, body: bytes) -> str | None:
        """The ETag this storage would give an object with these bytes, or None when its
        ETags don't derive from content: then only reading an object tells what it holds."""
        ...

    def read(self, key: str) -> StoredObject | None: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def write(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str,
        cache_control: str,
        if_match: str | None = None,
        create_only: bool = False,
    ) -> str:
        """Store `body` and return its ETag; raise PreconditionFailed if a condition fails,
        ConditionalConflict if an `if_match` write met a conflicting request."""
        ...

    def upload(
        self,
        key: str,
        path: Path,
        *,
        content_type: str,
        cache_control: str,
        metadata: Mapping[str, str],
        progress: Progress | None = None,
    ) -> str | None:
        """Create `key` from a file; return its ETag, or None if the key already exists.

        If `metadata` holds a sha256 (SHA256_METADATA), the store checks the bytes it
        receives against it and raises FileChanged, storing nothing, if they differ.
        """
        ...

    def download(self, key: str, path: Path) -> None:
        """Copy a stored file to `path`."""
        ...

    def sha256(self, key: str) -> str | None:
        """The hex sha256 of a stored file, or None if there is no such file."""
        ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> Iterator[ObjectInfo]: ...
