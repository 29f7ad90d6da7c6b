"""A yank, unyank or delete killed at any request, then run again, as its user would: the
re-run finishes the job, and says what it repaired.

On S3 the kill is the fault proxy's: every request from the n-th on is dropped, so the
command dies there, as a CI job would. On a local directory the storage dies before its
n-th request. Each command is killed at every request it makes, one run per request (after
the JSON, between the HTML copies, between the file removals of a delete, after a yank
marker); then it runs again, and the pages must be what pip reads from a finished job
(HTML and JSON agree, every file linked is stored), verify must pass, and the re-run
must name what it finished.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from botocore.config import Config

from private_pypi import layout
from private_pypi.aws import Access
from private_pypi.distributions import Distribution
from private_pypi.errors import PrivatePypiError
from private_pypi.index import Index
from private_pypi.pages import PROJECT_PAGE, ProjectPage
from private_pypi.publish import Publisher, inspect_all
from private_pypi.releases import Release, ReleaseChange, delete, unyank, yank
from private_pypi.storage import LocalStorage, S3Settings, S3Storage, Storage
from private_pypi.verify import Retry, Verifier
from tests.conftest import REGION, new_bucket
from tests.consistency import read_repository
from tests.factory import sdist, wheel
from tests.faultproxy import Drop, Fault, FaultProxy
from tests.invoking import run_in_process

RELEASE = Release.parse("acme", "1.0")
REASON = "broken on Windows"
RELEASE_FILES = {"acme-1.0-py3-none-any.whl", "acme-1.0.tar.gz"}
OTHER_FILE = "acme-2.0-py3-none-any.whl"
# One attempt: a dropped request fails the command, as its death would.
ONE_ATTEMPT = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2, read_timeout=10
)

Command = Callable[[Index], ReleaseChange]
COMMANDS: dict[str, Command] = {
    "yank": lambda index: yank(index, RELEASE, REASON),
    "unyank": lambda index: unyank(index, RELEASE),
    "delete": lambda index: delete(index, RELEASE),
}


def lagging_keys(index: Index, page: ProjectPage) -> set[str]:
    """The keys the re-run of a job killed after its JSON rewrites: if anything lags the
    JSON, each of the page's copies (its browse page among them) whose ETag doesn't show
    it is the page's (on a directory, where ETags don't tell, every copy), and the
    catalog's, if its line is older."""
    if not index.html_lags(RELEASE.project, page):
        return set()
    storage = index.storage
    directory = layout.project_dir(RELEASE.project)
    lagging = {
        copy.key(directory)
        for copy in PROJECT_PAGE.copies_on(directory_keys=storage.directory_keys)
        if (info := storage.head(copy.key(directory))) is None
        or info.etag != storage.etag_for(copy.render(page))
    }
    catalog = index.catalog_snapshot().readable_record
    if catalog is None or catalog.lags(RELEASE.project, page):
        lagging |= {layout.CATALOG_JSON, layout.BROWSE_ROOT}
    return lagging


class Killed(Exception):
    """The job died before this request."""


class Dying:
    """A local storage whose job dies before its n-th request (counted from 0); with no n,
    it lives, and records its requests."""

    def __init__(self, storage: Storage, at: int | None = None) -> None:
        self._storage, self._at = storage, at
        self.requests: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._storage, name)
        if name not in {"read", "head", "write", "upload", "sha256", "delete", "list"}:
            return attribute

        def request(key: str, *args: Any, **kwargs: Any) -> Any:
            if self._at is not None and len(self.requests) >= self._at:
                raise Killed
            self.requests.append(f"{name} {key}")
            return attribute(key, *args, **kwargs)

        return request


@dataclass
class DropFrom(Fault):
    """Drops every request from the `at`-th on (counted from 0), of any method or key: the
    job died there. With no `at`, drops nothing, and records the requests."""

    at: int | None = None
    requests: list[str] = field(default_factory=list[str])

    def applies(self, method: str, path: str) -> bool:
        if self.at is not None and len(self.requests) >= self.at:
            return True
        self.requests.append(f"{method} {path}")
        return False


def killed(at: int | None = None) -> DropFrom:
    return DropFrom("ANY", "", Drop(), at=at)


@dataclass
class Backend:
    """A fresh repository each time, and the storage a command uses on it, dying at `at`."""

    name: str
    fresh: Callable[[], Storage]
    # The storage the command runs on, and what it recorded of its requests when done.
    dying: Callable[[Storage, int | None], tuple[Storage, Callable[[], list[str]]]]


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> list[Distribution]:
    """acme 1.0, a wheel and an sdist, the release the commands act on; and acme 2.0."""
    directory = tmp_path_factory.mktemp("dists")
    paths = [wheel(directory, "acme", "1.0"), sdist(directory, "acme", "1.0")]
    return inspect_all([*paths, wheel(directory, "acme", "2.0")])


def local_backend(directory: Path) -> Backend:
    roots = iter(range(1000))

    def fresh_directory() -> Storage:
        return LocalStorage(directory / f"repository-{next(roots)}")

    def dying_locally(storage: Storage, at: int | None) -> tuple[Storage, Any]:
        dying = Dying(storage, at)
        return cast(Storage, dying), lambda: dying.requests

    return Backend("local", fresh_directory, dying_locally)


@pytest.fixture(params=["s3", "local"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, moto_endpoint: str
) -> Iterator[Backend]:
    if request.param == "local":
        yield local_backend(tmp_path)
        return
    with FaultProxy(moto_endpoint) as proxy:

        def fresh_bucket() -> Storage:
            proxy.clear()
            access = Access("testing", "testing", REGION, proxy.url)
            return S3Storage(S3Settings(new_bucket(moto_endpoint), access), config=ONE_ATTEMPT)

        def dying_on_s3(storage: Storage, at: int | None) -> tuple[Storage, Any]:
            fault = killed(at)
            proxy.clear()
            proxy.inject(fault)
            return storage, lambda: fault.requests

        yield Backend("s3", fresh_bucket, dying_on_s3)
        proxy.clear()


def prepared(backend: Backend, command: str, distributions: list[Distribution]) -> Storage:
    """A repository with acme 1.0 and 2.0 published, and 1.0 yanked for an unyank."""
    storage = backend.fresh()
    index = Index(storage)
    Publisher(index).publish(distributions)
    if command == "unyank":
        yank(index, RELEASE, REASON)
    return storage


def assert_finished(storage: Storage, command: str) -> None:
    """The job is done, as pip and verify read the repository."""
    repository = read_repository(storage)
    repository.assert_settled()  # HTML as JSON, both copies alike, every link stored
    project = repository.projects["acme"]
    assert project.json is not None
    packages = {package.filename: package for package in project.json.packages}
    if command == "delete":
        assert set(packages) == {OTHER_FILE}
        left = {info.key for info in storage.list("simple/acme/acme-1.0")}
        assert left == set(), f"the deleted files' objects are still stored: {left}"
    else:
        for filename in RELEASE_FILES:
            assert packages[filename].is_yanked == (command == "yank"), filename
            marker = storage.head(layout.yank_key(RELEASE.project, filename))
            assert (marker is not None) == (command == "yank"), filename
        assert not packages[OTHER_FILE].is_yanked
    report = Verifier(storage.index_url, storage, retry=Retry(1, 0)).run()
    assert report.ok, [str(problem) for problem in report.problems]


def requests_of(backend: Backend, command: str, distributions: list[Distribution]) -> list[str]:
    """The requests the command makes, run whole."""
    storage, recorded = backend.dying(prepared(backend, command, distributions), None)
    COMMANDS[command](Index(storage))
    return recorded()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_killed_at_any_request_finishes_the_job_when_run_again(
    backend: Backend, command: str, distributions: list[Distribution]
) -> None:
    requests = requests_of(backend, command, distributions)
    assert any("index.json" in request for request in requests)

    for at, request in enumerate(requests):
        where = f"{command} killed before request {at}, {request}"
        storage = prepared(backend, command, distributions)
        dying, _ = backend.dying(storage, at)
        with pytest.raises((Killed, PrivatePypiError)):
            COMMANDS[command](Index(dying))
        backend.dying(storage, None)  # alive again: the proxy forwards every request
        index = Index(storage)
        page = index.project(RELEASE.project)
        assert page is not None, where
        files = page.files_of(RELEASE.version)
        json_done = {
            "yank": all(entry.yanked == REASON for entry in files),
            "unyank": all(entry.yanked is None for entry in files),
            "delete": not files,
        }[command]
        lagging = lagging_keys(index, page)
        left = {info.key for info in storage.list("simple/acme/acme-1.0")}

        again = COMMANDS[command](index)

        if json_done:
            assert again.files == (), where
            assert set(again.repaired) == lagging, where
            assert set(again.removed) == (left if command == "delete" else set()), where
        else:
            assert {entry.filename for entry in again.files} == RELEASE_FILES, where
            assert again.repaired == again.removed == (), where
        assert_finished(storage, command)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_rerun_of_a_command_killed_after_its_json_says_what_it_finished(
    command: str,
    distributions: list[Distribution],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backend = local_backend(tmp_path)
    requests = requests_of(backend, command, distributions)
    storage = prepared(backend, command, distributions)
    dying, _ = backend.dying(storage, requests.index("write simple/acme/index.json") + 1)
    with pytest.raises(Killed):
        COMMANDS[command](Index(dying))
    where = storage.location
    options: dict[str, Any] = {"delete": {"yes": True}, "yank": {"reason": REASON}}.get(command, {})
    wheel_key = "simple/acme/acme-1.0-py3-none-any.whl"
    removed = [wheel_key, f"{wheel_key}.metadata", "simple/acme/acme-1.0.tar.gz"]
    rewrote = "rewrote simple/acme/index.html, project/acme/index.html to match the JSON"
    finished = {
        "yank": rewrote,
        "unyank": rewrote,
        "delete": f"{rewrote}; removed {', '.join(removed)}",
    }
    nothing_to_do = {
        "yank": f"acme 1.0 is already yanked in {where}, for that reason",
        "unyank": f"acme 1.0 is not yanked in {where}",
        "delete": f"acme 1.0 was deleted from {where} already",
    }

    run_in_process(command, "acme", "1.0", repository=where, **options)
    rerun = capsys.readouterr().out.splitlines()
    run_in_process(command, "acme", "1.0", repository=where, **options)
    third = capsys.readouterr().out.splitlines()

    assert rerun[0] == f"finished an interrupted run in {where}: {finished[command]}"
    assert third == [f"nothing to do: {nothing_to_do[command]}"]
    assert_finished(storage, command)
