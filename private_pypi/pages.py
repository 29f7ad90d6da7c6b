"""The index pages: PEP 503 HTML and PEP 691 JSON, rendered from one model.

The JSON page of a project is also the repository's record of it: publishing reads it,
changes it and writes it back with a conditional write, then renders the HTML twin from
it. So HTML and JSON always agree, and the record is as readable as any other page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import escape
from typing import Any, Generic, TypeVar, cast
from urllib.parse import quote

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
)
from packaging.version import InvalidVersion, Version

from .distributions import file_identity
from .layout import HTML_TYPE, JSON_TYPE

# PEP 700 (api 1.1) adds versions, size and upload-time; PEP 629 puts the version in HTML.
API_VERSION = "1.1"


class InvalidPage(ValueError):
    """A stored page cannot be read as a PEP 691 page; reindex rebuilds it."""


@dataclass(frozen=True)
class FileEntry:
    """One distribution file as the index describes it."""

    filename: str
    version: str
    size: int
    sha256: str
    upload_time: datetime
    requires_python: str | None = None
    metadata_sha256: str | None = None
    # None: not yanked. "": yanked without a reason. Otherwise the reason (PEP 592).
    yanked: str | None = None
    # The storage ETags of the file and its metadata file when they were indexed:
    # reindex trusts this entry only while the stored objects still have them.
    etag: str = ""
    metadata_etag: str = ""

    def yank(self, reason: str) -> FileEntry:
        return replace(self, yanked=reason)

    def unyank(self) -> FileEntry:
        return replace(self, yanked=None)


@dataclass(frozen=True)
class ProjectPage:
    name: NormalizedName
    files: tuple[FileEntry, ...] = ()
    # Tombstones: the names of deleted files. Their releases are never indexed again (their
    # names are never reused, as on PyPI), so a publish or reindex racing a delete cannot
    # bring a deleted release back, in whole or in part.
    deleted: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", tuple(sorted(self.files, key=_file_order)))

    @property
    def versions(self) -> list[str]:
        return sorted({entry.version for entry in self.files}, key=Version)

    def file(self, filename: str) -> FileEntry | None:
        return next((entry for entry in self.files if entry.filename == filename), None)

    def with_file(self, entry: FileEntry) -> ProjectPage:
        others = (existing for existing in self.files if existing.filename != entry.filename)
        return replace(self, files=(*others, entry))

    def without_version(self, version: Version) -> ProjectPage:
        """The page with the version's files deleted: off the page, and tombstoned."""
        gone = self.files_of(version)
        kept = tuple(e for e in self.files if Version(e.version) != version)
        return replace(self, files=kept, deleted=self.deleted | {e.filename for e in gone})

    def is_deleted(self, filename: str) -> bool:
        """Whether the file, or any file of its release, was deleted."""
        if filename in self.deleted:
            return True
        version = _version_of(filename)
        return version is not None and version in {_version_of(name) for name in self.deleted}

    def with_tombstone(self, filename: str) -> ProjectPage:
        """The page with the file deleted as well, as if it had been there at the delete."""
        files = tuple(entry for entry in self.files if entry.filename != filename)
        return replace(self, files=files, deleted=self.deleted | {filename})

    def files_of(self, version: Version) -> list[FileEntry]:
        return [entry for entry in self.files if Version(entry.version) == version]

    def deleted_of(self, version: Version) -> list[str]:
        """The names of the version's deleted files: its tombstones."""
        return sorted(name for name in self.deleted if _version_of(name) == version)


def _version_of(filename: str) -> Version | None:
    try:
        return file_identity(filename).version
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def _file_order(entry: FileEntry) -> tuple[Version, str]:
    return (Version(entry.version), entry.filename)


def format_time(moment: datetime) -> str:
    """PEP 700's upload-time: ISO 8601 in UTC with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# --- project pages ------------------------------------------------------------------


def render_project_html(page: ProjectPage) -> bytes:
    links = "\n".join(_html_link(entry) for entry in page.files)
    title = escape(page.name)
    return _html_document(f"Links for {title}", links)


def _html_link(entry: FileEntry) -> str:
    attributes = [f'href="{escape(quote(entry.filename))}#sha256={entry.sha256}"']
    if entry.requires_python:
        attributes.append(f'data-requires-python="{escape(entry.requires_python)}"')
    if entry.metadata_sha256:
        # PEP 714 renamed the attribute; older pip only knows the PEP 658 name.
        value = f"sha256={entry.metadata_sha256}"
        attributes.append(f'data-dist-info-metadata="{value}"')
        attributes.append(f'data-core-metadata="{value}"')
    if entry.yanked is not None:
        attributes.append(f'data-yanked="{escape(entry.yanked)}"')
    return f"    <a {' '.join(attributes)}>{escape(entry.filename)}</a><br>"


def render_project_json(page: ProjectPage) -> bytes:
    document = {
        "meta": {"api-version": API_VERSION},
        "name": page.name,
        "versions": page.versions,
        "files": [_json_file(entry) for entry in page.files],
    }
    if page.deleted:
        document["_deleted"] = sorted(page.deleted)
    return _json_document(document)


def _json_file(entry: FileEntry) -> dict[str, Any]:
    metadata: dict[str, str] | bool = (
        {"sha256": entry.metadata_sha256} if entry.metadata_sha256 else False
    )
    yanked: str | bool = False if entry.yanked is None else (entry.yanked or True)
    return {
        "filename": entry.filename,
        "url": quote(entry.filename),
        "hashes": {"sha256": entry.sha256},
        "requires-python": entry.requires_python,
        "core-metadata": metadata,
        "dist-info-metadata": metadata,
        "yanked": yanked,
        "size": entry.size,
        "upload-time": format_time(entry.upload_time),
        # PEP 691 reserves keys with a leading underscore for the index server.
        "_etag": entry.etag,
        "_metadata-etag": entry.metadata_etag,
    }


def parse_project_json(body: bytes) -> ProjectPage:
    """Read back a project page this package rendered."""
    try:
        document = json.loads(body)
        name = canonicalize_name(document["name"], validate=True)
        files = tuple(_parse_file(item) for item in document["files"])
        deleted = frozenset(str(filename) for filename in document.get("_deleted", ()))
    except (
        ValueError,
        KeyError,
        TypeError,
        InvalidVersion,
        InvalidWheelFilename,
        InvalidSdistFilename,
    ) as error:
        raise InvalidPage(f"not a project page: {error}") from error
    return ProjectPage(name, files, deleted)


def _parse_file(item: dict[str, Any]) -> FileEntry:
    yanked = item.get("yanked", False)
    return FileEntry(
        filename=item["filename"],
        version=str(file_identity(item["filename"]).version),
        size=int(item["size"]),
        sha256=item["hashes"]["sha256"],
        upload_time=_parse_time(item["upload-time"]),
        requires_python=item.get("requires-python"),
        metadata_sha256=_metadata_sha256(item.get("core-metadata")),
        yanked=None if yanked is False else ("" if yanked is True else str(yanked)),
        etag=item.get("_etag", ""),
        metadata_etag=item.get("_metadata-etag", ""),
    )


def _metadata_sha256(core_metadata: object) -> str | None:
    """PEP 714's core-metadata: False, or the metadata file's hashes."""
    if not isinstance(core_metadata, dict):
        return None
    digest = cast(dict[str, object], core_metadata).get("sha256")
    return None if digest is None else str(digest)


# --- the root page ------------------------------------------------------------------


def render_root_html(projects: Iterable[NormalizedName]) -> bytes:
    links = "\n".join(
        f'    <a href="{escape(name)}/">{escape(name)}</a><br>' for name in sorted(projects)
    )
    return _html_document("Simple index", links)


def render_root_json(projects: Iterable[NormalizedName]) -> bytes:
    document = {
        "meta": {"api-version": API_VERSION},
        "projects": [{"name": name} for name in sorted(projects)],
    }
    return _json_document(document)


def parse_root_json(body: bytes) -> frozenset[NormalizedName]:
    try:
        document = json.loads(body)
        return frozenset(
            canonicalize_name(item["name"], validate=True) for item in document["projects"]
        )
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidPage(f"not a root page: {error}") from error


# --- shared -------------------------------------------------------------------------


def _html_document(title: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html>\n"
        "<html>\n"
        "  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{title}</title>\n"
        "  </head>\n"
        "  <body>\n"
        f"    <h1>{title}</h1>\n"
        f"{body}\n"
        "  </body>\n"
        "</html>\n"
    ).encode()


def _json_document(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=1) + "\n").encode()


# --- renderings: every form a page is stored and served in --------------------------

Record = TypeVar("Record")


@dataclass(frozen=True)
class Rendering(Generic[Record]):
    """One form of a page, stored under a name in the page's directory."""

    name: str  # "index.json", "index.html", or "" for the directory's own key
    content_type: str
    render: Callable[[Record], bytes]
    # Stored only where the storage serves a directory's own key, as the S3 REST endpoint
    # does when pip asks for /simple/NAME/.
    directory_key: bool = False

    def key(self, directory: str) -> str:
        return directory + self.name


@dataclass(frozen=True)
class PageFormat(Generic[Record]):
    """How a page is read and written: its JSON record, and the copies rendered from it.

    Publish, reindex and verify all go through `renderings_on` or `copies_on`: a new way
    to serve a page is one more Rendering here.
    """

    parse: Callable[[bytes], Record]
    record: Rendering[Record]
    copies: tuple[Rendering[Record], ...]

    def copies_on(self, *, directory_keys: bool) -> tuple[Rendering[Record], ...]:
        return tuple(copy for copy in self.copies if directory_keys or not copy.directory_key)

    def renderings_on(self, *, directory_keys: bool) -> tuple[Rendering[Record], ...]:
        return (self.record, *self.copies_on(directory_keys=directory_keys))

    def copy_keys(self, directory: str, *, directory_keys: bool) -> tuple[str, ...]:
        """Where the page's copies are stored, for a page in `directory`."""
        return tuple(copy.key(directory) for copy in self.copies_on(directory_keys=directory_keys))


def _html_copies(render: Callable[[Record], bytes]) -> tuple[Rendering[Record], ...]:
    return (
        Rendering("index.html", HTML_TYPE, render),
        Rendering("", HTML_TYPE, render, directory_key=True),
    )


PROJECT_PAGE: PageFormat[ProjectPage] = PageFormat(
    parse_project_json,
    Rendering("index.json", JSON_TYPE, render_project_json),
    _html_copies(render_project_html),
)
ROOT_PAGE: PageFormat[frozenset[NormalizedName]] = PageFormat(
    parse_root_json,
    Rendering("index.json", JSON_TYPE, render_root_json),
    _html_copies(render_root_html),
)
