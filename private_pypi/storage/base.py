"""The small interface every storage backend offers to publishing."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from ..errors import FileChanged

# The user metadata that records a file's sha256 at upload (x-amz-meta-sha256 on S3).
SHA256_METADATA = "sha256"

# Called with the bytes sent since the last call, for progress bars.
Progress = Callable[[int], None]


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
    metadata: Mapping[str, str] = field(default_factory=dict)


class Storage(Protocol):
    """A key-value store of immutable files and conditionally-updated pages.

    ETags are opaque: equal ETags mean equal content, and a write that names one
    (`if_match`) fails with PreconditionFailed if the object has changed since.
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
        """Store `body` and return its ETag; raise PreconditionFailed if a condition fails."""
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


class VerifyingReader(io.RawIOBase):
    """Reads a file once, hashing it, and fails the read that ends it with other bytes
    than expected: an upload that streams from it stores exactly the inspected file."""

    def __init__(self, file: BinaryIO, sha256: str, size: int, key: str) -> None:
        super().__init__()
        self._file, self._expected, self._size, self._key = file, sha256, size, key
        self._digest = hashlib.sha256()
        self._read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        data = self._file.read(size)
        self._digest.update(data)
        self._read += len(data)
        ended = not data or (size >= 0 and len(data) < size) or size < 0
        if self._read > self._size or ((ended or self._read == self._size) and not self.matches()):
            raise FileChanged(self._key)
        return data

    def matches(self) -> bool:
        return self._read == self._size and self._digest.hexdigest() == self._expected
