"""A local directory as a repository: pip reads it through file://, and
`python -m http.server` serves it as it is."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..errors import PreconditionFailed, StorageError
from .base import SHA256_METADATA, ObjectInfo, Progress, StoredObject, VerifyingReader

LOCK_FILE = ".private-pypi.lock"
_COPY_CHUNK = 1024 * 1024


class LocalStorage:
    # A directory serves its index.html, so `simple/name/` needs no object of its own.
    directory_keys = False

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @property
    def location(self) -> str:
        return str(self.root)

    @property
    def index_url(self) -> str:
        return (self.root / "simple").as_uri() + "/"

    def read(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            with path.open("rb") as file:
                etag = _etag(os.fstat(file.fileno()))
                return StoredObject(key, file.read(), etag)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not path.is_file():
            return None
        return _info(key, stat)

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
        path = self._path(key)
        with self._lock():
            current = self.head(key)
            if create_only and current is not None:
                raise PreconditionFailed(f"{path} already exists")
            if if_match is not None and (current is None or current.etag != if_match):
                raise PreconditionFailed(f"{path} changed while it was being updated")
            temporary = self._temporary(path)
            temporary.write_bytes(body)
            # Readers see the old page or the new one, never half of one.
            os.replace(temporary, path)
            return _etag(path.stat())

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
        target = self._path(key)
        temporary = self._temporary(target)
        try:
            with path.open("rb") as source, temporary.open("wb") as copy:
                expected = metadata.get(SHA256_METADATA)
                reader = (
                    VerifyingReader(source, expected, os.fstat(source.fileno()).st_size, key)
                    if expected
                    else source
                )
                shutil.copyfileobj(reader, copy, _COPY_CHUNK)
            if progress:
                progress(temporary.stat().st_size)
            try:
                # link() fails if the target exists: create-only, atomically.
                os.link(temporary, target)
            except FileExistsError:
                return None
        finally:
            temporary.unlink(missing_ok=True)
        return _etag(target.stat())

    def download(self, key: str, path: Path) -> None:
        shutil.copyfile(self._path(key), path)

    def sha256(self, key: str) -> str | None:
        path = self._path(key)
        if not path.is_file():
            return None
        with path.open("rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self._resolve(prefix.rsplit("/", 1)[0] if "/" in prefix else "")
        if not base.is_dir():
            return
        for directory, _, names in os.walk(base):
            for name in sorted(names):
                path = Path(directory, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix) and not name.startswith(".private-pypi"):
                    yield _info(key, path.stat())

    def _path(self, key: str) -> Path:
        return self._resolve(key + "index.html" if key.endswith("/") else key)

    def _resolve(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise StorageError(f"refusing a key outside the repository: {key}")
        return path

    def _temporary(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=".private-pypi-")
        os.close(descriptor)
        return Path(name)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialize conditional writes, across processes as well as threads."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / LOCK_FILE).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _etag(stat: os.stat_result) -> str:
    # Every write replaces the file, so a new inode or mtime means new content.
    return f"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"


def _info(key: str, stat: os.stat_result) -> ObjectInfo:
    modified = datetime.fromtimestamp(stat.st_mtime, UTC)
    return ObjectInfo(key=key, size=stat.st_size, etag=_etag(stat), last_modified=modified)
