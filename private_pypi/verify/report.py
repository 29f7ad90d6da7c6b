"""What verify found: the problems, the report a run returns, and what to do next."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field

from ..advice import Command, Text
from ..console import human_size
from ..contract import (
    INDEX_PREFIX,
    INDEX_URL_OUTPUT,
    READER_TOKEN_VARIABLE,
    READER_USERNAME_VARIABLE,
)
from ..errors import PrivatePypiError

# The stack's settings, index URL among them: a task of the checkout, which has Pulumi.
ENV = Command("env", checkout_only=True)


class VerifyError(PrivatePypiError):
    """The index cannot be read at all: a wrong URL, or no network."""


class ProblemKind(enum.StrEnum):
    PAGE_MISSING = "page-missing"
    PAGE_INVALID = "page-invalid"
    PAGES_DISAGREE = "pages-disagree"
    FILE_MISSING = "file-missing"
    FILE_MISMATCH = "file-mismatch"
    # A file that publish's inspection refuses now, published before it did: reindex
    # can't mend it.
    FILE_INVALID = "file-invalid"
    METADATA_MISSING = "metadata-missing"
    METADATA_MISMATCH = "metadata-mismatch"
    UNREACHABLE = "unreachable"
    # Both root pages answer 403: a bucket policy or CDN that keeps readers out.
    READERS_REFUSED = "readers-refused"
    # Both root pages answer 404 and nothing was listed: a wrong URL, or nothing published.
    NO_INDEX = "no-index"
    # Found only by listing a repository:
    PROJECT_NOT_LISTED = "project-not-listed"
    FILE_NOT_INDEXED = "file-not-indexed"
    YANK_MISMATCH = "yank-mismatch"
    DIRECTORY_NOT_NORMALIZED = "directory-not-normalized"
    FILE_MISPLACED = "file-misplaced"


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    # The URL a client reads, or `location/key` for what only the listing shows.
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.detail}"


@dataclass
class VerifyReport:
    index_url: str
    projects: int = 0
    files: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list[Problem])
    # No root page and nothing stored: a repository nothing was published to yet.
    empty: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.empty:
            return Text(
                "empty: nothing is published yet (", Command("publish"), " adds the first files)"
            )
        verdict = "no problems" if self.ok else f"{len(self.problems)} problem(s)"
        return (
            f"{self.projects} project(s), {self.files} file(s), "
            f"{human_size(self.bytes)} checked: {verdict}"
        )


def explain_missing_root(
    report: VerifyReport, root_urls: Collection[str], stored_projects: int | None
) -> None:
    """Root pages that are not there mean an empty repository, a wrong URL, or readers kept out.

    None of them is a broken index: reindex would change nothing. Only a listing proves a
    repository empty (`stored_projects` is None without one); a bare URL whose root pages
    are missing may be a typo as well. 403 is what S3 answers a reader it refuses, or a
    reader of a key that is not there.
    """
    missing = [
        problem
        for problem in report.problems
        if problem.kind is ProblemKind.PAGE_MISSING and problem.where in root_urls
    ]
    if len(missing) != len(root_urls):
        return
    refused = all("HTTP 403" in problem.detail for problem in missing)
    if stored_projects == 0:
        report.problems = [problem for problem in report.problems if problem not in missing]
        report.empty = not report.problems
        return
    if stored_projects is None and not refused:
        others = [problem for problem in report.problems if problem not in missing]
        detail = Text(
            "both root pages are missing, so no index answers at this URL. Check it: the index "
            f"URL ends in /{INDEX_PREFIX} (",
            ENV,
            " prints it). A repository nothing has been published to yet verifies as empty "
            "with `--repository s3://BUCKET` or its directory",
        )
        report.problems = [Problem(ProblemKind.NO_INDEX, report.index_url, detail), *others]
        return
    if not refused:
        return
    if stored_projects:
        detail = Text(
            f"both root pages answer HTTP 403, though the bucket holds {stored_projects} "
            "project(s): readers of this URL are refused. Behind CloudFront the bucket is private "
            "by design: verify through the CDN, ",
            Command(f"verify --repository https://DOMAIN/{INDEX_PREFIX}"),
            f" (the {INDEX_URL_OUTPUT} output; with {READER_USERNAME_VARIABLE} and "
            f"{READER_TOKEN_VARIABLE} on a private stack). In S3-only mode, check that the "
            f"bucket policy lets readers get {INDEX_PREFIX}*",
        )
    else:
        detail = Text(
            "both root pages answer HTTP 403: readers are refused. Check that this is the index "
            "URL (",
            ENV,
            " prints it), that the bucket policy lets readers get "
            f"{INDEX_PREFIX}* (S3-only mode) or the CDN may read the bucket; an empty bucket "
            "answers 403 too, until the first ",
            Command("publish"),
        )
    # What else a refused reader meets is the same refusal: 403s, and a root page unread.
    others = [
        problem
        for problem in report.problems
        if "HTTP 403" not in problem.detail and problem.kind is not ProblemKind.PROJECT_NOT_LISTED
    ]
    report.problems = [Problem(ProblemKind.READERS_REFUSED, report.index_url, detail), *others]


FIX_A_FILE = Text(
    "delete its release (",
    Command("delete NAME VERSION"),
    "; or yank it) and publish a fixed build as a new version",
)
REINDEX = Text(
    Command("reindex"), " rebuilds the pages from the stored files; then run ", Command("verify"),
    " again",
)  # fmt: skip


def next_step(report: VerifyReport) -> Text:
    """What to do about the report's problems: the step that repairs them."""
    kinds = {problem.kind for problem in report.problems}
    if ProblemKind.FILE_INVALID in kinds:
        fix = Text("for each file-invalid file, ", *FIX_A_FILE.parts)
        if kinds == {ProblemKind.FILE_INVALID}:
            return fix
        return Text(*fix.parts, "; for the rest, ", *REINDEX.parts)
    if ProblemKind.READERS_REFUSED in kinds:
        return Text(
            "readers cannot read the index: fix the access named above, then run verify again"
        )
    if ProblemKind.NO_INDEX in kinds:
        return Text("no index answers at that URL: correct it, then run verify again")
    if kinds == {ProblemKind.UNREACHABLE}:
        return Text(
            "the index could not be read: check the network and the URL, then run verify again"
        )
    return REINDEX
