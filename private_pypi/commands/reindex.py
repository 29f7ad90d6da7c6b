"""`reindex`: rebuild every page from the stored files, the repair path."""

from __future__ import annotations

from dataclasses import dataclass

from ..reindex import Reindexer, ReindexReport
from .events import Began, Reporter, Warned
from .repository import (
    Invalidation,
    Surroundings,
    invalidate_pages,
    open_index,
    require_repository,
)


@dataclass(frozen=True)
class ReindexOutcome:
    repository: str
    index_url: str
    report: ReindexReport
    invalidation: Invalidation | None = None


def reindex(
    repository: str | None, surroundings: Surroundings, reporter: Reporter
) -> ReindexOutcome:
    """Rebuild the pages of an existing repository from what it stores (it lists it)."""
    index = open_index(surroundings, repository, reporter)
    require_repository(index.storage)
    reporter.event(Began(f"reindexing {index.storage.location}"))
    report = Reindexer(index).run()
    for problem in report.problems:
        reporter.event(Warned(problem))
    return ReindexOutcome(
        index.storage.location,
        index.storage.index_url,
        report,
        invalidate_pages(surroundings.env, report.written),
    )
