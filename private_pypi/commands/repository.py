"""The repository a command works on: found from the settings, opened, and checked.

Only a real publish creates a repository. Every other command, and a dry run, refuses a
local path that is not one, so that a typo is never reindexed, verified as empty or
written into: a repository's root holds `simple/`, the browse pages (`index.html`,
`project/`, `static/`) and this tool's lock, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..configuration import find_table, repository_to_use
from ..contract import (
    BROWSE_PREFIX,
    BROWSE_ROOT,
    DISTRIBUTION_ID_VARIABLE,
    INDEX_PREFIX,
    STATIC_PREFIX,
)
from ..errors import ConfigurationError
from ..index import Index
from ..storage import LocalStorage, ObjectInfo, Storage, StoredObject, open_storage
from ..storage.base import Progress
from ..storage.local import LOCK_FILE
from .events import Reporter, Requested

if TYPE_CHECKING:
    from ..storage.base import Storage as StorageProtocol


@dataclass(frozen=True)
class Surroundings:
    """Where a command runs: its directory (for [tool.private-pypi] and relative paths)
    and its environment variables (for the repository, credentials and CloudFront)."""

    cwd: Path
    env: Mapping[str, str]

    def repository(self, flag: str | None) -> str:
        """The repository: the flag, PRIVATE_PYPI_REPOSITORY, the bucket variables, then
        [tool.private-pypi]."""
        return repository_to_use(flag, self.env, find_table(self.cwd))


def open_index(surroundings: Surroundings, repository: str | None, reporter: Reporter) -> Index:
    """The index of the repository the settings name, its requests reported if the
    reporter shows them (-v)."""
    storage = open_storage(surroundings.repository(repository), surroundings.env)
    return Index(traced(storage, reporter))


def traced(storage: Storage, reporter: Reporter) -> Storage:
    return Traced(storage, reporter) if reporter.shows_requests else storage


def require_repository(storage: Storage) -> None:
    """Refuse a local path that is not a repository; an S3 bucket answers for itself."""
    root = local_root(storage)
    if root is None:
        return
    problem = _not_a_repository(root)
    if problem:
        raise ConfigurationError(
            f"no repository at {root}: {problem}; check --repository (only a publish "
            "creates a repository)"
        )


def require_new_or_repository(storage: Storage) -> None:
    """What a real publish accepts: a repository, or a path it may make one of (nothing
    there yet, or an empty directory); never a directory that holds something else."""
    root = local_root(storage)
    if root is None or not root.exists():
        return
    if root.is_dir() and not any(root.iterdir()):
        return
    problem = _not_a_repository(root)
    if problem:
        raise ConfigurationError(
            f"{root} is not a repository ({problem}), and publish makes one only in a new "
            "or empty directory: check --repository"
        )


def local_root(storage: Storage) -> Path | None:
    inner = storage.inner if isinstance(storage, Traced) else storage
    return inner.root if isinstance(inner, LocalStorage) else None


def _not_a_repository(root: Path) -> str | None:
    """Why `root` is not a repository, or None if it is one."""
    if not root.exists():
        return "nothing is there"
    if not root.is_dir():
        return "it is a file, not a directory"
    index = root / INDEX_PREFIX.rstrip("/")
    if not index.is_dir():
        return f"it has no {INDEX_PREFIX} directory"
    ours = {LOCK_FILE, BROWSE_ROOT, BROWSE_PREFIX.rstrip("/"), STATIC_PREFIX.rstrip("/")}
    others = sorted(
        entry.name
        for entry in root.iterdir()
        if entry != index and entry.name not in ours and not entry.name.startswith(".private-pypi")
    )
    if others:
        shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
        return f"it holds other things than {INDEX_PREFIX} ({shown})"
    return None


@dataclass(frozen=True)
class Invalidation:
    """The CloudFront paths a command asked its distribution to drop."""

    distribution_id: str
    paths: tuple[str, ...]


def invalidate_pages(env: Mapping[str, str], pages: Sequence[str]) -> Invalidation | None:
    """Ask CloudFront to drop the changed pages, when the stack has a distribution."""
    distribution_id = env.get(DISTRIBUTION_ID_VARIABLE)
    if not distribution_id or not pages:
        return None
    from ..cdn import invalidate  # botocore: only a stack with CloudFront needs it

    return Invalidation(distribution_id, tuple(invalidate(distribution_id, pages, env)))


class Traced:
    """A storage whose every request is reported as it is made (shown with -v)."""

    def __init__(self, inner: StorageProtocol, reporter: Reporter) -> None:
        self.inner = inner
        self._reporter = reporter

    def _request(self, operation: str, key: str) -> None:
        self._reporter.event(Requested(operation, key))

    @property
    def location(self) -> str:
        return self.inner.location

    @property
    def index_url(self) -> str:
        return self.inner.index_url

    @property
    def directory_keys(self) -> bool:
        return self.inner.directory_keys

    @property
    def parallel_requests(self) -> int:
        # One at a time, so that the trace reads the same on every run.
        return 1

    def etag_for(self, body: bytes) -> str | None:
        return self.inner.etag_for(body)

    def read(self, key: str) -> StoredObject | None:
        self._request("GET", key)
        return self.inner.read(key)

    def head(self, key: str) -> ObjectInfo | None:
        self._request("HEAD", key)
        return self.inner.head(key)

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
        condition = " (if new)" if create_only else f" (if {if_match})" if if_match else ""
        self._request("PUT", key + condition)
        return self.inner.write(
            key,
            body,
            content_type=content_type,
            cache_control=cache_control,
            if_match=if_match,
            create_only=create_only,
        )

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
        self._request("PUT", f"{key} (if new, from {path.name})")
        return self.inner.upload(
            key,
            path,
            content_type=content_type,
            cache_control=cache_control,
            metadata=metadata,
            progress=progress,
        )

    def download(self, key: str, path: Path) -> None:
        self._request("GET", key)
        self.inner.download(key, path)

    def sha256(self, key: str) -> str | None:
        self._request("HEAD", f"{key} (its sha256)")
        return self.inner.sha256(key)

    def delete(self, key: str) -> None:
        self._request("DELETE", key)
        self.inner.delete(key)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        self._request("LIST", prefix)
        return self.inner.list(prefix)
