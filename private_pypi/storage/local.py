"""A local directory as a repository: pip reads it through file://, and
`python -m http.server` serves it as it is."""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import time
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from stat import S_ISREG
from typing import TextIO

from ..errors import PreconditionFailed, StorageError
from ..hashing import Expected, HashingReader
from .base import SHA256_METADATA, ObjectInfo, Progress, StoredObject

LOCK_FILE = ".private-pypi.lock"
LOCK_TIMEOUT = 60.0
"""A write holds the lock for milliseconds; a minute of waiting means a hung holder."""
_LOCK_POLL = 0.01
_COPY_CHUNK = 1024 * 1024


class LocalStorage:
    # A directory serves its index.html, so `simple/name/` needs no object of its own.
    directory_keys = False
    # Writes take the repository's lock in turn; reads and file copies gain a little.
    parallel_requests = 4

    def __init__(self, root: Path, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.root = root.resolve()
        self.lock_timeout = lock_timeout

    @property
    def location(self) -> str:
        return str(self.root)

    @property
    def index_url(self) -> str:
        return (self.root / "simple").as_uri() + "/"

    def etag_for(self, body: bytes) -> None:
        # An ETag here is the file's inode, mtime and size (see _etag), not its content.
        return None

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
                    HashingReader(
                        source, Expected(expected, os.fstat(source.fileno()).st_size, key)
                    )
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
        # os.walk does not descend into linked directories, and linked files are skipped:
        # the listing shows what the repository holds, never what a link points at.
        for directory, _, names in os.walk(base):
            for name in sorted(names):
                path = Path(directory, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix) and not name.startswith(".private-pypi"):
                    stat = path.lstat()
                    if S_ISREG(stat.st_mode):
                        yield _info(key, stat)

    def _path(self, key: str) -> Path:
        return self._resolve(key + "index.html" if key.endswith("/") else key)

    def _resolve(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if key.startswith("/") or ".." in parts:
            raise StorageError(f"refusing a key outside the repository: {key}")
        # Nothing under the root is followed: a link could lead one project's writes into
        # another's directory, or out of the repository.
        path = self.root
        for part in parts:
            path /= part
            if path.is_symlink():
                raise StorageError(
                    f"refusing to follow the symbolic link {path}: a repository holds only "
                    "real directories and files; replace the link with what it points to"
                )
        return path

    def _temporary(self, path: Path) -> Path:
        self._make_directory(path.parent)
        while True:
            name = path.parent / f".private-pypi-{secrets.token_hex(8)}"
            try:
                # 0o666 less the umask, as any file a user's tools create: a web server
                # running as another user can read the repository if the umask lets it.
                os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            except FileExistsError:
                continue
            return name

    def _make_directory(self, path: Path) -> None:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(
                f"cannot create the repository directory {path} ({error.strerror}): give "
                "--repository a directory you may write, or s3://BUCKET"
            ) from None

    @contextmanager
    def _lock(self) -> Generator[None]:
        """Serialize conditional writes, across processes as well as threads."""
        self._make_directory(self.root)
        with (self.root / LOCK_FILE).open("a") as lock:
            self._wait_for(lock)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _wait_for(self, lock: TextIO) -> None:
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StorageError(
                        f"waited {self.lock_timeout:g} s for the lock {self.root / LOCK_FILE}: "
                        "another command on this repository holds it; if none is running, "
                        "a hung one does: stop it, then run this command again"
                    ) from None
                time.sleep(_LOCK_POLL)


def _etag(stat: os.stat_result) -> str:
    # Every write replaces the file, so a new inode or mtime means new content.
    return f"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"


def _info(key: str, stat: os.stat_result) -> ObjectInfo:
    modified = datetime.fromtimestamp(stat.st_mtime, UTC)
    return ObjectInfo(key=key, size=stat.st_size, etag=_etag(stat), last_modified=modified)
