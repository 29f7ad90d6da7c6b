"""pylock.toml (PEP 751): the standard lock, as uv, pip and PDM write it.

Each [[packages]] entry has an sdist, wheels, or else one source no index serves: a VCS
checkout, a local directory or a direct archive, which are skipped. A file is named by
`name` or by the last part of its `url` or `path`, and pinned by its `hashes`; the entry's
`index` says where it was found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from .locks import (
    HASH_LENGTHS,
    PYPI,
    Lock,
    LockError,
    PinnedFile,
    SkippedPackage,
    file_tables,
    filename_of,
    index_url,
    locked_release,
    package_tables,
    parse_hash,
    pinned_file,
    toml_document,
)

KIND = "pylock.toml"
SUPPORTED_MAJOR = "1"
_NOT_FROM_AN_INDEX = {
    "vcs": "a VCS checkout, which installers build from the repository",
    "directory": "a local source tree, which installers build from its path",
    "archive": "a direct archive, which installers fetch from its URL or path",
}


def read(path: Path, text: str) -> Lock:
    document = toml_document(path, text, KIND)
    lock_version = str(document.get("lock-version", ""))
    if lock_version.partition(".")[0] != SUPPORTED_MAJOR:
        raise LockError(
            path, f"lock-version {lock_version!r}: this reads pylock.toml version 1.x (PEP 751)"
        )
    files: list[PinnedFile] = []
    skipped: list[SkippedPackage] = []
    for package in package_tables(path, document.get("packages"), KIND, "packages"):
        name = str(package.get("name", "?"))
        source = next((kind for kind in _NOT_FROM_AN_INDEX if kind in package), None)
        if source is not None:
            reason = f"{source}: {_NOT_FROM_AN_INDEX[source]}"
            skipped.append(SkippedPackage(path, name, reason))
            continue
        files += _package_files(path, name, package)
    return Lock(path, KIND, tuple(files), tuple(skipped))


def _package_files(path: Path, name: str, package: dict[str, Any]) -> list[PinnedFile]:
    release = locked_release(path, name, package.get("version"))
    index = index_url(str(package.get("index") or PYPI))
    pinned: list[PinnedFile] = []
    for file in file_tables(path, f"package {name}", package):
        # `name` may be normalized where the index spells a legacy name otherwise (`uv
        # export` writes pyyaml-6.0.1-... for PyYAML-6.0.1-...): the mirror then finds the
        # file by its sha256, and keeps the index's name.
        location = file.get("url") or file.get("path")
        filename = file.get("name") or (filename_of(str(location)) if location else None)
        if not filename:
            raise LockError(path, f"package {name}: a file has no name, url or path")
        where = f"{filename} of {name}"
        hashes = file.get("hashes")
        if not isinstance(hashes, dict) or not hashes:
            raise LockError(path, f"{where} has no hashes: it can't be checked")
        # Other algorithms may sit beside the strong ones (PEP 751 allows any): they are
        # passed over, as pip passes them over.
        pairs = tuple(
            parse_hash(path, where, str(algorithm), str(digest))
            for algorithm, digest in cast(dict[str, Any], hashes).items()
            if str(algorithm).lower() in HASH_LENGTHS
        )
        if not pairs:
            strong = ", ".join(HASH_LENGTHS)
            raise LockError(path, f"{where} has no {strong} hash: it can't be checked")
        pinned.append(pinned_file(path, release, str(filename), pairs, file, index))
    return pinned
