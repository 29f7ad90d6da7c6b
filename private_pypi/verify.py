"""Check a live index as pip and uv see it: every page, link, file and hash.

Verify reads only what any client can read, the pages and files under `simple/`, over
HTTP(S) or file://, with no credentials. Given a repository (s3://BUCKET or a directory)
rather than an index URL, it also lists `simple/` through the storage, to find what no
page shows: a project directory missing from the root page, a stored file missing from
its project page, a yank marker that the page does not show.

`invoke reindex` rebuilds the pages from what is stored, so it repairs every problem
verify finds on a page; a file whose bytes are gone it can only take off the page.

A private index is the exception: verify reads it as the reader that PRIVATE_PYPI_USERNAME
and PRIVATE_PYPI_TOKEN name, and sends those to the index's own origin only.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, fields
from http.client import HTTPException
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urljoin, urlparse, urlsplit
from urllib.request import Request, url2pathname, urlopen

from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from pypi_simple import (
    DistributionPackage,
    IndexPage,
    ProjectPage,
    UnsupportedRepoVersionError,
)

from . import layout
from .console import human_size
from .distributions import MAX_METADATA_BYTES, parse_filename
from .errors import ConfigurationError, InvalidDistribution, PrivatePypiError
from .storage import Storage, open_storage, repository_url

T = TypeVar("T")

CHUNK = 1024 * 1024
TIMEOUT = 30
# Anonymous readers get 403, not 404, for a missing S3 key: they may not list the bucket.
MISSING_STATUSES = frozenset({403, 404, 410})
HTML_ACCEPT = "text/html"
USER_AGENT = "private-pypi-verify"
SHA256_LENGTH = 64
# A private index's reader, named as the GitHub secrets `pulumi up` writes for one.
READER_USERNAME_VARIABLE = "PRIVATE_PYPI_USERNAME"
READER_TOKEN_VARIABLE = "PRIVATE_PYPI_TOKEN"


class VerifyError(PrivatePypiError):
    """The index cannot be read at all: a wrong URL, or no network."""


class ProblemKind(enum.StrEnum):
    PAGE_MISSING = "page-missing"
    PAGE_INVALID = "page-invalid"
    PAGES_DISAGREE = "pages-disagree"
    FILE_MISSING = "file-missing"
    FILE_MISMATCH = "file-mismatch"
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
    problems: list[Problem] = field(default_factory=list)
    # No root page and nothing stored: a repository nothing was published to yet.
    empty: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.empty:
            return "empty: nothing is published yet (`uv run invoke publish` adds the first files)"
        verdict = "no problems" if self.ok else f"{len(self.problems)} problem(s)"
        return (
            f"{self.projects} project(s), {self.files} file(s), "
            f"{human_size(self.bytes)} checked: {verdict}"
        )


# --- reading URLs as a client -------------------------------------------------------


class Missing(Exception):
    """The URL answered "not found"."""


class Unreachable(Exception):
    """The URL could not be read: a network error, a server error, a refusal."""


@dataclass(frozen=True)
class Limits:
    """How much verify reads of one URL: a hostile page can't make it read forever."""

    page_bytes: int = 64 * 1024 * 1024
    # A file with no size on its page (HTML only) is read up to this much.
    file_bytes: int = 16 * 1024 * 1024 * 1024
    page_seconds: float = 120
    file_seconds: float = 3600


class TooLarge(Exception):
    """A body went on past its limit."""


@dataclass(frozen=True)
class Retry:
    """How often to read a URL again after a network or server error."""

    attempts: int = 3
    base_delay: float = 0.25

    def delay(self, attempt: int) -> float:
        return self.base_delay * 2 ** (attempt - 1)


class _Body(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ReaderCredentials:
    """A reader of a private index: sent as Basic credentials, to the index's origin only."""

    username: str
    token: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReaderCredentials | None:
        username, token = env.get(READER_USERNAME_VARIABLE), env.get(READER_TOKEN_VARIABLE)
        if not username and not token:
            return None
        if not (username and token):
            missing = READER_TOKEN_VARIABLE if username else READER_USERNAME_VARIABLE
            raise ConfigurationError(
                f"{missing} is not set: a private index's reader needs both "
                f"{READER_USERNAME_VARIABLE} and {READER_TOKEN_VARIABLE}"
            )
        return cls(username, token)

    def authorization(self, url: str, index_url: str) -> str | None:
        """The Authorization header for `url`: none for a URL outside the index's origin."""
        target, index = urlparse(url), urlparse(index_url)
        if (target.scheme, target.netloc) != (index.scheme, index.netloc):
            return None
        pair = f"{self.username}:{self.token}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def fetch(
    url: str,
    accept: str,
    consume: Callable[[_Body], T],
    retry: Retry = Retry(),
    authorization: str | None = None,
) -> T:
    """Hand the body at `url` to `consume` as a stream; retry what may be transient."""
    failure = ""
    for attempt in range(retry.attempts):
        if attempt:
            time.sleep(retry.delay(attempt))
        try:
            body = _connect(url, accept, authorization)
            try:
                return consume(body)
            finally:
                body.close()
        except (OSError, HTTPException) as error:  # network errors, 5xx, cut-off bodies
            failure = _reason(error)
    raise Unreachable(f"{failure} (after {retry.attempts} attempt(s))")


def _connect(url: str, accept: str, authorization: str | None = None) -> _Body:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = Path(url2pathname(parsed.path))
        if url.endswith("/"):
            path /= "index.html"  # as pip reads a file:// index
        try:
            return path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise Missing("no such file") from None
        except OSError as error:
            raise Unreachable(error.strerror or str(error)) from None
    request = Request(url, headers={"Accept": accept, "User-Agent": USER_AGENT})
    if authorization is not None:
        request.add_unredirected_header("Authorization", authorization)
    try:
        return urlopen(request, timeout=TIMEOUT)
    except HTTPError as error:
        error.close()
        if error.code in MISSING_STATUSES:
            raise Missing(f"HTTP {error.code}") from None
        if error.code == 401:
            raise Unreachable(
                "HTTP 401: the index is private; set "
                f"{READER_USERNAME_VARIABLE} and {READER_TOKEN_VARIABLE} to a reader's name "
                "and token (a wrong or revoked token is refused too)"
            ) from None
        if error.code < 500:
            raise Unreachable(_reason(error)) from None
        raise


def _reason(error: OSError | HTTPException) -> str:
    if isinstance(error, HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def _bounded_chunks(body: _Body, limit: int, seconds: float) -> Iterator[bytes]:
    """The body a chunk at a time, stopping it past `limit` bytes or `seconds`."""
    deadline, size = time.monotonic() + seconds, 0
    while chunk := body.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"more than {human_size(limit)}, the most verify reads here")
        if time.monotonic() > deadline:
            raise TimeoutError(f"still reading after {seconds:g} s, the most verify waits")
        yield chunk


def _read_all(limits: Limits) -> Callable[[_Body], bytes]:
    def read(body: _Body) -> bytes:
        return b"".join(_bounded_chunks(body, limits.page_bytes, limits.page_seconds))

    return read


def _digest(limit: int, seconds: float) -> Callable[[_Body], tuple[int, str]]:
    """Size and sha256 of a body, read a chunk at a time: files can be large."""

    def digest(body: _Body) -> tuple[int, str]:
        hashed, size = hashlib.sha256(), 0
        for chunk in _bounded_chunks(body, limit, seconds):
            hashed.update(chunk)
            size += len(chunk)
        return size, hashed.hexdigest()

    return digest


# --- what the pages say -------------------------------------------------------------


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


class InvalidPage(Exception):
    """A page that pypi-simple, or our stricter reading, cannot accept."""


def parse_project_json(name: NormalizedName, directory: str, body: bytes) -> Claims:
    try:
        page = ProjectPage.from_json_data(_json(body), base_url=directory)
    except (ValueError, UnsupportedRepoVersionError) as error:
        raise InvalidPage(f"not a PEP 691 project page: {_shorten(str(error))}") from None
    if canonicalize_name(page.project) != name:
        raise InvalidPage(f"the page is for {page.project!r}")
    for package in page.packages:
        if package.size is None:
            raise InvalidPage(f"{package.filename} has no size (api-version 1.1 gives one)")
    return _claims(directory, page.packages)


def parse_project_html(name: NormalizedName, directory: str, body: bytes) -> Claims:
    _check_html(body)
    try:
        page = ProjectPage.from_html(name, body, base_url=directory, from_encoding="utf-8")
    except (ValueError, UnsupportedRepoVersionError) as error:
        raise InvalidPage(f"not a PEP 503 project page: {_shorten(str(error))}") from None
    if page.repository_version is None:
        raise InvalidPage("no pypi:repository-version meta tag: not a simple index page")
    return _claims(directory, page.packages)


def parse_root_json(body: bytes) -> frozenset[NormalizedName]:
    try:
        page = IndexPage.from_json_data(_json(body))
    except (ValueError, UnsupportedRepoVersionError) as error:
        raise InvalidPage(f"not a PEP 691 root page: {_shorten(str(error))}") from None
    return _project_names(page)


def parse_root_html(body: bytes) -> frozenset[NormalizedName]:
    _check_html(body)
    try:
        page = IndexPage.from_html(body, from_encoding="utf-8")
    except (ValueError, UnsupportedRepoVersionError) as error:
        raise InvalidPage(f"not a PEP 503 root page: {_shorten(str(error))}") from None
    if page.repository_version is None:
        raise InvalidPage("no pypi:repository-version meta tag: not a simple index page")
    return _project_names(page)


def _project_names(page: IndexPage) -> frozenset[NormalizedName]:
    # Verify builds each project's URL from its name, so a name must be a name.
    try:
        return frozenset(canonicalize_name(project, validate=True) for project in page.projects)
    except InvalidName as error:
        raise InvalidPage(str(error)) from None


def _json(body: bytes) -> object:
    return json.loads(_utf8(body))  # PEP 691: JSON pages are UTF-8, whatever else it looks like


def _check_html(body: bytes) -> None:
    # An HTML parser accepts anything; names in another encoding would be misread.
    _utf8(body)


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidPage(f"not UTF-8: {error.reason} at byte {error.start}") from None


def _claims(directory: str, packages: Iterable[DistributionPackage]) -> Claims:
    claims: Claims = {}
    for package in packages:
        claim = FileClaim.of(package)
        if claim.filename in claims:
            raise InvalidPage(f"{claim.filename} is listed twice")
        try:
            parse_filename(claim.filename)
        except InvalidDistribution as error:
            raise InvalidPage(f"{_shorten(repr(claim.filename))}: {error.reason}") from None
        # Verify follows no link out of the index, and our pages make none.
        if not _inside(directory, claim):
            raise InvalidPage(
                f"{claim.filename} links outside its directory: {_shorten(claim.url)}"
            )
        if not _is_sha256(claim.sha256):
            raise InvalidPage(f"{claim.filename} has no sha256")
        if package.has_metadata and not _is_sha256(claim.metadata_sha256):
            raise InvalidPage(f"{claim.filename} advertises metadata with no sha256")
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


def disagreements(where: str, json_claims: Claims, html_claims: Claims) -> list[Problem]:
    """Where a project's HTML page says something other than its JSON page."""
    problems = []
    for filename in sorted(json_claims.keys() | html_claims.keys()):
        on_json, on_html = json_claims.get(filename), html_claims.get(filename)
        if on_json is None or on_html is None:
            present, absent = ("HTML", "JSON") if on_json is None else ("JSON", "HTML")
            detail = f"{filename} is on the {present} page but not the {absent} page"
            problems.append(Problem(ProblemKind.PAGES_DISAGREE, where, detail))
            continue
        differences = [
            f"{item.name} {getattr(on_json, item.name)!r} (JSON) != "
            f"{getattr(on_html, item.name)!r} (HTML)"
            for item in fields(FileClaim)
            if item.compare and getattr(on_json, item.name) != getattr(on_html, item.name)
        ]
        if differences:
            detail = f"{filename}: {'; '.join(differences)}"
            problems.append(Problem(ProblemKind.PAGES_DISAGREE, where, detail))
    return problems


# --- what a repository stores -------------------------------------------------------


@dataclass
class StoredProject:
    """A project directory as listed: its distribution files and its yank markers."""

    files: set[str] = field(default_factory=set)
    yanked: set[str] = field(default_factory=set)
    # Keys in a subdirectory of the project's: no page links them, reindex neither.
    misplaced: set[str] = field(default_factory=set)


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


# --- the check ----------------------------------------------------------------------


@dataclass
class _ProjectView:
    """One project as its pages show it."""

    problems: list[Problem]
    # filename -> yanked (as FileClaim.yanked), from the JSON page, else the HTML page;
    # None when neither page can be read.
    record: dict[str, str | None] | None
    links: list[FileClaim]


@dataclass
class Verifier:
    index_url: str
    # The repository behind the index, when known: its listing finds what no page shows.
    storage: Storage | None = None
    workers: int = 16
    retry: Retry = Retry()
    reader: ReaderCredentials | None = None
    limits: Limits = Limits()

    def run(self) -> VerifyReport:
        report = VerifyReport(self.index_url)
        with ThreadPoolExecutor(self.workers) as pool:
            listing = pool.submit(list_projects, self.storage) if self.storage else None
            listed = self._root(pool, report.problems)
            views: dict[NormalizedName, Future[_ProjectView]] = {
                name: pool.submit(self._project, name) for name in sorted(listed)
            }
            stored = listing.result() if listing else {}
            for directory in sorted(stored):
                name = canonicalize_name(directory)
                if name == directory and name not in views and layout.is_project_name(directory):
                    views[name] = pool.submit(self._project, name)
            checks = []
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
            report.problems.extend(self._compare_listing(self.storage, stored, listed, records))
        _explain_missing_root(report, stored if self.storage is not None else None)
        report.problems.sort(key=lambda problem: (problem.where, problem.kind, problem.detail))
        return report

    def _authorization(self, url: str) -> str | None:
        return self.reader.authorization(url, self.index_url) if self.reader else None

    def _root(self, pool: ThreadPoolExecutor, problems: list[Problem]) -> frozenset[NormalizedName]:
        """The projects the root pages list, in either format."""
        json_url = urljoin(self.index_url, "index.json")
        json_problems: list[Problem] = []
        json_names = pool.submit(
            self._parse, json_url, layout.JSON_TYPE, parse_root_json, json_problems
        )
        found: list[Problem] = []
        html = self._html(self.index_url, found)
        html_names = self._parse_body(html, parse_root_html, found) if html else None
        json_names = json_names.result()
        found += json_problems
        if found and all(problem.kind is ProblemKind.UNREACHABLE for problem in found):
            raise VerifyError(
                f"cannot read the index at {self.index_url}: {found[0].detail}; check the "
                "URL and the network"
            )
        problems.extend(found)
        if json_names is not None and html_names is not None:
            for name in sorted(json_names ^ html_names):
                present, absent = ("JSON", "HTML") if name in json_names else ("HTML", "JSON")
                detail = f"{name} is on the {present} page but not the {absent} page"
                problems.append(Problem(ProblemKind.PAGES_DISAGREE, self.index_url, detail))
        return (json_names or frozenset()) | (html_names or frozenset())

    def _project(self, name: NormalizedName) -> _ProjectView:
        directory = urljoin(self.index_url, f"{name}/")
        problems: list[Problem] = []
        json_claims = self._parse(
            urljoin(directory, "index.json"),
            layout.JSON_TYPE,
            lambda body: parse_project_json(name, directory, body),
            problems,
        )
        html = self._html(directory, problems)
        html_claims = (
            self._parse_body(html, lambda body: parse_project_html(name, directory, body), problems)
            if html
            else None
        )
        if json_claims is not None and html_claims is not None:
            problems.extend(disagreements(directory, json_claims, html_claims))
        record = json_claims if json_claims is not None else html_claims
        # JSON last: its claims carry sizes.
        links = {**(html_claims or {}), **(json_claims or {})}
        return _ProjectView(
            problems,
            None if record is None else {f: claim.yanked for f, claim in record.items()},
            list(links.values()),
        )

    def _html(self, directory: str, problems: list[Problem]) -> tuple[str, bytes] | None:
        """A directory's HTML page, as pip reads it (`simple/NAME/`).

        Over HTTP the same page is also read as `index.html`, which CloudFront and browsers
        use: on S3 these are two objects, and they must not differ.
        """
        urls = [directory]
        if urlparse(directory).scheme != "file":
            urls.append(urljoin(directory, "index.html"))
        bodies = [(url, self._read(url, HTML_ACCEPT, problems)) for url in urls]
        found = [(url, body) for url, body in bodies if body is not None]
        for url, body in found[1:]:
            if body != found[0][1]:
                detail = f"differs from {found[0][0]}, which should be the same page"
                problems.append(Problem(ProblemKind.PAGES_DISAGREE, url, detail))
        return found[0] if found else None

    def _parse(
        self, url: str, accept: str, parse: Callable[[bytes], T], problems: list[Problem]
    ) -> T | None:
        body = self._read(url, accept, problems)
        return None if body is None else self._parse_body((url, body), parse, problems)

    @staticmethod
    def _parse_body(
        page: tuple[str, bytes], parse: Callable[[bytes], T], problems: list[Problem]
    ) -> T | None:
        url, body = page
        try:
            return parse(body)
        except InvalidPage as error:
            problems.append(Problem(ProblemKind.PAGE_INVALID, url, str(error)))
            return None

    def _read(self, url: str, accept: str, problems: list[Problem]) -> bytes | None:
        try:
            return fetch(url, accept, _read_all(self.limits), self.retry, self._authorization(url))
        except TooLarge as error:
            problems.append(Problem(ProblemKind.PAGE_INVALID, url, f"the page is {error}"))
        except Missing as error:
            problems.append(Problem(ProblemKind.PAGE_MISSING, url, f"not there ({error})"))
        except Unreachable as error:
            problems.append(Problem(ProblemKind.UNREACHABLE, url, str(error)))
        return None

    def _file(self, claim: FileClaim) -> tuple[list[Problem], int]:
        # One byte over the size the page gives is enough to know the file is not it.
        limit = self.limits.file_bytes if claim.size is None else claim.size + 1
        try:
            size, sha256 = fetch(
                claim.url,
                "*/*",
                _digest(limit, self.limits.file_seconds),
                self.retry,
                self._authorization(claim.url),
            )
        except TooLarge as error:
            return [Problem(ProblemKind.FILE_MISMATCH, claim.url, f"the file is {error}")], 0
        except Missing as error:
            detail = f"linked from its project page but not there ({error})"
            return [Problem(ProblemKind.FILE_MISSING, claim.url, detail)], 0
        except Unreachable as error:
            return [Problem(ProblemKind.UNREACHABLE, claim.url, str(error))], 0
        differences = []
        if claim.size is not None and size != claim.size:
            differences.append(f"{size} bytes, the page says {claim.size}")
        if sha256 != claim.sha256:
            differences.append(f"sha256 {sha256}, the page says {claim.sha256}")
        if not differences:
            return [], size
        return [Problem(ProblemKind.FILE_MISMATCH, claim.url, "; ".join(differences))], size

    def _metadata(self, claim: FileClaim) -> tuple[list[Problem], int]:
        url = claim.url + layout.METADATA_SUFFIX
        reading = _digest(MAX_METADATA_BYTES, self.limits.page_seconds)
        try:
            size, sha256 = fetch(url, "*/*", reading, self.retry, self._authorization(url))
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

    @staticmethod
    def _compare_listing(
        storage: Storage,
        stored: Mapping[str, StoredProject],
        listed: frozenset[NormalizedName],
        records: Mapping[NormalizedName, dict[str, str | None] | None],
    ) -> list[Problem]:
        """What the listing holds that the pages do not show."""
        problems = []

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
            if record is None:
                continue  # its page is unreadable: reported already
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
        if last == layout.INDEX_PREFIX.rstrip("/") and parent:
            url = parent
    storage = open_storage(url, env)
    return Verifier(storage.index_url, storage)


# --- what the problems mean -------------------------------------------------------


def _explain_missing_root(report: VerifyReport, stored: dict[str, StoredProject] | None) -> None:
    """Root pages that are not there mean an empty repository, a wrong URL, or readers kept out.

    None of them is a broken index: reindex would change nothing. Only a listing proves a
    repository empty; a bare URL whose root pages are missing may be a typo as well. 403 is
    what S3 answers a reader it refuses, or a reader of a key that is not there.
    """
    root_urls = {report.index_url, urljoin(report.index_url, "index.json")}
    if urlparse(report.index_url).scheme != "file":
        root_urls.add(urljoin(report.index_url, "index.html"))
    missing = [
        problem
        for problem in report.problems
        if problem.kind is ProblemKind.PAGE_MISSING and problem.where in root_urls
    ]
    if len(missing) != len(root_urls):
        return
    refused = all("HTTP 403" in problem.detail for problem in missing)
    if stored == {}:
        report.problems = [problem for problem in report.problems if problem not in missing]
        report.empty = not report.problems
        return
    if stored is None and not refused:
        others = [problem for problem in report.problems if problem not in missing]
        detail = (
            "both root pages are missing, so no index answers at this URL. Check it: the index "
            "URL ends in /simple/ (`uv run invoke env` prints it). A repository nothing has been "
            "published to yet verifies as empty with `--repository s3://BUCKET` or its directory"
        )
        report.problems = [Problem(ProblemKind.NO_INDEX, report.index_url, detail), *others]
        return
    if not refused:
        return
    if stored:
        detail = (
            f"both root pages answer HTTP 403, though the bucket holds {len(stored)} project(s): "
            "readers of this URL are refused. Behind CloudFront the bucket is private by design: "
            "verify through the CDN, `uv run invoke verify --repository https://DOMAIN/simple/` "
            "(the indexUrl output; with PRIVATE_PYPI_USERNAME and PRIVATE_PYPI_TOKEN on a private "
            "stack). In S3-only mode, check that the bucket policy lets readers get simple/*"
        )
    else:
        detail = (
            "both root pages answer HTTP 403: readers are refused. Check that this is the index "
            "URL (`uv run invoke env` prints it), that the bucket policy lets readers get "
            "simple/* (S3-only mode) or the CDN may read the bucket; an empty bucket answers 403 "
            "too, until the first `uv run invoke publish`"
        )
    # What else a refused reader meets is the same refusal: 403s, and a root page unread.
    others = [
        problem
        for problem in report.problems
        if "HTTP 403" not in problem.detail and problem.kind is not ProblemKind.PROJECT_NOT_LISTED
    ]
    report.problems = [Problem(ProblemKind.READERS_REFUSED, report.index_url, detail), *others]


def next_step(report: VerifyReport) -> str:
    """What to do about the report's problems: the step that repairs them."""
    kinds = {problem.kind for problem in report.problems}
    if ProblemKind.READERS_REFUSED in kinds:
        return "readers cannot read the index: fix the access named above, then run verify again"
    if ProblemKind.NO_INDEX in kinds:
        return "no index answers at that URL: correct it, then run verify again"
    if kinds == {ProblemKind.UNREACHABLE}:
        return "the index could not be read: check the network and the URL, then run verify again"
    return (
        "`uv run invoke reindex` rebuilds the pages from the stored files; then run "
        "`uv run invoke verify` again"
    )
