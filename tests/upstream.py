"""An upstream index on 127.0.0.1, as PyPI serves one: static pages and files, no network.

Project pages are PEP 691 JSON or PEP 503 HTML as the Accept header asks (HTML only, if
told so), with sha256 hashes, sizes, upload times, Requires-Python, PEP 658 metadata files
and PEP 592 yanks. Files are linked by absolute URLs under /packages/, apart from the
pages, as files.pythonhosted.org is apart from pypi.org; `files_host` puts them on
another origin of the same server. Every request is logged, with the Authorization header
it carried; a test can yank a file, serve other bytes for it, or require a login.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import canonicalize_name

UPLOADED = datetime(2023, 7, 17, 23, 57, 34, 350768, tzinfo=UTC)
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
CHUNK = 64 * 1024
# Where the index used to be: everything under it redirects to /simple/.
MOVED = "/old/simple/"


@dataclass
class Served:
    """One file as the upstream serves it."""

    filename: str
    body: bytes
    # What the page claims: the sha256 of `body`, unless a test tampers with it.
    page_sha256: str
    metadata: bytes | None
    requires_python: str | None
    yanked: str | None = None

    @property
    def project(self) -> str:
        # Any file of a project, one the index can't serve (.tar.bz2) too.
        return canonicalize_name(self.filename.split("-")[0])

    @property
    def version(self) -> str:
        return self.filename.split("-")[1].split(".tar")[0].removesuffix(".zip")


@dataclass(frozen=True)
class Request:
    path: str
    authorization: str | None


@dataclass
class Upstream:
    """The server: `start()` and `stop()` it, or use it in a `with` block."""

    html_only: bool = False
    login: tuple[str, str] | None = None
    # The host name the file links use: "localhost" puts them on another origin than the
    # pages' 127.0.0.1, as files.pythonhosted.org is to pypi.org.
    files_host: str = "127.0.0.1"
    # Links relative to the page (../../packages/FILE), as devpi and Artifactory write them.
    relative_links: bool = False
    # Seconds to wait before each 64 KiB of a file: a slow upstream, for a test to interrupt.
    slow_files: float = 0
    files: dict[str, Served] = field(default_factory=dict[str, Served])
    requests: list[Request] = field(default_factory=list[Request])
    _server: ThreadingHTTPServer | None = None

    def add(self, *paths: Path) -> Upstream:
        for path in paths:
            body = path.read_bytes()
            metadata = _wheel_metadata(body) if path.name.endswith(".whl") else None
            requires_python = (
                BytesHeaderParser().parsebytes(metadata).get("Requires-Python")
                if metadata
                else None
            )
            self.files[path.name] = Served(
                path.name, body, hashlib.sha256(body).hexdigest(), metadata, requires_python
            )
        return self

    def yank(self, filename: str, reason: str = "") -> None:
        self.files[filename].yanked = reason

    def tamper(self, filename: str, body: bytes, *, on_the_page: bool = False) -> None:
        """Serve other bytes for the file; `on_the_page`: the page's hash says so too."""
        served = self.files[filename]
        served.body = body
        if on_the_page:
            served.page_sha256 = hashlib.sha256(body).hexdigest()

    @property
    def origin(self) -> str:
        assert self._server is not None, "start the upstream first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def index_url(self) -> str:
        return f"{self.origin}/simple/"

    def counts(self) -> Counter[str]:
        """Requests by kind: page, file, metadata."""
        kinds: Counter[str] = Counter()
        for request in self.requests:
            if request.path.startswith("/simple/"):
                kinds["page"] += 1
            elif request.path.endswith(".metadata"):
                kinds["metadata"] += 1
            else:
                kinds["file"] += 1
        return kinds

    def start(self) -> Upstream:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket: the upstream is out of reach."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Upstream:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- pages ------------------------------------------------------------------------

    def _project_files(self, project: str) -> list[Served]:
        return sorted(
            (served for served in self.files.values() if served.project == project),
            key=lambda served: served.filename,
        )

    def _file_url(self, served: Served) -> str:
        if self.relative_links:
            return f"../../packages/{quote(served.filename)}"
        assert self._server is not None
        port = self._server.server_address[1]
        return f"http://{self.files_host}:{port}/packages/{quote(served.filename)}"

    def project_json(self, project: str) -> bytes:
        files = []
        for served in self._project_files(project):
            metadata = (
                {"sha256": hashlib.sha256(served.metadata).hexdigest()}
                if served.metadata
                else False
            )
            files.append(
                {
                    "filename": served.filename,
                    "url": self._file_url(served),
                    "hashes": {"sha256": served.page_sha256},
                    "requires-python": served.requires_python,
                    "core-metadata": metadata,
                    "dist-info-metadata": metadata,
                    "yanked": False if served.yanked is None else (served.yanked or True),
                    "size": len(served.body),
                    "upload-time": UPLOADED.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                }
            )
        versions = sorted({served.version for served in self._project_files(project)})
        document = {"meta": {"api-version": "1.1"}, "name": project, "versions": versions}
        return json.dumps({**document, "files": files}).encode()

    def project_html(self, project: str) -> bytes:
        links = []
        for served in self._project_files(project):
            attributes = [f'href="{escape(self._file_url(served))}#sha256={served.page_sha256}"']
            if served.requires_python:
                attributes.append(f'data-requires-python="{escape(served.requires_python)}"')
            if served.metadata:
                digest = hashlib.sha256(served.metadata).hexdigest()
                attributes.append(f'data-core-metadata="sha256={digest}"')
            if served.yanked is not None:
                attributes.append(f'data-yanked="{escape(served.yanked)}"')
            links.append(f"<a {' '.join(attributes)}>{escape(served.filename)}</a><br>")
        return _html(f"Links for {project}", links)

    def root(self, as_json: bool) -> bytes:
        projects = sorted({served.project for served in self.files.values()})
        if as_json:
            document = {"meta": {"api-version": "1.1"}, "projects": [{"name": p} for p in projects]}
            return json.dumps(document).encode()
        return _html("Simple index", [f'<a href="{p}/">{p}</a><br>' for p in projects])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                upstream.requests.append(Request(path, self.headers.get("Authorization")))
                if path.startswith("/simple/") and not self._authorized():
                    self._answer(401, b"login required", "text/plain", realm=True)
                    return
                if path.startswith(MOVED):
                    # The index's old address, as an index that moved keeps it answering.
                    self._redirect(path.removeprefix(MOVED.removesuffix("/simple/")))
                elif path == "/simple/":
                    as_json = self._wants_json()
                    self._answer(200, upstream.root(as_json), self._page_type(as_json))
                elif path.startswith("/simple/"):
                    self._project(path.removeprefix("/simple/").strip("/"))
                elif path.startswith("/packages/"):
                    self._file(unquote(path.removeprefix("/packages/")))
                else:
                    self._answer(404, b"not found", "text/plain")

            def _redirect(self, location: str) -> None:
                self.send_response(301)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _project(self, name: str) -> None:
                if canonicalize_name(name) != name:
                    self._redirect(f"/simple/{canonicalize_name(name)}/")
                    return
                if not upstream._project_files(name):
                    self._answer(404, b"no such project", "text/plain")
                    return
                as_json = self._wants_json()
                page = upstream.project_json(name) if as_json else upstream.project_html(name)
                self._answer(200, page, self._page_type(as_json))

            def _file(self, filename: str) -> None:
                served = upstream.files.get(filename.removesuffix(".metadata"))
                if served is None:
                    self._answer(404, b"no such file", "text/plain")
                elif filename.endswith(".metadata") and served.metadata:
                    self._answer(200, served.metadata, "application/octet-stream")
                elif filename == served.filename:
                    self._answer(200, served.body, "application/octet-stream", slow=True)
                else:
                    self._answer(404, b"no such file", "text/plain")

            def _authorized(self) -> bool:
                if upstream.login is None:
                    return True
                pair = ":".join(upstream.login).encode()
                expected = "Basic " + base64.b64encode(pair).decode()
                return self.headers.get("Authorization") == expected

            def _wants_json(self) -> bool:
                return not upstream.html_only and JSON_TYPE in self.headers.get("Accept", "")

            def _page_type(self, as_json: bool) -> str:
                return JSON_TYPE if as_json else "text/html; charset=utf-8"

            def _answer(
                self,
                status: int,
                body: bytes,
                content_type: str,
                *,
                realm: bool = False,
                slow: bool = False,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if realm:
                    self.send_header("WWW-Authenticate", 'Basic realm="upstream"')
                self.end_headers()
                step = CHUNK if slow and upstream.slow_files else len(body) or 1
                try:
                    for start in range(0, len(body), step):
                        if slow and upstream.slow_files:
                            time.sleep(upstream.slow_files)
                        self.wfile.write(body[start : start + step])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away: what an interrupted download does

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def _wheel_metadata(body: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        (member,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(member)


def _html(title: str, links: list[str]) -> bytes:
    body = "\n".join(links)
    return (
        "<!DOCTYPE html>\n<html><head>"
        '<meta name="pypi:repository-version" content="1.1">'
        f"<title>{title}</title></head><body><h1>{title}</h1>\n{body}\n</body></html>\n"
    ).encode()
