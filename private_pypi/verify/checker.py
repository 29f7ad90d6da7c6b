"""The check: every page a client reads, every file it links, and what a listing adds.

Which URLs of a page verify reads is the page's own list of renderings (pages.PageFormat),
the list publish and reindex write from: each rendering is read where a client reads it,
copies rendered alike must be the same bytes, and renderings of different content types
must say the same thing once parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import closing
from dataclasses import dataclass, field, fields
from functools import partial
from typing import Generic, TypeVar
from urllib.parse import urljoin, urlparse

from packaging.utils import NormalizedName, canonicalize_name

from .. import layout
from ..advice import Text
from ..contract import INDEX_PREFIX
from ..distributions import MAX_METADATA_BYTES
from ..pages import PROJECT_PAGE, ROOT_PAGE, PageFormat, ProjectPage, Rendering
from ..storage import Storage, open_storage, repository_url
from .archives import FileRead, read_distribution
from .client import IndexClient, Limits, Missing, ReaderCredentials, Retry, TooLarge, Unreachable
from .listing import PageRecord, compare_listing, list_projects
from .parsers import READINGS, Claims, ClientReading, FileClaim, UnreadablePage
from .report import (
    FIX_A_FILE,
    Problem,
    ProblemKind,
    VerifyError,
    VerifyReport,
    explain_missing_root,
)

T = TypeVar("T")
Record = TypeVar("Record")

# What reading a file gives: its problems, and the bytes read.
FileCheck = tuple[list[Problem], int]


@dataclass(frozen=True)
class IndexFormats:
    """The pages verify reads, each with every rendering publish writes of it."""

    root: PageFormat[frozenset[NormalizedName]] = ROOT_PAGE
    project: PageFormat[ProjectPage] = PROJECT_PAGE


@dataclass(frozen=True)
class ParsedPage(Generic[T]):
    """One rendering of a page as a client parsed it."""

    label: str  # "JSON", "HTML": how a problem names it
    content: T


@dataclass
class _ProjectView:
    """One project as its pages show it."""

    problems: list[Problem]
    # From the record (the JSON page), else the first other page read; None when no page
    # can be read.
    record: PageRecord | None
    links: list[FileClaim]


@dataclass
class Verifier:
    index_url: str
    # The repository behind the index, when known: its listing finds what no page shows.
    storage: Storage | None = None
    workers: int = 16
    retry: Retry = field(default_factory=Retry)
    reader: ReaderCredentials | None = None
    limits: Limits = field(default_factory=Limits)
    # The pages and their renderings: publish's own, unless a test gives others.
    formats: IndexFormats = field(default_factory=IndexFormats)

    def run(self) -> VerifyReport:
        client = IndexClient(
            self.index_url,
            retry=self.retry,
            limits=self.limits,
            reader=self.reader,
            connections=self.workers,
        )
        with closing(client), ThreadPoolExecutor(self.workers) as pool:
            return _Check(client, self.formats, self.storage, pool).run()


@dataclass
class _Check:
    """One verify run: its client, with its pool of connections, and its threads."""

    client: IndexClient
    formats: IndexFormats
    storage: Storage | None
    pool: ThreadPoolExecutor

    def run(self) -> VerifyReport:
        report = VerifyReport(self.client.index_url)
        pool = self.pool
        listing = pool.submit(list_projects, self.storage) if self.storage else None
        listed = self._root(report.problems)
        views: dict[NormalizedName, Future[_ProjectView]] = {
            name: pool.submit(self._project, name) for name in sorted(listed)
        }
        stored = listing.result() if listing else {}
        for directory in sorted(stored):
            name = canonicalize_name(directory)
            if name == directory and name not in views and layout.is_project_name(directory):
                views[name] = pool.submit(self._project, name)
        checks: list[Future[FileCheck]] = []
        for future in as_completed(views.values()):
            view = future.result()
            report.problems.extend(view.problems)
            report.files += len(view.links)
            for claim in view.links:
                checks.append(pool.submit(self._file, claim))
                if claim.metadata_sha256 is not None:
                    checks.append(pool.submit(self._metadata, claim))
        for check in as_completed(checks):
            problems, size = check.result()
            report.problems.extend(problems)
            report.bytes += size
        report.projects = len(views)
        records = {name: view.result().record for name, view in views.items()}
        if self.storage is not None:
            report.problems.extend(compare_listing(self.storage, stored, listed, records))
        root_urls = {url for url, _ in self._urls(self.formats.root, self.client.index_url)}
        explain_missing_root(report, root_urls, len(stored) if self.storage else None)
        report.problems.sort(key=lambda problem: (problem.where, problem.kind, problem.detail))
        return report

    def _root(self, problems: list[Problem]) -> frozenset[NormalizedName]:
        """The projects the root pages list, in any of their renderings."""
        found: list[Problem] = []
        pages = self._pages(self.formats.root, self.client.index_url, _read_root, found)
        if found and all(problem.kind is ProblemKind.UNREACHABLE for problem in found):
            raise VerifyError(
                f"cannot read the index at {self.client.index_url}: {found[0].detail}; check "
                "the URL and the network"
            )
        problems.extend(found)
        for other in pages[1:]:
            record = pages[0]
            for name in sorted(record.content ^ other.content):
                present, absent = (record, other) if name in record.content else (other, record)
                detail = f"{name} is on the {present.label} page but not the {absent.label} page"
                problems.append(Problem(ProblemKind.PAGES_DISAGREE, self.client.index_url, detail))
        return frozenset[NormalizedName]().union(*(page.content for page in pages))

    def _project(self, name: NormalizedName) -> _ProjectView:
        directory = urljoin(self.client.index_url, f"{name}/")
        problems: list[Problem] = []

        def read(reading: ClientReading, body: bytes) -> Claims:
            return reading.project(name, directory, body)

        pages = self._pages(self.formats.project, directory, read, problems)
        for other in pages[1:]:
            problems.extend(disagreements(directory, pages[0], other))
        links: Claims = {}
        for page in reversed(pages):  # the record last: its claims carry sizes
            links.update(page.content)
        return _ProjectView(
            problems,
            {f: claim.yanked for f, claim in pages[0].content.items()} if pages else None,
            list(links.values()),
        )

    def _urls(
        self, page: PageFormat[Record], directory: str
    ) -> list[tuple[str, Rendering[Record]]]:
        """Where a client reads each rendering of the page in `directory`."""
        renderings = page.renderings_on(directory_keys=self.client.serves_directory_keys)
        return [(self.client.url_of(directory, r.name), r) for r in renderings]

    def _pages(
        self,
        page: PageFormat[Record],
        directory: str,
        parse: Callable[[ClientReading, bytes], T],
        problems: list[Problem],
    ) -> list[ParsedPage[T]]:
        """Every rendering of a page, read as a client reads it: the record first.

        Renderings made by the same render function are copies (S3 stores the HTML as
        `NAME/index.html` and as `NAME/`): they must be the same bytes, and the one pip
        reads, the directory's own URL, is the one the others are held to. A rendering of
        a content type no client reading knows is only checked to be there.
        """
        parsed: list[ParsedPage[T]] = []
        for copies in _copies(self._urls(page, directory)):
            content_type = copies[0][1].content_type
            reading = READINGS.get(content_type)
            urls = sorted((url for url, _ in copies), key=lambda url: url != directory)
            accept = reading.accept if reading else content_type
            read = [(url, self._read(url, accept, problems)) for url in urls]
            bodies = [(url, body) for url, body in read if body is not None]
            for url, body in bodies[1:]:
                if body != bodies[0][1]:
                    detail = f"differs from {bodies[0][0]}, which should be the same page"
                    problems.append(Problem(ProblemKind.PAGES_DISAGREE, url, detail))
            if not bodies or reading is None:
                continue
            url, body = bodies[0]
            try:
                parsed.append(ParsedPage(reading.label, parse(reading, body)))
            except UnreadablePage as error:
                problems.append(Problem(ProblemKind.PAGE_INVALID, url, str(error)))
        return parsed

    def _read(self, url: str, accept: str, problems: list[Problem]) -> bytes | None:
        try:
            return self.client.page(url, accept)
        except TooLarge as error:
            problems.append(Problem(ProblemKind.PAGE_INVALID, url, f"the page is {error}"))
        except Missing as error:
            problems.append(Problem(ProblemKind.PAGE_MISSING, url, f"not there ({error})"))
        except Unreachable as error:
            problems.append(Problem(ProblemKind.UNREACHABLE, url, str(error)))
        return None

    def _file(self, claim: FileClaim) -> FileCheck:
        # One byte over the size the page gives is enough to know the file is not it.
        client, limits = self.client, self.client.limits
        limit = limits.file_bytes if claim.size is None else claim.size + 1

        def check(chunks: Iterator[bytes]) -> FileRead:
            return read_distribution(
                claim.filename,
                chunks,
                partial(client.read_range, claim.url),
                tail_bytes=limits.archive_tail_bytes,
                most=limits.member_list_bytes,
            )

        try:
            read = client.stream(claim.url, limit, limits.file_seconds, check)
        except TooLarge as error:
            return [Problem(ProblemKind.FILE_MISMATCH, claim.url, f"the file is {error}")], 0
        except Missing as error:
            detail = f"linked from its project page but not there ({error})"
            return [Problem(ProblemKind.FILE_MISSING, claim.url, detail)], 0
        except Unreachable as error:
            return [Problem(ProblemKind.UNREACHABLE, claim.url, str(error))], 0
        problems: list[Problem] = []
        differences: list[str] = []
        if claim.size is not None and read.size != claim.size:
            differences.append(f"{read.size} bytes, the page says {claim.size}")
        if read.sha256 != claim.sha256:
            differences.append(f"sha256 {read.sha256}, the page says {claim.sha256}")
        if differences:
            problems.append(Problem(ProblemKind.FILE_MISMATCH, claim.url, "; ".join(differences)))
        # Bytes that are not the page's are a mismatch, which reindex repairs, whatever they are.
        elif read.refusal is not None:
            detail = Text(f"{read.refusal}. Publish refuses such a file now: ", *FIX_A_FILE.parts)
            problems.append(Problem(ProblemKind.FILE_INVALID, claim.url, detail))
        return problems, read.size

    def _metadata(self, claim: FileClaim) -> FileCheck:
        url = claim.url + layout.METADATA_SUFFIX
        try:
            size, sha256 = self.client.digest(
                url, MAX_METADATA_BYTES, self.client.limits.page_seconds
            )
        except TooLarge as error:
            return [Problem(ProblemKind.METADATA_MISMATCH, url, f"the file is {error}")], 0
        except Missing as error:
            detail = f"the page advertises core metadata for {claim.filename} ({error})"
            return [Problem(ProblemKind.METADATA_MISSING, url, detail)], 0
        except Unreachable as error:
            return [Problem(ProblemKind.UNREACHABLE, url, str(error))], 0
        if sha256 != claim.metadata_sha256:
            detail = f"sha256 {sha256}, the page says {claim.metadata_sha256}"
            return [Problem(ProblemKind.METADATA_MISMATCH, url, detail)], size
        return [], size


def _read_root(reading: ClientReading, body: bytes) -> frozenset[NormalizedName]:
    return reading.root(body)


def _copies(
    located: Iterable[tuple[str, Rendering[Record]]],
) -> list[list[tuple[str, Rendering[Record]]]]:
    """The renderings grouped into copies of one page: those rendered by the same function."""
    groups: dict[Callable[[Record], bytes], list[tuple[str, Rendering[Record]]]] = {}
    for url, rendering in located:
        groups.setdefault(rendering.render, []).append((url, rendering))
    return list(groups.values())


def disagreements(
    where: str, record: ParsedPage[Claims], other: ParsedPage[Claims]
) -> list[Problem]:
    """Where another rendering of a project's page says something other than its record."""
    problems: list[Problem] = []
    for filename in sorted(record.content.keys() | other.content.keys()):
        on_record, on_other = record.content.get(filename), other.content.get(filename)
        if on_record is None or on_other is None:
            present, absent = (other, record) if on_record is None else (record, other)
            detail = f"{filename} is on the {present.label} page but not the {absent.label} page"
            problems.append(Problem(ProblemKind.PAGES_DISAGREE, where, detail))
            continue
        differences = [
            f"{item.name} {getattr(on_record, item.name)!r} ({record.label}) != "
            f"{getattr(on_other, item.name)!r} ({other.label})"
            for item in fields(FileClaim)
            if item.compare and getattr(on_record, item.name) != getattr(on_other, item.name)
        ]
        if differences:
            detail = f"{filename}: {'; '.join(differences)}"
            problems.append(Problem(ProblemKind.PAGES_DISAGREE, where, detail))
    return problems


def open_verifier(repository: str | None, env: Mapping[str, str]) -> Verifier:
    """The verifier for `--repository`: an index URL, or a repository to read and list.

    http(s):// is an index URL, read as a client reads it. Anything else is a repository
    (as for publish); a file:// URL or path that names its `simple` directory, as pip's
    --index-url does, means the repository that holds it.
    """
    url = repository_url(repository, env)
    scheme = urlparse(url).scheme
    if scheme in {"http", "https"}:
        return Verifier(
            url if url.endswith("/") else url + "/", reader=ReaderCredentials.from_env(env)
        )
    if scheme != "s3":
        parent, _, last = url.rstrip("/").rpartition("/")
        if last == INDEX_PREFIX.rstrip("/") and parent:
            url = parent
    storage = open_storage(url, env)
    return Verifier(storage.index_url, storage)
