"""The browse pages, read as a browser gets them and held to what the client pages say.

A project's browse page must link exactly the files its JSON page offers, each to the
file's own URL and with its sha256, mark the same yanks, and show the same PEP 792
status. The root browse page must list each project whose browse page is written, with
the release and status its pages give. Both must find their stylesheet and script.
"""

from __future__ import annotations

from collections.abc import Mapping
from html.parser import HTMLParser
from urllib.parse import urljoin

from packaging.utils import NormalizedName
from packaging.version import Version

from .. import layout
from ..contract import INDEX_PREFIX
from ..distributions import parse_filename
from ..errors import InvalidDistribution
from ..pages import shown_version
from .parsers import ProjectReading
from .report import Problem, ProblemKind


class BrowsePage(HTMLParser):
    """What a browse page shows, as its markup says it."""

    def __init__(self) -> None:
        super().__init__()
        self.status: str | None = None
        # href -> (sha256, yank reason or None), for each file link.
        self.files: dict[str, tuple[str, str | None]] = {}
        # name -> (version, status), for each project the root page lists.
        self.projects: dict[str, tuple[str, str]] = {}
        # The stylesheet's and the script's hrefs.
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "main" and "data-status" in attributes:
            self.status = attributes["data-status"]
        elif tag == "a" and "data-sha256" in attributes:
            yanked = attributes.get("data-yanked") if "data-yanked" in attributes else None
            self.files[attributes.get("href", "")] = (attributes["data-sha256"], yanked)
        elif tag == "li" and "data-project" in attributes:
            line = (attributes.get("data-version", ""), attributes.get("data-status", ""))
            self.projects[attributes["data-project"]] = line
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.assets.append(attributes.get("href", ""))
        elif tag == "script" and "src" in attributes:
            self.assets.append(attributes["src"])


def browse_root(index_url: str) -> str | None:
    """Where the browse pages are: beside simple/; None for an index at another path."""
    if not index_url.endswith(INDEX_PREFIX):
        return None
    return index_url.removesuffix(INDEX_PREFIX)


def project_browse_url(root: str, name: NormalizedName) -> str:
    return root + layout.browse_project_key(name)


def read_browse_page(url: str, body: bytes, problems: list[Problem]) -> BrowsePage | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        problems.append(Problem(ProblemKind.PAGE_INVALID, url, f"not UTF-8: {error.reason}"))
        return None
    page = BrowsePage()
    page.feed(text)
    page.close()
    return page


def check_project_page(url: str, page: BrowsePage, reading: ProjectReading) -> list[Problem]:
    """Where a project's browse page says something other than its JSON page."""
    problems: list[Problem] = []

    def disagree(detail: str) -> None:
        problems.append(Problem(ProblemKind.PAGES_DISAGREE, url, detail))

    if page.status != reading.status:
        disagree(f"shows status {page.status!r}, the JSON page {reading.status!r}")
    linked = {urljoin(url, href): mark for href, mark in page.files.items()}
    offered = {claim.url: claim for claim in reading.files.values()}
    for file_url in sorted(linked.keys() - offered.keys()):
        disagree(f"links {file_url}, which the JSON page does not offer")
    for file_url in sorted(offered.keys() - linked.keys()):
        disagree(f"does not link {offered[file_url].filename}, which the JSON page offers")
    for file_url in sorted(linked.keys() & offered.keys()):
        (sha256, yanked), claim = linked[file_url], offered[file_url]
        if sha256 != claim.sha256:
            disagree(f"{claim.filename}: sha256 {sha256}, the JSON page says {claim.sha256}")
        if yanked != claim.yanked:
            disagree(f"{claim.filename}: yanked {yanked!r}, the JSON page says {claim.yanked!r}")
    return problems


def check_root_page(
    url: str,
    page: BrowsePage,
    readings: Mapping[NormalizedName, ProjectReading | None],
    written: set[NormalizedName],
) -> list[Problem]:
    """Where the root browse page lists a project other than its pages say: `readings`
    are the projects' JSON pages (None: unreadable, reported already), `written` the
    projects whose browse page is there."""
    problems: list[Problem] = []

    def disagree(detail: str) -> None:
        problems.append(Problem(ProblemKind.PAGES_DISAGREE, url, detail))

    for name in sorted(written - page.projects.keys()):
        disagree(f"does not list {name}, whose browse page is there")
    for name, (version, status) in sorted(page.projects.items()):
        if NormalizedName(name) not in readings:
            disagree(f"lists {name}, which the simple index does not")
            continue
        reading = readings[NormalizedName(name)]
        if reading is None:
            continue
        shown = _shown(reading)
        if (version, status) != (shown, reading.status):
            disagree(
                f"lists {name} at {version or 'no release'} ({status}); its pages say "
                f"{shown or 'no release'} ({reading.status})"
            )
    return problems


def _shown(reading: ProjectReading) -> str:
    releases: list[tuple[Version, bool]] = []
    for claim in reading.files.values():
        try:
            _, _, version = parse_filename(claim.filename)
        except InvalidDistribution:
            continue
        releases.append((version, claim.yanked is not None))
    shown = shown_version(releases)
    return "" if shown is None else str(shown)
