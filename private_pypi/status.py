"""Project status markers (PEP 792): `status NAME STATUS [--reason TEXT]`, and what a
status means for uploads.

The status is on the project's record, so the pages carry it as they carry yanks: the
JSON page's `project-status`, the HTML's `pypi:project-status` and
`pypi:project-status-reason` meta tags, and the browse pages. `archived` and
`quarantined` projects take no new uploads; a `quarantined` project's pages offer no
file (the files stay stored, so the quarantine can be lifted); `deprecated` behaves as
`active`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.utils import InvalidName, NormalizedName, canonicalize_name

from .advice import Command, Part
from .distributions import Distribution
from .errors import PrivatePypiError
from .index import Index
from .pages import ProjectPage, ProjectStatus

STATUSES = ", ".join(status.value for status in ProjectStatus)
# A reason is a line for people (and a meta tag's content), not a document.
REASON_LIMIT = 500


class InvalidStatus(PrivatePypiError):
    """A status name or reason that PEP 792 has no place for."""


class ProjectNotFound(PrivatePypiError):
    """No project of that name in the index."""


class UploadRefused(PrivatePypiError):
    """The project's status takes no new uploads."""


@dataclass(frozen=True)
class StatusChange:
    """What `set_status` did: the project's status before and after, and the page keys it
    wrote (none: it had that status and reason already), what a CDN must drop."""

    project: NormalizedName
    before: ProjectStatus
    after: ProjectStatus
    reason: str | None
    pages: tuple[str, ...] = ()


def parse_status(name: str) -> ProjectStatus:
    try:
        return ProjectStatus(name.strip().lower())
    except ValueError:
        raise InvalidStatus(
            f"{name!r} is not a project status: use one of {STATUSES} (PEP 792)"
        ) from None


def set_status(index: Index, name: str, status: str, reason: str | None = None) -> StatusChange:
    """Give the project `status` (and `reason`, or none), on every page of it."""
    marker = parse_status(status)
    if reason is not None and ("\n" in reason or "\r" in reason or len(reason) > REASON_LIMIT):
        raise InvalidStatus(f"the reason must be one line of at most {REASON_LIMIT} characters")
    try:
        project = canonicalize_name(name, validate=True)
    except InvalidName:
        raise ProjectNotFound(f"{name!r} is not a project name") from None
    page = index.project(project)
    if page is None:
        raise ProjectNotFound(f"no project {project} in {index.storage.location}")
    reason = reason or None
    if (page.status, page.status_reason) == (marker, reason):
        return StatusChange(project, page.status, marker, reason)

    def change(current: ProjectPage | None) -> ProjectPage:
        return (current or ProjectPage(project)).with_status(marker, reason)

    update = index.update_project(project, change)
    return StatusChange(project, page.status, marker, reason, update.written)


def refuse_closed_projects(
    pages: Mapping[NormalizedName, ProjectPage | None],
    distributions: Sequence[Distribution],
) -> None:
    """Refuse, in one line each, new files for a project whose status takes none; files
    it has already (a publish run again) are no new upload."""
    problems: list[Part] = []
    for name, page in sorted(pages.items()):
        if page is None or page.status.accepts_uploads:
            continue
        new = [d for d in distributions if d.project == name and page.file(d.filename) is None]
        if new:
            reason = f" ({page.status_reason})" if page.status_reason else ""
            problems += [
                "\n" if problems else "",
                f"{name} is {page.status}{reason}: it takes no new uploads; ",
                Command(f"status {name} active"),
                " lifts that",
            ]
    if problems:
        raise UploadRefused(*problems)
