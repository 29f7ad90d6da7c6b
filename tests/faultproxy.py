"""A fault-injecting HTTP proxy in front of an S3 stand-in (moto, or LocalStack): S3
errors, S3's 409 ConditionalRequestConflict, dropped connections and stalls.

Point a storage's endpoint_url at `proxy.url` and every request goes through to the
stand-in unchanged, signatures and all, until a fault matches it:

    with FaultProxy(moto_endpoint) as proxy:
        proxy.inject(Fault("PUT", r"/simple/acme/index\\.json$", Respond(500, "InternalError")))
        ...a publish fails at its JSON page, however often botocore retries...
        proxy.clear()
        ...and the same publish now completes.

A fault is persistent unless given `times`, because botocore retries 5xx errors and
dropped connections itself: a fault that fails once is a fault nobody sees. A fault may
act on a `share` of its requests only, drawn at random, and on `conditional` ones only
(If-Match or If-None-Match): S3's 409 comes to those, as `conflicts` makes it.
"""

from __future__ import annotations

import http.client
import random
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

# Hop-by-hop headers: the proxy reads each body whole and sends it on with a length.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Respond:
    """Answer with an S3 error document instead of forwarding."""

    status: int
    code: str
    message: str = "Injected by the test's fault proxy."
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>"
            "<RequestId>FAULTPROXY</RequestId></Error>"
        ).encode()


@dataclass(frozen=True)
class Drop:
    """Close the connection without an answer, as a crashed load balancer would."""


@dataclass(frozen=True)
class Lose:
    """Forward the request, then close the connection instead of answering: the write
    happened, and the client cannot know it."""


@dataclass(frozen=True)
class Stall:
    """Answer nothing for `seconds`, then close: a read timeout for any shorter limit."""

    seconds: float


Action = Respond | Drop | Lose | Stall

# S3's answer to a conditional write (or a delete) that meets a conflicting request on
# the same key, worded as LocalStack words it after AWS's. The request is not applied,
# which is what answering it without forwarding it does.
CONFLICT = Respond(
    409,
    "ConditionalRequestConflict",
    "The conditional request cannot succeed due to a conflicting operation against this resource.",
)


@dataclass
class Fault:
    """Act on requests whose method matches and whose path (`/bucket/key`) matches `path`."""

    method: str
    path: str
    action: Action
    # Act on this many, then pass requests again; None: until cleared.
    times: int | None = None
    # Act on this share of the matching requests, drawn at random.
    share: float = 1.0
    # Match only requests with an If-Match or If-None-Match header.
    conditional: bool = False
    # Matching requests seen, and those the fault acted on.
    seen: int = field(default=0, init=False)
    hits: int = field(default=0, init=False)
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def applies(self, method: str, path: str) -> bool:
        """Count a matching request; True if the fault acts on it. (A `conditional` fault
        is asked only about conditional requests.)"""
        if method != self.method or not re.search(self.path, path):
            return False
        self.seen += 1
        if self.times is not None and self.hits >= self.times:
            return False
        if self.share < 1 and self.rng.random() >= self.share:
            return False
        self.hits += 1
        return True


def conflicts(
    path: str, *, method: str = "PUT", share: float = 1.0, times: int | None = None
) -> Fault:
    """S3's 409 ConditionalRequestConflict to conditional `method` requests (PUT: a
    PutObject; POST: a CompleteMultipartUpload) whose path matches `path`."""
    return Fault(method, path, CONFLICT, times=times, share=share, conditional=True)


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self._upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll, so that stopping the proxy is quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _action(self, method: str, path: str, *, conditional: bool) -> Action | None:
        with self._lock:
            for fault in self._faults:
                if fault.conditional and not conditional:
                    continue
                if fault.applies(method, path):
                    return fault.action
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle's algorithm
            # and delayed ACKs hold every answer back by tens of milliseconds.
            disable_nagle_algorithm = True

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (ConnectionResetError, BrokenPipeError):
                    self.close_connection = True

            def _proxy(self) -> None:
                body = self._read_body()
                conditional = "If-Match" in self.headers or "If-None-Match" in self.headers
                action = proxy._action(
                    self.command, unquote(urlsplit(self.path).path), conditional=conditional
                )
                if isinstance(action, Stall):
                    time.sleep(action.seconds)
                if isinstance(action, Stall | Drop):
                    self.close_connection = True
                    return
                if isinstance(action, Respond):
                    self._answer(action.status, list(action.headers), action.body())
                    return
                status, headers, content = self._forward(body)
                if isinstance(action, Lose):
                    self.close_connection = True
                    return
                self._answer(status, headers, content)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _proxy

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                upstream = http.client.HTTPConnection(*proxy._upstream, timeout=60)
                try:
                    headers = {
                        name: value
                        for name, value in self.headers.items()
                        if name.lower() not in _NOT_FORWARDED
                    }
                    if body or self.command in {"PUT", "POST"}:
                        headers["Content-Length"] = str(len(body))
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    content = response.read()
                    forwarded = [
                        (name, value)
                        for name, value in response.getheaders()
                        if name.lower() not in _NOT_FORWARDED
                    ]
                    if self.command == "HEAD":
                        length = response.getheader("Content-Length")
                        forwarded.append(("Content-Length", length or "0"))
                    return response.status, forwarded, content
                finally:
                    upstream.close()

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response_only(status)
                for name, value in headers:
                    self.send_header(name, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: pytest shows failures, not every request

        return Handler
