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
from typing import Protocol, TypeVar
from urllib.parse import urlparse
from urllib.request import url2pathname

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError

from ..console import human_size
from ..contract import READER_TOKEN_VARIABLE, READER_USERNAME_VARIABLE
from ..errors import ConfigurationError

T = TypeVar("T")

CHUNK = 1024 * 1024
TIMEOUT = 30
# pip's own limit (urllib's too): an index that redirects more is broken.
MAX_REDIRECTS = 10
# Anonymous readers get 403, not 404, for a missing S3 key: they may not list the bucket.
MISSING_STATUSES = frozenset({403, 404, 410})
SERVER_ERRORS = frozenset(range(500, 600))
USER_AGENT = "private-pypi-verify"
# What a client reads at a file:// directory URL (pip does): the directory's HTML page.
FILE_DIRECTORY_PAGE = "index.html"


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


class Body(Protocol):
    def read(self, amt: int | None = None, /) -> bytes: ...

    def close(self) -> None: ...


class _PooledBody:
    """A response body that gives its connection back to the pool when closed; its first
    `skip` bytes are passed over (a server that ignored a Range request sent them)."""

    def __init__(self, response: urllib3.BaseHTTPResponse, skip: int = 0) -> None:
        self._response = response
        self._skip = skip

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
    """Reads the URLs of one index, over one pool of connections, with retries."""

    def __init__(
        self,
        index_url: str,
        *,
        retry: Retry = Retry(),
        limits: Limits = Limits(),
        reader: ReaderCredentials | None = None,
        connections: int = 16,
    ) -> None:
        self.index_url = index_url
        self.limits = limits
        self._retry = retry
        self._reader = reader
        self._pool = urllib3.PoolManager(
            maxsize=connections,
            retries=retry.policy(),
            timeout=urllib3.Timeout(connect=TIMEOUT, read=TIMEOUT),
            headers={"User-Agent": USER_AGENT},
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

        def read_all(body: Body) -> bytes:
            limits = self.limits
            return b"".join(_bounded_chunks(body, limits.page_bytes, limits.page_seconds))

        return self._read(url, accept, read_all, decode_content=True)

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
            return consume(_bounded_chunks(body, limit, seconds))

        return self._read(url, "*/*", read, decode_content=False)

    def read_range(self, url: str, start: int, stop: int) -> bytes:
        """Bytes `start` to `stop` of a file, asked for with a Range header."""

        def read(body: Body) -> bytes:
            wanted, parts = stop - start, list[bytes]()
            chunks = _bounded_chunks(body, self.limits.file_bytes, self.limits.file_seconds)
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
            return _PooledBody(response, skip), response.retries or retries
        _PooledBody(response).close()
        if response.status in MISSING_STATUSES:
            raise Missing(f"HTTP {response.status}")
        if response.status == 401:
            raise Unreachable(
                "HTTP 401: the index is private; set "
                f"{READER_USERNAME_VARIABLE} and {READER_TOKEN_VARIABLE} to a reader's name "
                "and token (a wrong or revoked token is refused too)"
            )
        status = f"HTTP {response.status} {response.reason}"
        raise Unreachable(status + (self._after if response.status in SERVER_ERRORS else ""))


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


def _bounded_chunks(body: Body, limit: int, seconds: float) -> Iterator[bytes]:
    """The body a chunk at a time, stopping it past `limit` bytes or `seconds`."""
    deadline, size = time.monotonic() + seconds, 0
    while chunk := body.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"more than {human_size(limit)}, the most verify reads here")
        if time.monotonic() > deadline:
            raise TimeoutError(f"still reading after {seconds:g} s, the most verify waits")
        yield chunk
