"""Reading an index as a client does: GETs over HTTP(S), or reads of a file:// directory.

One `IndexClient` serves one verify run: its urllib3 pool keeps connections open across
the run's pages and files, and urllib3's Retry decides what to try again and how long to
wait. Every body is read a chunk at a time within `Limits`, so a hostile index can make
verify neither read forever nor wait forever.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar
from urllib.parse import urljoin, urlparse
from urllib.request import url2pathname

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError

from ..console import human_size
from ..contract import READER_TOKEN_VARIABLE, READER_USERNAME_VARIABLE
from ..errors import ConfigurationError
from ..storage.base import Progress

T = TypeVar("T")

CHUNK = 1024 * 1024
TIMEOUT = 30
# pip's own limit (urllib's too): an index that redirects more is broken.
MAX_REDIRECTS = 10
# Anonymous readers get 403, not 404, for a missing S3 key: they may not list the bucket.
MISSING_STATUSES = frozenset({403, 404, 410})
SERVER_ERRORS = frozenset(range(500, 600))
USER_AGENT = "private-pypi-{name}"
# What a client reads at a file:// directory URL (pip does): the directory's HTML page.
FILE_DIRECTORY_PAGE = "index.html"


# What a 401 asks of a verify run.
READER_NEEDED = (
    f"the index is private; set {READER_USERNAME_VARIABLE} and {READER_TOKEN_VARIABLE} to a "
    "reader's name and token (a wrong or revoked token is refused too)"
)


class ReadFailed(Exception):
    """A URL verify could not read; the subclass says why."""


class Missing(ReadFailed):
    """The URL answered "not found"."""


class Unreachable(ReadFailed):
    """The URL could not be read: a network error, a server error, a refusal."""


class TooLarge(ReadFailed):
    """A body went on past its limit."""


@dataclass(frozen=True)
class Limits:
    """How much verify reads of one URL: a hostile page can't make it read forever."""

    page_bytes: int = 64 * 1024 * 1024
    # A file with no size on its page (HTML only) is read up to this much.
    file_bytes: int = 16 * 1024 * 1024 * 1024
    page_seconds: float = 120
    file_seconds: float = 3600
    # A zip's member list is at its end: this much of a file's end is kept as it streams
    # past, and a longer list is read again with a Range request, up to member_list_bytes.
    archive_tail_bytes: int = 1024 * 1024
    member_list_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class Retry:
    """How often to read a URL again after a network or server error."""

    attempts: int = 3
    # The wait before the n-th retry is base_delay * 2**(n-1), after an immediate first one.
    base_delay: float = 0.25

    def policy(self) -> urllib3.Retry:
        again = self.attempts - 1
        return urllib3.Retry(
            total=None,
            connect=again,
            read=again,
            status=again,
            other=again,
            redirect=MAX_REDIRECTS,
            status_forcelist=SERVER_ERRORS,
            backoff_factor=self.base_delay,
            # An index can't stretch verify's waits: the backoff alone decides them.
            respect_retry_after_header=False,
            raise_on_status=False,
        )


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


class Credentials(Protocol):
    def authorization(self, url: str, index_url: str) -> str | None:
        """The Authorization header to send with a GET of `url`, if any."""
        ...


@dataclass(frozen=True)
class Document:
    """A page as served: where it ended up after redirects (relative links resolve
    against it), its Content-Type (None from a file:// URL), and its bytes."""

    url: str
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class Download:
    size: int
    digests: dict[str, str]
    """Hex digest by hashlib algorithm name."""


class Body(Protocol):
    def read(self, amt: int | None = None, /) -> bytes: ...

    def close(self) -> None: ...


class _PooledBody:
    """A response body that gives its connection back to the pool when closed; its first
    `skip` bytes are passed over (a server that ignored a Range request sent them)."""

    def __init__(self, response: urllib3.BaseHTTPResponse, url: str, skip: int = 0) -> None:
        self._response = response
        self._skip = skip
        self.url = _final_url(response, url)
        self.content_type: str | None = response.headers.get("Content-Type")

    def read(self, amt: int | None = None, /) -> bytes:
        while self._skip and (skipped := self._response.read(min(self._skip, CHUNK))):
            self._skip -= len(skipped)
        return self._response.read(amt)

    def close(self) -> None:
        # Read to the end, the connection is back in the pool already and this closes no
        # socket; cut short (a body too large), the connection is closed, not reused.
        self._response.close()
        self._response.release_conn()


# What reading a body can fail with that may pass on another try: a connection cut, a
# read timing out, verify's own deadline, a local read error.
_BODY_ERRORS = (HTTPError, OSError)


class IndexClient:
    """Reads the URLs of one index, over one pool of connections, with retries.

    `name` is the command reading, for the User-Agent and the messages; `unauthorized`
    says what to do about a 401."""

    def __init__(
        self,
        index_url: str,
        *,
        retry: Retry = Retry(),
        limits: Limits = Limits(),
        reader: Credentials | None = None,
        connections: int = 16,
        name: str = "verify",
        unauthorized: str = READER_NEEDED,
    ) -> None:
        self.index_url = index_url
        self.limits = limits
        self.name = name
        self._retry = retry
        self._reader = reader
        self._unauthorized = unauthorized
        self._pool = urllib3.PoolManager(
            maxsize=connections,
            retries=retry.policy(),
            timeout=urllib3.Timeout(connect=TIMEOUT, read=TIMEOUT),
            headers={"User-Agent": USER_AGENT.format(name=name)},
        )

    def close(self) -> None:
        self._pool.clear()

    @property
    def serves_directory_keys(self) -> bool:
        """Whether the index answers a directory URL itself (HTTP), or the client reads the
        directory's index.html in its place (file://, as pip does)."""
        return urlparse(self.index_url).scheme != "file"

    def url_of(self, directory: str, name: str) -> str:
        """Where a client reads the page stored as `name` in `directory`."""
        if not self.serves_directory_keys and name == FILE_DIRECTORY_PAGE:
            return directory
        return directory + name

    def page(self, url: str, accept: str) -> bytes:
        """A page's bytes, up to the page limits."""
        return self.document(url, accept).body

    def document(self, url: str, accept: str) -> Document:
        """A page, up to the page limits, with its final URL and Content-Type."""

        def read_all(body: Body) -> Document:
            limits = self.limits
            chunks = _bounded_chunks(body, limits.page_bytes, limits.page_seconds, self.name)
            served = body if isinstance(body, _PooledBody) else None
            return Document(
                served.url if served else url,
                served.content_type if served else None,
                b"".join(chunks),
            )

        return self._read(url, accept, read_all, decode_content=True)

    def download(
        self,
        url: str,
        into: BinaryIO,
        *,
        limit: int,
        seconds: float,
        algorithms: tuple[str, ...] = ("sha256",),
        progress: Progress | None = None,
    ) -> Download:
        """Write the file at `url` into `into` a chunk at a time, hashing it with each of
        `algorithms` as it arrives: the bytes as served, with no content decoding, as pip
        hashes them. A try cut off midway starts the file again."""

        def copy(body: Body) -> Download:
            into.seek(0)
            into.truncate()
            hashers = [hashlib.new(algorithm) for algorithm in algorithms]
            size = 0
            for chunk in _bounded_chunks(body, limit, seconds, self.name):
                into.write(chunk)
                for hasher in hashers:
                    hasher.update(chunk)
                size += len(chunk)
                if progress is not None:
                    progress(len(chunk))
            into.flush()
            return Download(size, {h.name: h.hexdigest() for h in hashers})

        return self._read(url, "*/*", copy, decode_content=False)

    def digest(self, url: str, limit: int, seconds: float) -> tuple[int, str]:
        """Size and sha256 of a file, read a chunk at a time: files can be large."""

        def digest(chunks: Iterator[bytes]) -> tuple[int, str]:
            hashed, size = hashlib.sha256(), 0
            for chunk in chunks:
                hashed.update(chunk)
                size += len(chunk)
            return size, hashed.hexdigest()

        return self.stream(url, limit, seconds, digest)

    def stream(
        self, url: str, limit: int, seconds: float, consume: Callable[[Iterator[bytes]], T]
    ) -> T:
        """Hand a file's bytes to `consume`, a chunk at a time, with no content decoding:
        as pip hashes them. On a retry, `consume` is given the file from its start again."""

        def read(body: Body) -> T:
            return consume(_bounded_chunks(body, limit, seconds, self.name))

        return self._read(url, "*/*", read, decode_content=False)

    def read_range(self, url: str, start: int, stop: int) -> bytes:
        """Bytes `start` to `stop` of a file, asked for with a Range header."""

        def read(body: Body) -> bytes:
            wanted, parts = stop - start, list[bytes]()
            chunks = _bounded_chunks(
                body, self.limits.file_bytes, self.limits.file_seconds, self.name
            )
            while wanted > 0 and (chunk := next(chunks, b"")):
                parts.append(chunk[:wanted])
                wanted -= len(chunk)
            return b"".join(parts)

        return self._read(url, "*/*", read, decode_content=False, span=(start, stop))

    def _read(
        self,
        url: str,
        accept: str,
        consume: Callable[[Body], T],
        *,
        decode_content: bool,
        span: tuple[int, int] | None = None,
    ) -> T:
        """Hand the body at `url` to `consume`; read it again while Retry allows.

        urllib3 retries what fails before a body starts; a body cut off midway counts
        against the same Retry, which also says how long to wait before the next try.
        """
        retries = self._retry.policy()
        while True:
            body, retries = self._open(url, accept, retries, decode_content, span)
            try:
                return consume(body)
            except _BODY_ERRORS as error:
                failure = error
            finally:
                body.close()
            try:
                retries = retries.increment("GET", url, error=failure)
            except MaxRetryError:
                raise Unreachable(f"{_reason(failure)}{self._after}") from None
            retries.sleep()

    @property
    def _after(self) -> str:
        return f" (after {self._retry.attempts} attempt(s))"

    def _open(
        self,
        url: str,
        accept: str,
        retries: urllib3.Retry,
        decode_content: bool,
        span: tuple[int, int] | None,
    ) -> tuple[Body, urllib3.Retry]:
        """The body at `url`, from byte span[0] when a span is given."""
        if urlparse(url).scheme == "file":
            return _open_file(url, span[0] if span else 0), retries
        headers = {"Accept": accept}
        if span is not None:
            headers["Range"] = f"bytes={span[0]}-{span[1] - 1}"
        authorization = self._reader.authorization(url, self.index_url) if self._reader else None
        if authorization is not None:
            # urllib3 drops it on a redirect to another origin (remove_headers_on_redirect).
            headers["Authorization"] = authorization
        try:
            response = self._pool.request(
                "GET",
                url,
                headers=headers,
                retries=retries,
                preload_content=False,
                decode_content=decode_content,
            )
        except MaxRetryError as error:
            raise Unreachable(f"{_reason(error.reason or error)}{self._after}") from None
        except HTTPError as error:
            raise Unreachable(_reason(error)) from None
        if response.status < 300:
            # 206 is the span asked for; 200, a server that ignored the Range header.
            skip = span[0] if span is not None and response.status == 200 else 0
            return _PooledBody(response, url, skip), response.retries or retries
        _PooledBody(response, url).close()
        if response.status in MISSING_STATUSES:
            raise Missing(f"HTTP {response.status}")
        if response.status == 401:
            raise Unreachable(f"HTTP 401: {self._unauthorized}")
        status = f"HTTP {response.status} {response.reason}"
        raise Unreachable(status + (self._after if response.status in SERVER_ERRORS else ""))


def _final_url(response: urllib3.BaseHTTPResponse, url: str) -> str:
    """Where a GET of `url` ended up: its last redirect's target, as the browser resolves it.
    (The response's own `url` is only the last request's path.)"""
    history = response.retries.history if response.retries else ()
    redirects = [step for step in history if step.redirect_location]
    if not redirects:
        return url
    return urljoin(redirects[-1].url or url, redirects[-1].redirect_location)


def _open_file(url: str, start: int = 0) -> Body:
    path = Path(url2pathname(urlparse(url).path))
    if url.endswith("/"):
        path /= FILE_DIRECTORY_PAGE
    try:
        file = path.open("rb")
        file.seek(start)
        return file
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise Missing("no such file") from None
    except OSError as error:
        raise Unreachable(error.strerror or str(error)) from None


def _reason(error: BaseException) -> str:
    """What went wrong, in the words of the error closest to the socket."""
    cause = error
    while cause.__cause__ is not None and not isinstance(cause, OSError):
        cause = cause.__cause__
    return str(cause) or type(cause).__name__


def _bounded_chunks(body: Body, limit: int, seconds: float, reader: str) -> Iterator[bytes]:
    """The body a chunk at a time, stopping it past `limit` bytes or `seconds`."""
    deadline, size = time.monotonic() + seconds, 0
    while chunk := body.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"more than {human_size(limit)}, the most {reader} reads here")
        if time.monotonic() > deadline:
            raise TimeoutError(f"still reading after {seconds:g} s, the most {reader} waits")
        yield chunk
