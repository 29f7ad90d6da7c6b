"""What only a listing of the repository shows: what is stored that no page reflects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.utils import NormalizedName, canonicalize_name

from .. import layout
from ..storage import Storage
from .report import Problem, ProblemKind

# filename -> yanked (None, or the reason), as a project's page shows its files.
PageRecord = dict[str, str | None]


@dataclass
class StoredProject:
    """A project directory as listed: its distribution files and its yank markers."""

    files: set[str] = field(default_factory=set[str])
    yanked: set[str] = field(default_factory=set[str])
    # Keys in a subdirectory of the project's: no page links them, reindex neither.
    misplaced: set[str] = field(default_factory=set[str])


def list_projects(storage: Storage) -> dict[str, StoredProject]:
    """Every directory under `simple/`, by name as stored (normalized or not)."""
    projects: dict[str, StoredProject] = {}
    for info in storage.list(layout.INDEX_PREFIX):
        directory, slash, name = info.key.removeprefix(layout.INDEX_PREFIX).partition("/")
        if not slash:
            continue  # a root page
        project = projects.setdefault(directory, StoredProject())
        if "/" in name:
            project.misplaced.add(name)
        elif name.endswith(layout.DISTRIBUTION_SUFFIXES):
            project.files.add(name)
        elif name.endswith(layout.YANK_SUFFIX):
            project.yanked.add(name.removesuffix(layout.YANK_SUFFIX))
    return projects


def compare_listing(
    storage: Storage,
    stored: Mapping[str, StoredProject],
    listed: frozenset[NormalizedName],
    records: Mapping[NormalizedName, PageRecord | None],
    quarantined: frozenset[NormalizedName] = frozenset(),
) -> list[Problem]:
    """What the listing holds that the pages do not show: a quarantined project's pages
    show none of its stored files, by design (PEP 792)."""
    problems: list[Problem] = []

    def problem(kind: ProblemKind, key: str, detail: str) -> None:
        problems.append(Problem(kind, f"{storage.location}/{key}", detail))

    for directory, project in stored.items():
        name = canonicalize_name(directory)
        if not layout.is_project_name(directory):
            problem(
                ProblemKind.DIRECTORY_NOT_NORMALIZED,
                f"{layout.INDEX_PREFIX}{directory}/",
                "not a project name, so pip never asks for it: move its files to "
                "their project's directory and reindex",
            )
            continue
        for nested in sorted(project.misplaced):
            problem(
                ProblemKind.FILE_MISPLACED,
                f"{layout.INDEX_PREFIX}{directory}/{nested}",
                f"not directly in {layout.project_dir(name)}, so no page links it: "
                "move it there (or delete it) and reindex",
            )
        if name != directory:
            problem(
                ProblemKind.DIRECTORY_NOT_NORMALIZED,
                f"{layout.INDEX_PREFIX}{directory}/",
                f"pip looks in {layout.project_dir(name)}: move the files there and reindex",
            )
            continue
        if name not in listed:
            problem(
                ProblemKind.PROJECT_NOT_LISTED,
                layout.project_dir(name),
                "stored, but the root page does not list it",
            )
        record = records.get(name)
        if record is None or name in quarantined:
            continue  # its page is unreadable (reported already), or offers no file
        for filename in sorted(project.files - record.keys()):
            problem(
                ProblemKind.FILE_NOT_INDEXED,
                layout.file_key(name, filename),
                "stored, but its project page does not link it",
            )
        for filename in sorted(project.files & record.keys()):
            marked, shown = filename in project.yanked, record[filename] is not None
            if marked != shown:
                problem(
                    ProblemKind.YANK_MISMATCH,
                    layout.yank_key(name, filename),
                    "a yank marker is stored but the page does not show the yank"
                    if marked
                    else "the page shows a yank that no marker records (reindex unyanks it)",
                )
    return problems
