"""What pip and uv get beyond links: PEP 658 metadata, PEP 691 JSON, yanking."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import urlopen

import pytest
from pypi_simple import IndexPage, ProjectPage

from private_pypi.index import Index
from private_pypi.publish import Publisher, inspect_all
from private_pypi.reindex import Reindexer
from private_pypi.releases import Release, delete, unyank, yank
from private_pypi.storage import LocalStorage, S3Storage
from tests import invoking
from tests.factory import sdist, wheel
from tests.installers import run, uv_binary

ROOT = Path(__file__).resolve().parent.parent


def publish(index: Index, *paths: Path) -> None:
    Publisher(index).publish(inspect_all(paths))


def fetch(url: str) -> bytes:
    with urlopen(url, timeout=10) as response:
        return response.read()


def index_url(storage: S3Storage | LocalStorage) -> str:
    return storage.index_url


def client_pages(
    storage: S3Storage | LocalStorage, project: str
) -> tuple[ProjectPage, ProjectPage]:
    """The project page as a third-party client reads it: (from HTML, from JSON)."""
    url = f"{index_url(storage)}{project}/"
    html = fetch(url if isinstance(storage, S3Storage) else url + "index.html")
    data = json.loads(fetch(f"{url}index.json"))
    return ProjectPage.from_html(project, html, base_url=url), ProjectPage.from_json_data(
        data, base_url=url
    )


def chain(directory: Path, length: int = 3) -> list[Path]:
    """chain-0 needs chain-1 needs ... chain-N: wheels and sdists, with Requires-Python."""
    paths = []
    for n in range(length):
        needs = (f"chain-{n + 1}>=1",) if n + 1 < length else ()
        paths.append(
            wheel(directory, f"chain-{n}", "1.0", requires_dist=needs, requires_python=">=3.8")
        )
        paths.append(sdist(directory, f"chain-{n}", "1.0", requires_python=">=3.8"))
    return paths


def test_a_third_party_parser_finds_every_page_valid_and_consistent(
    index: Index, tmp_path: Path
) -> None:
    publish(index, *chain(tmp_path))
    yank(index, Release.parse("chain-2", "1.0"), "broken")
    storage = index.storage

    root_html = IndexPage.from_html(
        fetch(index_url(storage) + ("" if isinstance(storage, S3Storage) else "index.html"))
    )
    root_json = json.loads(fetch(index_url(storage) + "index.json"))
    assert sorted(root_html.projects) == ["chain-0", "chain-1", "chain-2"]
    assert [p["name"] for p in root_json["projects"]] == ["chain-0", "chain-1", "chain-2"]

    for project in root_html.projects:
        from_html, from_json = client_pages(storage, project)
        assert from_html.repository_version == "1.1"
        html_packages = {p.filename: p for p in from_html.packages}
        for package in from_json.packages:
            twin = html_packages.pop(package.filename)
            body = fetch(package.url)
            assert (
                package.digests["sha256"]
                == twin.digests["sha256"]
                == hashlib.sha256(body).hexdigest()
            )
            assert package.size == len(body)
            assert package.upload_time is not None
            assert package.requires_python == twin.requires_python == ">=3.8"
            assert package.is_yanked == twin.is_yanked == (project == "chain-2")
            if package.is_yanked:
                assert package.yanked_reason == twin.yanked_reason == "broken"
            assert (
                package.has_metadata == bool(twin.has_metadata) == package.filename.endswith(".whl")
            )
            if package.has_metadata:
                metadata = fetch(package.metadata_url)
                assert package.metadata_digests == twin.metadata_digests
                assert package.metadata_digests["sha256"] == hashlib.sha256(metadata).hexdigest()
        assert html_packages == {}


class RequestLog(SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:
        self.requests.append(self.path)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Index, str, list[str]]]:
    """A local repository behind `python -m http.server`, and the paths it was asked for."""
    storage = LocalStorage(tmp_path / "repository")
    storage.root.mkdir()
    requests: list[str] = []
    handler = type("Log", (RequestLog,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(storage.root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Index(storage), f"http://127.0.0.1:{server.server_port}/simple/", requests
    server.shutdown()


@pytest.fixture(scope="module")
def pip_python() -> Path:
    """This project's own pip: new enough (25.3+) to resolve from metadata files alone."""
    return Path(sys.executable)


def pip_resolve(python: Path, url: str, requirement: str) -> dict[str, str]:
    """What `pip install --dry-run --report` would install: {name: version}."""
    report = run([
        str(python), "-m", "pip", "install", "--dry-run", "--quiet", "--no-cache-dir",
        "--ignore-installed", "--report", "-", "--index-url", url, requirement,
    ]).stdout  # fmt: skip
    return {
        item["metadata"]["name"]: item["metadata"]["version"]
        for item in json.loads(report)["install"]
    }


def uv_resolve(tmp_path: Path, url: str, requirement: str) -> dict[str, str]:
    """What `uv pip compile` pins: {name: version}."""
    requirements = tmp_path / "requirements.in"
    requirements.write_text(requirement + "\n")
    output = run([
        uv_binary(), "pip", "compile", "--quiet", "--no-config", "--no-cache",
        "--no-header", "--no-annotate", "--python-version", "3.11",
        "--index-url", url, str(requirements),
    ]).stdout  # fmt: skip
    pins = [line.split("==") for line in output.splitlines() if "==" in line]
    return {name: version for name, version in pins}


def test_pip_and_uv_resolve_from_metadata_files_without_fetching_a_wheel(
    served: tuple[Index, str, list[str]], pip_python: Path, tmp_path: Path
) -> None:
    index, url, requests = served
    publish(index, *chain(tmp_path / "dist", length=4))
    expected = {f"chain-{n}": "1.0" for n in range(4)}

    assert pip_resolve(pip_python, url, "chain-0") == expected
    assert any(path.endswith(".whl.metadata") for path in requests)
    assert not [path for path in requests if path.endswith((".whl", ".tar.gz"))]

    requests.clear()
    assert uv_resolve(tmp_path, url, "chain-0") == expected
    assert any(path.endswith(".whl.metadata") for path in requests)
    assert not [path for path in requests if path.endswith((".whl", ".tar.gz"))]


def test_pip_and_uv_skip_a_yanked_release_unless_it_is_pinned(
    served: tuple[Index, str, list[str]], pip_python: Path, tmp_path: Path
) -> None:
    index, url, _ = served
    publish(index, wheel(tmp_path, "acme", "1.0"), wheel(tmp_path, "acme", "1.1"))
    release = Release.parse("acme", "1.1")

    yank(index, release, "broken build")
    assert pip_resolve(pip_python, url, "acme") == {"acme": "1.0"}
    assert uv_resolve(tmp_path, url, "acme") == {"acme": "1.0"}
    assert pip_resolve(pip_python, url, "acme==1.1") == {"acme": "1.1"}
    assert uv_resolve(tmp_path, url, "acme==1.1") == {"acme": "1.1"}

    unyank(index, release)
    assert pip_resolve(pip_python, url, "acme") == {"acme": "1.1"}
    assert uv_resolve(tmp_path, url, "acme") == {"acme": "1.1"}


def test_yank_state_and_upload_times_survive_a_reindex(index: Index, tmp_path: Path) -> None:
    publish(index, wheel(tmp_path, "acme", "1.0"), sdist(tmp_path, "acme", "1.0"))
    yank(index, Release.parse("acme", "1.0"), "use 1.1")
    before = json.loads(index.storage.read("simple/acme/index.json").body)  # type: ignore[union-attr]

    # Lose the record entirely: reindex must rebuild it from the stored files and markers.
    index.storage.delete("simple/acme/index.json")
    Reindexer(index).run()

    after = json.loads(index.storage.read("simple/acme/index.json").body)  # type: ignore[union-attr]
    assert [f["yanked"] for f in after["files"]] == ["use 1.1", "use 1.1"]
    assert {f["filename"]: f["hashes"] for f in after["files"]} == {
        f["filename"]: f["hashes"] for f in before["files"]
    }
    # With the record gone, the first upload time comes from the stored file itself.
    for old, new in zip(before["files"], after["files"], strict=True):
        assert abs(_seconds(old["upload-time"]) - _seconds(new["upload-time"])) < 2

    # With the record there, reindex keeps its upload times exactly.
    Reindexer(index).run()
    again = json.loads(index.storage.read("simple/acme/index.json").body)  # type: ignore[union-attr]
    assert [f["upload-time"] for f in again["files"]] == [f["upload-time"] for f in after["files"]]


def _seconds(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_delete_takes_the_release_off_the_pages_and_removes_its_files(
    index: Index, tmp_path: Path
) -> None:
    publish(index, wheel(tmp_path, "acme", "1.0"), wheel(tmp_path, "acme", "1.1"))
    deleted = delete(index, Release.parse("acme", "1.0"))

    assert [entry.filename for entry in deleted.files] == ["acme-1.0-py3-none-any.whl"]
    page = index.project("acme")  # type: ignore[arg-type]
    assert page is not None and page.versions == ["1.1"]
    keys = {info.key for info in index.storage.list("simple/acme/")}
    assert not {key for key in keys if "acme-1.0-" in key}


def test_invoke_delete_asks_first_and_deletes_nothing_without_a_yes(tmp_path: Path) -> None:
    repository = tmp_path / "repository"
    publish(Index(LocalStorage(repository)), wheel(tmp_path, "acme", "1.0"))

    def invoke(*args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
        return invoking.invoke(*args, "--repository", str(repository), answer=answer)

    refused = invoke("delete", "acme", "1.0", answer="n\n")
    assert refused.returncode == 1 and "nothing deleted" in refused.stderr
    assert (repository / "simple/acme/acme-1.0-py3-none-any.whl").exists()

    deleted = invoke("delete", "acme", "1.0", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert not (repository / "simple/acme/acme-1.0-py3-none-any.whl").exists()

    missing = invoke("yank", "acme", "9.9")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"error: acme 9.9 is not in {repository.resolve()} (versions there: none); "
        "nothing was changed"
    ]
