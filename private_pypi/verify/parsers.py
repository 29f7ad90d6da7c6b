"""Pages as a client reads them: pypi-simple's reading, and stricter checks of our own.

These read what any index serves, so their names say so: pages.py reads back the pages
this package wrote (its own record), these read a page as pip or uv would meet it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from pypi_simple import (
    DistributionPackage,
    IndexPage,
    ProjectPage,
    UnsupportedRepoVersionError,
)

from .. import layout
from ..distributions import parse_filename
from ..errors import InvalidDistribution

SHA256_LENGTH = 64


class UnreadablePage(Exception):
    """A page that pypi-simple, or our stricter reading, cannot accept."""


@dataclass(frozen=True)
class FileClaim:
    """What one page says about one file: what a client will trust when installing it."""

    filename: str
    url: str
    sha256: str | None
    requires_python: str | None
    # None: not yanked; otherwise the reason, "" for none.
    yanked: str | None
    metadata_sha256: str | None
    # Only the JSON page gives sizes, so pages are not compared on it.
    size: int | None = field(default=None, compare=False)

    @classmethod
    def of(cls, package: DistributionPackage) -> FileClaim:
        return cls(
            filename=package.filename,
            url=package.url,
            sha256=package.digests.get("sha256"),
            requires_python=package.requires_python,
            yanked=(package.yanked_reason or "") if package.is_yanked else None,
            metadata_sha256=(package.metadata_digests or {}).get("sha256")
            if package.has_metadata
            else None,
            size=package.size,
        )


Claims = dict[str, FileClaim]


@dataclass(frozen=True)
class ProjectReading:
    """What one page says about a project: its files, and its status (PEP 792), as
    pypi-simple reads them."""

    files: Claims
    # The status marker; "active" where the page gives none, as the spec says.
    status: str = "active"
    status_reason: str | None = None


def project_claims_from_json(name: NormalizedName, directory: str, body: bytes) -> ProjectReading:
    try:
        page = ProjectPage.from_json_data(_json(body), base_url=directory)
    except (ValueError, UnsupportedRepoVersionError) as error:
        raise UnreadablePage(f"not a PEP 691 project page: {_shorten(str(error))}") from None
    if canonicalize_name(page.project) != name:
        raise UnreadablePage(f"the page is for {page.project!r}")
    for package in page.packages:
        if package.size is None:
            raise UnreadablePage(f"{package.filename} has no size (api-version 1.1 gives one)")
    return _reading(directory, page)


def project_claims_from_html(name: NormalizedName, directory: str, body: bytes) -> ProjectReading:
    _check_html(body)
    try:
        page = ProjectPage.from_html(name, body, base_url=directory, from_encoding="utf-8")
    except (ValueError, UnsupportedRepoVersionError) as error:
        raise UnreadablePage(f"not a PEP 503 project page: {_shorten(str(error))}") from None
    if page.repository_version is None:
        raise UnreadablePage("no pypi:repository-version meta tag: not a simple index page")
    return _reading(directory, page)


def _reading(directory: str, page: ProjectPage) -> ProjectReading:
    status = "active" if page.status is None else page.status.value
    claims = _claims(directory, page.packages)
    if claims and status == "quarantined":
        raise UnreadablePage("the project is quarantined, but its page offers files (PEP 792)")
    return ProjectReading(claims, status, page.status_reason)


def root_projects_from_json(body: bytes) -> frozenset[NormalizedName]:
    try:
        page = IndexPage.from_json_data(_json(body))
    except (ValueError, UnsupportedRepoVersionError) as error:
        raise UnreadablePage(f"not a PEP 691 root page: {_shorten(str(error))}") from None
    return _project_names(page)


def root_projects_from_html(body: bytes) -> frozenset[NormalizedName]:
    _check_html(body)
    try:
        page = IndexPage.from_html(body, from_encoding="utf-8")
    except (ValueError, UnsupportedRepoVersionError) as error:
        raise UnreadablePage(f"not a PEP 503 root page: {_shorten(str(error))}") from None
    if page.repository_version is None:
        raise UnreadablePage("no pypi:repository-version meta tag: not a simple index page")
    return _project_names(page)


@dataclass(frozen=True)
class ClientReading:
    """How a client reads the pages of one content type: what it asks for, how it parses."""

    label: str  # how problems name a page of this type: "the JSON page"
    accept: str
    project: Callable[[NormalizedName, str, bytes], ProjectReading]
    root: Callable[[bytes], frozenset[NormalizedName]]


# By a rendering's content type (pages.Rendering.content_type).
READINGS: Mapping[str, ClientReading] = {
    layout.JSON_TYPE: ClientReading(
        "JSON", layout.JSON_TYPE, project_claims_from_json, root_projects_from_json
    ),
    layout.HTML_TYPE: ClientReading(
        "HTML", "text/html", project_claims_from_html, root_projects_from_html
    ),
}


def _project_names(page: IndexPage) -> frozenset[NormalizedName]:
    # Verify builds each project's URL from its name, so a name must be a name.
    try:
        return frozenset(canonicalize_name(project, validate=True) for project in page.projects)
    except InvalidName as error:
        raise UnreadablePage(str(error)) from None


def _json(body: bytes) -> object:
    return json.loads(_utf8(body))  # PEP 691: JSON pages are UTF-8, whatever else it looks like


def _check_html(body: bytes) -> None:
    # An HTML parser accepts anything; names in another encoding would be misread.
    _utf8(body)


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadablePage(f"not UTF-8: {error.reason} at byte {error.start}") from None


def _claims(directory: str, packages: Iterable[DistributionPackage]) -> Claims:
    claims: Claims = {}
    for package in packages:
        claim = FileClaim.of(package)
        if claim.filename in claims:
            raise UnreadablePage(f"{claim.filename} is listed twice")
        try:
            parse_filename(claim.filename)
        except InvalidDistribution as error:
            raise UnreadablePage(f"{_shorten(repr(claim.filename))}: {error.reason}") from None
        # Verify follows no link out of the index, and our pages make none.
        if not _inside(directory, claim):
            raise UnreadablePage(
                f"{claim.filename} links outside its directory: {_shorten(claim.url)}"
            )
        if not _is_sha256(claim.sha256):
            raise UnreadablePage(f"{claim.filename} has no sha256")
        if package.has_metadata and not _is_sha256(claim.metadata_sha256):
            raise UnreadablePage(f"{claim.filename} advertises metadata with no sha256")
        claims[claim.filename] = claim
    return claims


def _inside(directory: str, claim: FileClaim) -> bool:
    """Whether a link is the file in this very directory: same scheme, host and path."""
    link, here = urlsplit(claim.url), urlsplit(directory)
    return (
        (link.scheme, link.netloc) == (here.scheme, here.netloc)
        and not link.query
        and unquote(link.path) == unquote(here.path) + claim.filename
    )


def _is_sha256(value: str | None) -> bool:
    return (
        value is not None
        and len(value) == SHA256_LENGTH
        and all(c in "0123456789abcdef" for c in value.lower())
    )


def _shorten(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
