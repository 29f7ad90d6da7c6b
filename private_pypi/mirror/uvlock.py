"""uv.lock: each package, where it came from, and the sdist and wheels uv locked for it.

uv writes one [[package]] per resolved package, with its `source`: a registry (an index:
the files to mirror, each with its URL, hash and size), or the project's own source
trees (editable, virtual, path, directory), a git checkout or a direct URL, which no index
serves. Every wheel is listed, for every platform the lock supports, and all are pinned.
The pyproject.toml beside the lock names its indexes ([[tool.uv.index]]), so their
credentials are found in UV_INDEX_{NAME}_USERNAME and _PASSWORD, as uv finds them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, cast

from .locks import (
    Lock,
    LockError,
    PinnedFile,
    SkippedPackage,
    file_tables,
    filename_of,
    index_url,
    is_url,
    locked_release,
    package_tables,
    parse_hash,
    pinned_file,
    toml_document,
)

KIND = "uv.lock"
SUPPORTED_VERSION = 1
_NOT_FROM_AN_INDEX = {
    "editable": "the project's own package, installed from its source tree",
    "virtual": "the project's own root, which is never installed",
    "path": "a local file or directory, installed from its path",
    "directory": "a local source tree, installed from its path",
    "git": "a git checkout, which installers build from the repository",
    "url": "a direct URL, which installers fetch from there",
}


def read(path: Path, text: str) -> Lock:
    document = toml_document(path, text, KIND)
    version = document.get("version")
    if version != SUPPORTED_VERSION:
        raise LockError(
            path,
            f"uv.lock version {version!r}: this reads version {SUPPORTED_VERSION}, which "
            "uv writes since 0.4",
        )
    files: list[PinnedFile] = []
    skipped: list[SkippedPackage] = []
    for entry in package_tables(path, document.get("package", []), KIND, "package"):
        name = str(entry.get("name", "?"))
        source = entry.get("source")
        if not isinstance(source, dict) or not source:
            raise LockError(path, f"package {name!r} has no source: not a uv.lock")
        origin = cast(dict[str, Any], source)
        registry = origin.get("registry")
        if registry is None:
            kind = next(iter(origin))
            reason = _NOT_FROM_AN_INDEX.get(kind, f"a {kind} source, not an index")
            skipped.append(SkippedPackage(path, name, f"{kind} = {origin[kind]!r}: {reason}"))
            continue
        if not is_url(str(registry)):
            reason = (
                f"from the local registry {registry!r} (a --find-links directory), not an index"
            )
            skipped.append(SkippedPackage(path, name, reason))
            continue
        files += _package_files(path, name, entry, index_url(str(registry)))
    return Lock(path, KIND, tuple(files), tuple(skipped), _index_names(path.parent))


def _package_files(path: Path, name: str, package: dict[str, Any], index: str) -> list[PinnedFile]:
    if "version" not in package:
        raise LockError(path, f"package {name!r} has no version: not a uv.lock")
    release = locked_release(path, name, package["version"])
    where = f"package {name} {package['version']}"
    pinned: list[PinnedFile] = []
    for file in file_tables(path, where, package):
        location = file.get("url") or file.get("path") or file.get("filename")
        if not location:
            raise LockError(path, f"{where}: a file has no url or filename")
        filename = str(file.get("filename") or filename_of(str(location)))
        digest = file.get("hash")
        if not digest:
            raise LockError(
                path,
                f"{filename} of {where} has no hash: the index gave none, so it can't be checked",
            )
        algorithm, _, value = str(digest).partition(":")
        hashes = (parse_hash(path, f"{filename} of {where}", algorithm, value),)
        pinned.append(pinned_file(path, release, filename, hashes, file, index))
    return pinned


def _index_names(directory: Path) -> dict[str, str]:
    """The project's named indexes, URL → name, from the pyproject.toml beside the lock."""
    try:
        document = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    indexes = document.get("tool", {}).get("uv", {}).get("index", [])
    names: dict[str, str] = {}
    for item in cast(list[Any], indexes) if isinstance(indexes, list) else []:
        if isinstance(item, dict) and "name" in item and "url" in item:
            index = cast(dict[str, Any], item)
            names[index_url(str(index["url"]))] = str(index["name"])
    return names
