"""The index pages: PEP 503 HTML and PEP 691 JSON, rendered from one model, and the
browse pages for people rendered from the same model.

The JSON page of a project is also the repository's record of it: publishing reads it,
changes it and writes it back with a conditional write, then renders the HTML twin and
the browse page from it. So HTML, JSON and the browse page always agree, and the record
is as readable as any other page. The catalog (project/index.json) is the record of the
browse root page: each project's line, as its own record last gave it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
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

from . import layout
from .details import ReleaseDetails
from .distributions import file_identity
from .layout import CATALOG_TYPE, HTML_TYPE, JSON_TYPE

# PEP 700 (api 1.1) adds versions, size and upload-time; PEP 792 (api 1.4) the project
# status; PEP 629 puts the version in HTML. 1.2 and 1.3 add only keys a client may omit.
API_VERSION = "1.4"


class ProjectStatus(enum.StrEnum):
    """A project's status marker (PEP 792, the PyPA spec "Project Status Markers")."""

    ACTIVE = "active"
    ARCHIVED = "archived"
    QUARANTINED = "quarantined"
    DEPRECATED = "deprecated"

    @property
    def accepts_uploads(self) -> bool:
        """archived and quarantined: the index MUST NOT allow uploads."""
        return self in (ProjectStatus.ACTIVE, ProjectStatus.DEPRECATED)

    @property
    def offers_files(self) -> bool:
        """quarantined: the index MUST NOT offer any distribution for download."""
        return self is not ProjectStatus.QUARANTINED


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
    # The release's details as just read from the file, when it was: never stored with
    # the entry (the page keeps those of one release, `ProjectPage.about`).
    details: ReleaseDetails | None = field(default=None, compare=False, repr=False)

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
    status: ProjectStatus = ProjectStatus.ACTIVE
    status_reason: str | None = None
    # The details of the release the browse pages show (`shown_version`), or None.
    about: ReleaseDetails | None = None
    # Counts the record's changes, so the catalog keeps a project's newest line when
    # writers of its page race to update it.
    serial: int = 0
    # The browse pages' stylesheet and script this record's writers have stored.
    assets: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", tuple(sorted(self.files, key=_file_order)))

    @property
    def versions(self) -> list[str]:
        return sorted({entry.version for entry in self.files}, key=Version)

    @property
    def offered_files(self) -> tuple[FileEntry, ...]:
        """The files the pages link: none while the project is quarantined; they stay
        stored and on the record, so lifting the quarantine offers them again."""
        return self.files if self.status.offers_files else ()

    @property
    def shown_version(self) -> Version | None:
        """The release the pages show first (see `shown_version`); None while the pages
        offer no file."""
        return shown_version(
            (Version(entry.version), entry.yanked is not None) for entry in self.offered_files
        )

    @property
    def line(self) -> ProjectLine:
        """What the browse root page says of the project."""
        shown = self.shown_version
        return ProjectLine(
            None if shown is None else str(shown),
            self.about.summary if self.about else "",
            self.status,
        )

    def with_status(self, status: ProjectStatus, reason: str | None) -> ProjectPage:
        return replace(self, status=status, status_reason=reason or None)

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


def shown_version(releases: Iterable[tuple[Version, bool]]) -> Version | None:
    """The release a person is shown first, of (version, yanked) pairs, as PyPI picks it:
    the newest one not yanked, a final release before any pre-release; the newest of all
    if every one is yanked."""
    versions: set[Version] = set()
    live: set[Version] = set()
    for version, yanked in releases:
        versions.add(version)
        if not yanked:
            live.add(version)
    candidates = live or versions
    finals = {version for version in candidates if not version.is_prerelease}
    return max(finals or candidates, default=None)


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
    links = "\n".join(_html_link(entry) for entry in page.offered_files)
    title = escape(page.name)
    return _html_document(f"Links for {title}", links, _status_meta(page))


def _status_meta(page: ProjectPage) -> str:
    """PEP 792's meta tags: the status always, its reason when there is one."""
    tags = f'    <meta name="pypi:project-status" content="{page.status}">\n'
    if page.status_reason is not None:
        reason = escape(page.status_reason)
        tags += f'    <meta name="pypi:project-status-reason" content="{reason}">\n'
    return tags


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
    status: dict[str, str] = {"status": page.status}
    if page.status_reason is not None:
        status["reason"] = page.status_reason
    document: dict[str, Any] = {
        "meta": {"api-version": API_VERSION},
        "name": page.name,
        "project-status": status,
        # As PEP 792's example of a quarantined project: its versions, none of its files.
        "versions": page.versions,
        "files": [_json_file(entry) for entry in page.offered_files],
    }
    # PEP 691 reserves keys with a leading underscore for the index server.
    if not page.status.offers_files:
        document["_quarantined-files"] = [_json_file(entry) for entry in page.files]
    if page.deleted:
        document["_deleted"] = sorted(page.deleted)
    if page.about is not None:
        document["_about"] = page.about.to_json()
    document["_serial"] = page.serial
    if page.assets:
        document["_assets"] = page.assets
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
        files = document["files"] + document.get("_quarantined-files", [])
        deleted = frozenset(str(filename) for filename in document.get("_deleted", ()))
        status = document.get("project-status", {})
        about = document.get("_about")
        return ProjectPage(
            name,
            tuple({item["filename"]: _parse_file(item) for item in files}.values()),
            deleted,
            ProjectStatus(status.get("status", ProjectStatus.ACTIVE)),
            _optional_text(status.get("reason")),
            None if about is None else ReleaseDetails.from_json(about),
            int(document.get("_serial", 0)),
            str(document.get("_assets", "")),
        )
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        InvalidVersion,
        InvalidWheelFilename,
        InvalidSdistFilename,
    ) as error:
        raise InvalidPage(f"not a project page: {error}") from error


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


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


# --- the catalog: the browse root page's record --------------------------------------


@dataclass(frozen=True)
class ProjectLine:
    """A project as the browse root page lists it."""

    version: str | None  # the shown release's; None while no release is on the page
    summary: str
    status: ProjectStatus


@dataclass(frozen=True)
class CatalogEntry:
    line: ProjectLine
    # The serial of the project record the line came from: an older one never replaces it.
    serial: int


@dataclass(frozen=True)
class Catalog:
    """Every project whose pages are written, with its line: what the browse root shows."""

    projects: Mapping[NormalizedName, CatalogEntry] = field(
        default_factory=dict[NormalizedName, CatalogEntry]
    )
    assets: str = ""

    def with_line(self, name: NormalizedName, page: ProjectPage) -> Catalog:
        """The catalog with the project's line from `page`, unless it has a newer one."""
        known = self.projects.get(name)
        if known is not None and known.serial > page.serial:
            return self
        entry = CatalogEntry(page.line, page.serial)
        return replace(self, projects={**self.projects, name: entry})

    def lags(self, name: NormalizedName, page: ProjectPage) -> bool:
        """Whether the project's line is older than `page` says it is."""
        known = self.projects.get(name)
        return known is None or (known.serial <= page.serial and known.line != page.line)


def render_catalog(catalog: Catalog) -> bytes:
    projects = [
        {
            "name": name,
            "version": entry.line.version,
            "summary": entry.line.summary,
            "status": entry.line.status,
            "serial": entry.serial,
        }
        for name, entry in sorted(catalog.projects.items())
    ]
    # Compact, unlike the pages pip reads: a line per project of a repository of 10,000
    # is a megabyte that every release rewrites, and json's C encoder, which writes it in
    # a fifth of the time, takes no indent.
    document = {"projects": projects, "assets": catalog.assets}
    return (json.dumps(document, separators=(",", ":")) + "\n").encode()


def parse_catalog(body: bytes) -> Catalog:
    try:
        document = json.loads(body)
        projects = {
            canonicalize_name(item["name"], validate=True): CatalogEntry(
                ProjectLine(
                    _optional_text(item["version"]),
                    str(item["summary"]),
                    ProjectStatus(item["status"]),
                ),
                int(item["serial"]),
            )
            for item in document["projects"]
        }
        return Catalog(projects, str(document.get("assets", "")))
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidPage(f"not a catalog: {error}") from error


# --- shared -------------------------------------------------------------------------


def _html_document(title: str, body: str, meta: str = "") -> bytes:
    return (
        "<!DOCTYPE html>\n"
        "<html>\n"
        "  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"{meta}"
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
    """One form of a page, stored under a name in the page's directory, or (a browse
    page) where `located` puts it."""

    name: str  # "index.json", "index.html", or "" for the directory's own key
    content_type: str
    render: Callable[[Record], bytes]
    # Stored only where the storage serves a directory's own key, as the S3 REST endpoint
    # does when pip asks for /simple/NAME/.
    directory_key: bool = False
    # A page for people, not clients: verify reads it as a browser shows it.
    browse: bool = False
    located: Callable[[str], str] | None = None

    def key(self, directory: str) -> str:
        return self.located(directory) if self.located else directory + self.name


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


def render_project_browse(page: ProjectPage) -> bytes:
    # Imported here: rendering descriptions needs readme_renderer, which no page for pip
    # and no `--help` needs.
    from .browse.render import render_project_page

    return render_project_page(page)


def prepare_browse_rendering(details: Sequence[ReleaseDetails]) -> None:
    """Import what rendering these descriptions takes (readme_renderer, and docutils for
    reStructuredText: about 150 ms), for a writer to do while its first requests are in
    flight, rather than between two round trips when its first browse page is rendered."""
    from .browse.readme import prepare

    for each in details:
        prepare(each)


def render_root_browse(catalog: Catalog) -> bytes:
    from .browse.render import render_root_page

    return render_root_page(catalog)


PROJECT_PAGE: PageFormat[ProjectPage] = PageFormat(
    parse_project_json,
    Rendering("index.json", JSON_TYPE, render_project_json),
    (
        *_html_copies(render_project_html),
        Rendering(
            "index.html",
            HTML_TYPE,
            render_project_browse,
            browse=True,
            located=lambda directory: layout.browse_project_key(
                layout.project_of_directory(directory)
            ),
        ),
    ),
)
CATALOG_PAGE: PageFormat[Catalog] = PageFormat(
    parse_catalog,
    Rendering("index.json", CATALOG_TYPE, render_catalog),
    (
        Rendering(
            "index.html",
            HTML_TYPE,
            render_root_browse,
            browse=True,
            located=lambda _: layout.BROWSE_ROOT,
        ),
    ),
)
ROOT_PAGE: PageFormat[frozenset[NormalizedName]] = PageFormat(
    parse_root_json,
    Rendering("index.json", JSON_TYPE, render_root_json),
    _html_copies(render_root_html),
)
