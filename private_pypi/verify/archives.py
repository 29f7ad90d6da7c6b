"""A distribution file as verify reads it: once, hashing it, and checking its members as
publish's inspection does (distributions.check_archive) from the same bytes.

A .tar.gz is checked as it streams past. A zip's member list is at its end, so the last
bytes are kept as they pass (`Limits.archive_tail_bytes`); a member list that starts
before them is read again, alone, with a Range request.
"""

from __future__ import annotations

import hashlib
import io
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..console import human_size
from ..distributions import check_archive
from ..errors import InvalidDistribution

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

# Bytes `start` to `stop` of the file being read.
RangeReader = Callable[[int, int], bytes]


@dataclass(frozen=True)
class FileRead:
    size: int
    sha256: str
    # Why inspection would refuse the file today, or None.
    refusal: str | None


def read_distribution(
    filename: str, chunks: Iterator[bytes], read_range: RangeReader, *, tail_bytes: int, most: int
) -> FileRead:
    """Hash the file's bytes as they come, and check its members from them: a zip's from
    its last `tail_bytes` (and a Range read of at most `most` bytes before them)."""
    hashed = _Hashed(chunks)
    refusal = None
    try:
        if filename.endswith(".tar.gz"):
            check_archive(filename, io.BufferedReader(_Stream(iter(hashed))))
        elif filename.endswith((".whl", ".zip")):
            tail = _tail(hashed, tail_bytes)
            end = _EndOfFile(hashed.size, tail, read_range, most)
            check_archive(filename, io.BufferedReader(end))
    except InvalidDistribution as error:
        refusal = error.reason
    except _TooLong as error:
        refusal = str(error)
    for _ in hashed:  # what the check left unread is hashed all the same
        pass
    return FileRead(hashed.size, hashed.digest.hexdigest(), refusal)


class _Hashed:
    """The chunks, hashed and counted as they are taken, once."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.digest = hashlib.sha256()
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.digest.update(chunk)
            self.size += len(chunk)
            yield chunk


def _tail(chunks: _Hashed, keep: int) -> bytes:
    """The last `keep` bytes of the chunks (all of them, if fewer)."""
    kept: deque[bytes] = deque()
    held = 0
    for chunk in chunks:
        kept.append(chunk)
        held += len(chunk)
        while held - len(kept[0]) >= keep:
            held -= len(kept.popleft())
    return b"".join(kept)[-keep:] if keep else b""


class _Stream(io.RawIOBase):
    """The chunks as a file read from start to end."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        if not self._pending:
            self._pending = memoryview(next(self._chunks, b""))
        view = memoryview(buffer).cast("B")
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


class _TooLong(Exception):
    """A zip's member list that starts too far before the end to read again."""


class _EndOfFile(io.RawIOBase):
    """A file of `size` bytes of which only the `tail` is held: zipfile seeks about it to
    read a zip's end records and member list, and what lies before the tail is read with
    `read_range`, up to `most` bytes."""

    def __init__(self, size: int, tail: bytes, read_range: RangeReader, most: int) -> None:
        super().__init__()
        self._size, self._tail, self._read_range, self._most = size, tail, read_range, most
        self._tail_start = size - len(tail)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise OSError(f"seek to {base + offset}, before the file's start")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        start = self._position
        stop = min(start + len(view), self._size)
        if stop <= start:
            return 0
        before = b""
        if start < self._tail_start:
            end = min(stop, self._tail_start)
            if end - start > self._most:
                raise _TooLong(
                    f"its zip member list is {human_size(end - start)} longer than the end "
                    f"verify keeps, over the {human_size(self._most)} it reads again"
                )
            before = self._read_range(start, end)
            if len(before) != end - start:
                raise OSError(f"read {len(before)} bytes of {end - start} at {start}")
        held = b""
        if stop > self._tail_start:
            held = self._tail[max(start - self._tail_start, 0) : stop - self._tail_start]
        data = before + held
        view[: len(data)] = data
        self._position += len(data)
        return len(data)
