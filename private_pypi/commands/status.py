"""`status`: give a project a PEP 792 status (active, archived, quarantined, deprecated)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import status as statuses
from .events import Reporter
from .repository import (
    Invalidation,
    Surroundings,
    invalidate_pages,
    open_index,
    require_repository,
)


@dataclass(frozen=True)
class StatusSettings:
    name: str
    status: str
    reason: str | None = None
    repository: str | None = None


@dataclass(frozen=True)
class StatusOutcome:
    project: str
    repository: str
    index_url: str
    before: str
    after: str
    reason: str | None
    # The page keys written; none: the project had that status and reason already.
    pages: tuple[str, ...] = ()
    invalidation: Invalidation | None = None


def status(
    settings: StatusSettings, surroundings: Surroundings, reporter: Reporter
) -> StatusOutcome:
    """Mark the project with the status, on every page of it."""
    # A wrong name is refused before the repository is opened.
    statuses.parse_status(settings.status)
    index = open_index(surroundings, settings.repository, reporter)
    require_repository(index.storage)
    change = statuses.set_status(index, settings.name, settings.status, settings.reason or None)
    return StatusOutcome(
        change.project,
        index.storage.location,
        index.storage.index_url,
        change.before.value,
        change.after.value,
        change.reason,
        change.pages,
        invalidate_pages(surroundings.env, change.pages),
    )
