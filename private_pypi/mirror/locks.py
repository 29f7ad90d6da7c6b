"""What a lock pins, whatever its format, and reading a lock file of any supported format.

A lock names each file it pins with its hashes: uv.lock and pylock.toml by file name, a
requirements file only by hash (`name==version --hash=sha256:...`), so such a pin is found
on the upstream's page by its sha256. What a lock holds but no index serves (the
project's own source tree, a git checkout, a direct URL) is skipped, and said so.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import PrivatePypiError

PYPI = "https://pypi.org/simple/"
# pip's strong hashes: those --require-hashes accepts, and all a lock's pin is checked with.
HASH_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_HEX = re.compile(r"[0-9a-f]+")
# PEP 751: pylock.toml, or pylock.NAME.toml.
PYLOCK_NAME = re.compile(r"pylock\.([^.]+\.)?toml")


class LockError(PrivatePypiError):
    """A lock this can't mirror: unreadable, unsupported, or pinning a file without a hash."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path


@dataclass(frozen=True)
class PinnedFile:
    """One file a lock pins, and the indexes the lock says it comes from, in order."""

    lock: Path
    project: NormalizedName
    version: Version | None
    filename: str | None
    """None in a requirements file, which names a file only by its hashes."""
    hashes: tuple[tuple[str, str], ...]
    """(algorithm, lower-case hex digest) pairs; sha256, sha384 or sha512."""
    size: int | None = None
    indexes: tuple[str, ...] = (PYPI,)

    @property
    def sha256(self) -> str | None:
        return dict(self.hashes).get("sha256")

    @property
    def label(self) -> str:
        """How messages name the file: its name, else its pin and hash."""
        if self.filename is not None:
            return self.filename
        algorithm, digest = self.hashes[0]
        return f"{self.project}=={self.version} ({algorithm}:{digest[:16]}…)"


@dataclass(frozen=True)
class SkippedPackage:
    """A package of a lock that no index serves, so there is nothing to mirror."""

    lock: Path
    name: str
    reason: str


@dataclass(frozen=True)
class Lock:
    path: Path
    kind: str
    """"requirements", "uv.lock" or "pylock.toml"."""
    files: tuple[PinnedFile, ...]
    skipped: tuple[SkippedPackage, ...] = ()
    index_names: Mapping[str, str] = field(default_factory=dict[str, str])
    """Index URL → the name the project gives it ([[tool.uv.index]]), whose
    UV_INDEX_{NAME}_USERNAME and _PASSWORD hold its credentials."""


def read_lock(path: Path, env: Mapping[str, str]) -> Lock:
    """Read a lock, telling its format by its name, else by its content.

    Raises LockError, one line, for a file that is unreadable, of another format, or that
    pins a file without a hash.
    """
    # Imported here: each reader imports this module for the model.
    from . import pylock, requirements, uvlock

    text = _text(path)
    if path.name == "uv.lock":
        return uvlock.read(path, text)
    if PYLOCK_NAME.fullmatch(path.name):
        return pylock.read(path, text)
    document = _toml_or_none(text)
    if not document:  # not TOML, or TOML of nothing, as a file of comments is
        return requirements.read(path, text, env)
    if "lock-version" in document:
        return pylock.read(path, text)
    if "package" in document and "version" in document:
        return uvlock.read(path, text)
    raise LockError(
        path,
        f"{_other_toml(document)}; give a uv.lock, a pylock.toml or a requirements file "
        "with --hash pins",
    )


def _text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise LockError(path, "no such file: check --from") from None
    except IsADirectoryError:
        raise LockError(
            path, "is a directory: give the lock file (uv.lock, pylock.toml, requirements.txt)"
        ) from None
    except UnicodeDecodeError:
        raise LockError(
            path, "not a text file: give a uv.lock, a pylock.toml or a requirements file"
        ) from None
    except OSError as error:
        raise LockError(path, f"cannot be read: {error.strerror or error}") from None


def _toml_or_none(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def _other_toml(document: dict[str, Any]) -> str:
    metadata = document.get("metadata")
    if isinstance(metadata, dict) and "content-hash" in metadata:
        return (
            "a Poetry lock, which this does not read: export it with "
            "`poetry export --format requirements.txt` (hashes are on by default)"
        )
    if isinstance(metadata, dict) and "lock_version" in metadata:
        return "a PDM lock, which this does not read: `pdm export --format pylock` writes one"
    if "project" in document or "build-system" in document:
        return "a pyproject.toml, which pins nothing: lock it first (`uv lock`)"
    return "a TOML file that is neither a uv.lock nor a pylock.toml"


def toml_document(path: Path, text: str, kind: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LockError(path, f"not a readable {kind}: {error}") from None


def parse_hash(path: Path, where: str, algorithm: str, digest: str) -> tuple[str, str]:
    """One (algorithm, digest) pair of a pin, checked: a strong algorithm, a whole digest."""
    algorithm, digest = algorithm.strip().lower(), digest.strip().lower()
    expected = HASH_LENGTHS.get(algorithm)
    if expected is None:
        strong = ", ".join(HASH_LENGTHS)
        raise LockError(
            path,
            f"{where}: hash algorithm {algorithm!r} is not one of {strong}, which pip's "
            "--require-hashes accepts",
        )
    if len(digest) != expected or not _HEX.fullmatch(digest):
        raise LockError(
            path, f"{where}: {algorithm} hash {digest[:80]!r} is not {expected} hex digits"
        )
    return algorithm, digest


def filename_of(location: str) -> str:
    """The file name a URL or path ends in, as a lock gives a file's place."""
    return unquote(PurePosixPath(urlsplit(location).path).name)


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in {"http", "https", "file"}


def index_url(url: str) -> str:
    """An index's URL as the mirror reads it, its directory's trailing slash included."""
    return url if url.endswith("/") else url + "/"


def package_tables(path: Path, packages: object, kind: str, key: str) -> list[dict[str, Any]]:
    """A lock's array of package tables: uv.lock's [[package]], pylock.toml's [[packages]]."""
    if not isinstance(packages, list):
        raise LockError(path, f"no [[{key}]] array of tables: not a {kind}")
    return _tables(path, cast(list[Any], packages), f"not a {kind}")


def file_tables(path: Path, where: str, package: dict[str, Any]) -> list[dict[str, Any]]:
    """A locked package's sdist and wheels tables (uv.lock and pylock.toml spell them alike)."""
    sdist = package.get("sdist")
    wheels = package.get("wheels", [])
    if not isinstance(wheels, list):
        raise LockError(path, f"{where}: its wheels are not a list")
    return _tables(path, ([sdist] if sdist is not None else []) + cast(list[Any], wheels), where)


def _tables(path: Path, items: list[Any], where: str) -> list[dict[str, Any]]:
    for item in items:
        if not isinstance(item, dict):
            raise LockError(path, f"{where}: an entry is not a table")
    return cast(list[dict[str, Any]], items)


def locked_release(
    path: Path, name: str, version: object | None
) -> tuple[NormalizedName, Version | None]:
    """A locked package's project name and version (None: the lock gives none), checked."""
    try:
        project = canonicalize_name(name, validate=True)
        return project, None if version is None else Version(str(version))
    except (InvalidName, InvalidVersion) as error:
        raise LockError(path, f"package {name!r}: {error}") from None


def pinned_file(
    path: Path,
    release: tuple[NormalizedName, Version | None],
    filename: str,
    hashes: tuple[tuple[str, str], ...],
    table: dict[str, Any],
    index: str,
) -> PinnedFile:
    """A file of a locked package, with its table's size when it gives one."""
    size = table.get("size")
    return PinnedFile(
        lock=path,
        project=release[0],
        version=release[1],
        filename=filename,
        hashes=hashes,
        size=size if isinstance(size, int) else None,
        indexes=(index,),
    )
