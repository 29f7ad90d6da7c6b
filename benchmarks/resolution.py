"""P4. What pip and uv fetch to resolve a dependency chain (chain-0 needs chain-1 … ).

The chain is published with our Publisher into a local repository, which a small HTTP
server serves while counting requests and bytes by kind of object. A copy of the same
repository without metadata files (no .metadata, no data-core-metadata, no core-metadata)
shows what the metadata files save: without them an installer must fetch each wheel to
read its dependencies. Each wheel carries an incompressible payload, so fetching one shows.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from private_pypi import layout
from private_pypi.demo import isolated_pip_environment
from private_pypi.index import Index
from private_pypi.pages import (
    ProjectPage,
    parse_project_json,
    render_project_html,
    render_project_json,
)
from private_pypi.publish import Publisher, inspect_all
from private_pypi.storage import LocalStorage
from tests.factory import wheel

from .one_release import BenchmarkError

PAYLOAD_BYTES = 200_000


@dataclass
class Traffic:
    """Requests and body bytes served, by kind: page, metadata, wheel or sdist."""

    requests: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str, sent: int) -> None:
        with self.lock:
            self.requests[kind] += 1
            self.bytes[kind] += sent


@dataclass(frozen=True)
class Resolution:
    installer: str  # "pip 23.2.1", "uv 0.9.0"
    metadata_files: bool
    seconds: float
    requests: Counter[str]
    bytes: Counter[str]

    @property
    def wheels_fetched(self) -> int:
        return self.requests["wheel"]


def kind_of(path: str) -> str:
    path = path.split("?", 1)[0]
    if path.endswith(layout.METADATA_SUFFIX):
        return "metadata"
    if path.endswith(".whl"):
        return "wheel"
    if path.endswith((".tar.gz", ".zip")):
        return "sdist"
    return "page"


class CountingHandler(SimpleHTTPRequestHandler):
    traffic: Traffic

    def copyfile(self, source: Any, outputfile: Any) -> None:
        while chunk := source.read(64 * 1024):
            try:
                outputfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break  # the client had read enough: count what it was sent
            self.sent += len(chunk)

    def handle_one_request(self) -> None:
        # Cleared first: a connection that closes leaves the last request's command set.
        self.command, self.sent = "", 0
        super().handle_one_request()
        if self.command:
            self.traffic.add(kind_of(self.path), self.sent)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[tuple[str, Traffic]]:
    """Serve `directory` on 127.0.0.1; yield its index URL and its traffic so far."""
    traffic = Traffic()
    handler = type("Handler", (CountingHandler,), {"traffic": traffic})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/simple/", traffic
    finally:
        server.shutdown()
        thread.join()


def chain(directory: Path, length: int) -> list[Path]:
    """Wheels of chain-0 … chain-N, each needing the next, each with a payload."""
    wheels = []
    for number in range(length):
        requires = (f"chain-{number + 1}",) if number + 1 < length else ()
        payload = random.Random(number).randbytes(PAYLOAD_BYTES)
        wheels.append(
            wheel(directory, f"chain-{number}", "1.0", requires_dist=requires, payload=payload)
        )
    return wheels


def without_metadata(repository: Path, copy: Path) -> None:
    """The same repository with no metadata files: pages re-rendered without them."""
    shutil.copytree(repository, copy)
    for metadata in copy.rglob(f"*{layout.METADATA_SUFFIX}"):
        metadata.unlink()
    for page_path in copy.glob("simple/*/index.json"):
        page = parse_project_json(page_path.read_bytes())
        stripped = ProjectPage(
            page.name, tuple(replace(entry, metadata_sha256=None) for entry in page.files)
        )
        page_path.write_bytes(render_project_json(stripped))
        page_path.with_name("index.html").write_bytes(render_project_html(stripped))


def installer_version(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()[1]


def run(length: int) -> list[Resolution]:
    uv = shutil.which("uv")
    if uv is None:
        raise BenchmarkError("uv is not installed")
    # The dev group's pip: recent enough to resolve from metadata files alone.
    python = Path(sys.executable)
    pip_name = "pip " + installer_version([str(python), "-m", "pip", "--version"])
    uv_name = "uv " + installer_version([uv, "--version"])
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-resolution-") as scratch:
        ours = Path(scratch, "ours")
        storage = LocalStorage(ours)
        Publisher(Index(storage)).publish(inspect_all(chain(Path(scratch, "wheels"), length)))
        stripped = Path(scratch, "stripped")
        without_metadata(ours, stripped)
        for repository, metadata_files in ((ours, True), (stripped, False)):
            with serve(repository) as (url, traffic):
                for name, resolve in ((pip_name, _pip), (uv_name, _uv)):
                    started = time.perf_counter()
                    resolved = resolve(python if name == pip_name else Path(uv), url)
                    seconds = time.perf_counter() - started
                    expected = {f"chain-{number}" for number in range(length)}
                    if resolved != expected:
                        raise BenchmarkError(f"{name} resolved {sorted(resolved)}")
                    results.append(
                        Resolution(
                            name,
                            metadata_files,
                            seconds,
                            Counter(traffic.requests),
                            Counter(traffic.bytes),
                        )
                    )
                    traffic.requests.clear()
                    traffic.bytes.clear()
    return results


def _pip(python: Path, url: str) -> set[str]:
    command = [
        *(str(python), "-m", "pip", "install", "--dry-run", "--report", "-", "--quiet"),
        *("--no-cache-dir", "--index-url", url, "chain-0"),
    ]
    output = _run(command)
    report = json.loads(output)
    return {item["metadata"]["name"] for item in report["install"]}


def _uv(uv: Path, url: str) -> set[str]:
    command = [
        *(str(uv), "pip", "compile", "-", "--no-config", "--no-cache", "--quiet"),
        *("--python", sys.executable, "--index-url", url, "--no-header", "--no-annotate"),
    ]
    output = _run(command, stdin="chain-0\n")
    return {line.split("==")[0] for line in output.splitlines() if "==" in line}


def _run(command: list[str], stdin: str | None = None) -> str:
    result = subprocess.run(
        command, input=stdin, env=isolated_pip_environment(), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BenchmarkError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout
