"""`yank`, `unyank` and `delete`: change one project's releases, all in one update of its
page.

Every version is checked before any is changed: a typo in the third leaves the first two
as they were. Each command's module-level function is what both faces run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .. import releases
from ..contract import NONCURRENT_VERSION_DAYS
from ..errors import PrivatePypiError
from ..index import Index, ProjectSnapshot
from ..pages import ProjectPage
from ..storage import Storage
from .events import Reporter
from .repository import (
    Invalidation,
    Surroundings,
    invalidate_pages,
    local_root,
    open_index,
    require_repository,
)


@dataclass(frozen=True)
class ReleaseSettings:
    name: str
    versions: tuple[str, ...]
    repository: str | None = None


@dataclass(frozen=True)
class VersionChange:
    version: str
    # The files it changed; none: the page was so already.
    files: tuple[str, ...]
    # What it finished of an interrupted run: the HTML copies it brought in line with the
    # JSON, and the stored objects of deleted files it removed.
    repaired: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return bool(self.repaired or self.removed)


@dataclass(frozen=True)
class ReleaseOutcome:
    action: str  # "yank", "unyank" or "delete"
    project: str
    repository: str
    index_url: str
    changes: tuple[VersionChange, ...]
    pages: tuple[str, ...] = ()
    invalidation: Invalidation | None = None
    reason: str | None = None  # a yank's
    recovery: str | None = None  # a delete's: how, and whether, its files come back


@dataclass(frozen=True)
class DeletePlan:
    """What a delete is about to do, for the face to ask about."""

    project: str
    versions: tuple[str, ...]
    repository: str
    recovery: str


class NothingDeleted(PrivatePypiError):
    """The delete was not confirmed."""


# The releases of one project, and its page as just read.
Change = Callable[[Index, list[releases.Release], ProjectSnapshot], list[releases.ReleaseChange]]


def yank(
    settings: ReleaseSettings, surroundings: Surroundings, reporter: Reporter, reason: str = ""
) -> ReleaseOutcome:
    """Yank each version (PEP 592): installers skip it unless it is pinned with ==."""
    outcome = _change(
        "yank",
        settings,
        surroundings,
        reporter,
        lambda index, planned, read: releases.yank_all(index, planned, reason, read=read),
    )
    return replace(outcome, reason=reason)


def unyank(
    settings: ReleaseSettings, surroundings: Surroundings, reporter: Reporter
) -> ReleaseOutcome:
    """Undo a yank of each version."""
    return _change("unyank", settings, surroundings, reporter, releases.unyank_all)


def delete(
    settings: ReleaseSettings,
    surroundings: Surroundings,
    reporter: Reporter,
    confirm: Callable[[DeletePlan], bool],
) -> ReleaseOutcome:
    """Delete each version's files and take them off the pages, once `confirm` says yes."""

    def confirmed(index: Index, planned: list[releases.Release]) -> None:
        plan = DeletePlan(
            str(planned[0].project),
            tuple(str(release.version) for release in planned),
            index.storage.location,
            recovery(index.storage),
        )
        if not confirm(plan):
            raise NothingDeleted("nothing deleted")

    return _change(
        "delete", settings, surroundings, reporter, releases.delete_all, before=confirmed
    )


def recovery(storage: Storage) -> str:
    """Whether and how deleted files come back, as is true of this repository."""
    if local_root(storage) is not None:
        return "a local directory keeps no old versions: the deleted files are gone for good"
    return (
        "the bucket keeps deleted files as old object versions if versioning is on (the "
        f"stack's bucket keeps them {NONCURRENT_VERSION_DAYS} days): see 'Recovering a "
        "deleted file' in docs/how-to/yank-and-delete.md"
    )


def _change(
    action: str,
    settings: ReleaseSettings,
    surroundings: Surroundings,
    reporter: Reporter,
    change: Change,
    *,
    before: Callable[[Index, list[releases.Release]], None] | None = None,
) -> ReleaseOutcome:
    # A version given twice is one release.
    planned = list(
        dict.fromkeys(releases.Release.parse(settings.name, v) for v in settings.versions)
    )
    index = open_index(surroundings, settings.repository, reporter)
    require_repository(index.storage)
    read = index.snapshot(planned[0].project)
    _require_published(index, planned, read.record, deleted_too=action == "delete")
    if before:
        before(index, planned)
    changes: list[VersionChange] = []
    pages: list[str] = []
    for release, done in zip(planned, change(index, planned, read), strict=True):
        filenames = tuple(entry.filename for entry in done.files)
        changes.append(VersionChange(str(release.version), filenames, done.repaired, done.removed))
        pages.extend(done.pages)
    return ReleaseOutcome(
        action,
        str(planned[0].project),
        index.storage.location,
        index.storage.index_url,
        tuple(changes),
        tuple(pages),
        invalidate_pages(surroundings.env, pages),
        recovery=recovery(index.storage) if action == "delete" else None,
    )


def _require_published(
    index: Index,
    planned: list[releases.Release],
    page: ProjectPage | None,
    *,
    deleted_too: bool,
) -> None:
    """Refuse the lot if any version is not on the page (nor, `deleted_too`, deleted from
    it: a delete run again finishes an interrupted one)."""

    def there(release: releases.Release) -> bool:
        if page is None:
            return False
        return bool(page.files_of(release.version)) or (
            deleted_too and bool(page.deleted_of(release.version))
        )

    missing = [release for release in planned if not there(release)]
    if missing:
        known = ", ".join(page.versions) if page and page.versions else "none"
        raise releases.ReleaseNotFound(
            f"{_releases(missing)} {'is' if len(missing) == 1 else 'are'} not in "
            f"{index.storage.location} (versions there: {known}); nothing was changed"
        )


def _releases(planned: list[releases.Release]) -> str:
    return f"{planned[0].project} {', '.join(str(release.version) for release in planned)}"
