"""A reader that hashes a file as it passes, so that a file is read once: to inspect it, or
to upload exactly the file that was inspected."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from .errors import FileChanged

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_DRAIN_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Expected:
    """The file as it was inspected; `key` names it in the FileChanged message."""

    sha256: str
    size: int
    key: str


class HashingReader(io.RawIOBase):
    """Hashes and counts a file's bytes as they are read. Given what to expect, it fails
    the read that ends the file (or passes its size) with FileChanged if the bytes are not
    those: an upload that streams from it stores exactly the inspected file or nothing.

    It is a raw stream: `io.BufferedReader(reader)` makes it a BinaryIO for APIs that
    want one, such as boto3's transfer manager."""

    def __init__(self, file: BinaryIO, expected: Expected | None = None) -> None:
        super().__init__()
        self._file = file
        self._expected = expected
        self.digest = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        data = self._file.read(size)
        self.digest.update(data)
        self.bytes_read += len(data)
        if self._expected is not None:
            # A buffered file reads short only at its end.
            self._verify(self._expected, ended=size < 0 or len(data) < size)
        return data

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Read the rest of the file, hashing it."""
        while self.read(_DRAIN_CHUNK_BYTES):
            pass

    def _verify(self, expected: Expected, *, ended: bool) -> None:
        complete = ended or self.bytes_read == expected.size
        if self.bytes_read > expected.size or (complete and not self._matches(expected)):
            raise FileChanged(expected.key)

    def _matches(self, expected: Expected) -> bool:
        return self.bytes_read == expected.size and self.digest.hexdigest() == expected.sha256
