"""Many publishers at once, and no lock: every entry survives.

Eight publishers start at the same moment, each with its own storage client and index,
as eight CI jobs would, and each publishes five releases. Afterwards every file is on its
project's HTML and JSON pages, the two agree, and the root lists every project. Each race
runs several rounds, so that an unlucky interleaving has room to show, on S3 (moto) and
on a local directory (lock file and atomic replace); and one round on LocalStack's S3,
and on moto behind a proxy that answers S3's 409 ConditionalRequestConflict to a third
of the conditional writes, as S3 may when writers race.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from private_pypi.aws import Access
from private_pypi.index import Index
from private_pypi.publish import Publisher, inspect_all
from private_pypi.storage import LocalStorage, S3Settings, S3Storage, Storage
from tests.conftest import REGION
from tests.consistency import Repository, read_repository
from tests.factory import wheel
from tests.faultproxy import FaultProxy, conflicts
from tests.racing import publish_in_this_process, publishes, race, yanks

PUBLISHERS = 8
RELEASES = 5
# Rounds of each race: three where a round is cheap; one on LocalStack and through 409s,
# for time.
ROUNDS = {"s3": 3, "localstack": 1, "s3-409": 1, "local": 3}


@dataclass(frozen=True)
class Clients:
    """One storage client per publisher, opened once per module (an S3 client costs a
    noticeable fraction of a second to make), on one repository shared by the rounds."""

    publishers: Sequence[Storage]

    def check(self) -> Repository:
        """Read the repository afresh, and check it is whole and consistent."""
        repository = read_repository(self.publishers[0])
        repository.assert_settled()
        return repository


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each race on each backend, as many rounds as the backend runs. A round names its
    projects apart from earlier rounds' in the repository they share."""
    if "round" not in metafunc.fixturenames:
        return
    cases = [
        pytest.param(
            backend,
            number,
            id=f"{backend}-round{number}",
            marks=[pytest.mark.localstack] if backend == "localstack" else [],
        )
        for backend, rounds in ROUNDS.items()
        for number in range(1, rounds + 1)
    ]
    metafunc.parametrize(("clients", "round"), cases, indirect=["clients"], scope="module")


@pytest.fixture(scope="module")
def clients(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Clients]:
    if request.param == "local":
        directory = tmp_path_factory.mktemp("concurrency") / "repository"
        yield Clients([LocalStorage(directory) for _ in range(PUBLISHERS)])
        return
    if request.param == "localstack":
        yield bucket_clients(request.getfixturevalue("localstack_endpoint"))
        return
    endpoint = request.getfixturevalue("moto_endpoint")
    if request.param == "s3":
        yield bucket_clients(endpoint)
        return
    with FaultProxy(endpoint) as proxy:
        proxy.inject(conflicts(r"/simple/", share=1 / 3))
        yield bucket_clients(proxy.url)


def bucket_clients(endpoint: str) -> Clients:
    bucket = f"pypi-race-{uuid.uuid4().hex[:12]}"
    settings = S3Settings(bucket, Access("testing", "testing", REGION, endpoint))
    storages = [S3Storage(settings) for _ in range(PUBLISHERS)]
    storages[0].client.create_bucket(Bucket=bucket)
    return Clients(storages)


def test_publishers_of_one_project_lose_no_version(
    clients: Clients, tmp_path: Path, round: int
) -> None:
    project = f"solo-{round}"
    releases = [
        [wheel(tmp_path, project, f"{n}.{release}") for release in range(RELEASES)]
        for n in range(PUBLISHERS)
    ]
    race(clients.publishers, [publishes(wheels) for wheels in releases])

    repository = clients.check()
    assert project in repository.root_json
    assert repository.files(project) == {path.name for wheels in releases for path in wheels}


def test_publishers_of_new_projects_all_join_the_root_page(
    clients: Clients, tmp_path: Path, round: int
) -> None:
    # Every release is a new project, so every publish races to add one to the root page.
    releases = [
        [wheel(tmp_path, f"team{n}-lib{release}-{round}", "1.0") for release in range(RELEASES)]
        for n in range(PUBLISHERS)
    ]
    race(clients.publishers, [publishes(wheels) for wheels in releases])

    repository = clients.check()
    for path in (path for wheels in releases for path in wheels):
        project = canonicalize_name(path.name.split("-")[0])
        assert project in repository.root_json
        assert repository.files(project) == {path.name}


def test_publishers_of_the_same_files_agree_on_one_entry_each(
    clients: Clients, tmp_path: Path, round: int
) -> None:
    # A CI job re-run while the first run is still going: the same files, at the same time.
    project = f"twins-{round}"
    wheels = [wheel(tmp_path, project, f"1.{release}") for release in range(RELEASES)]
    race(clients.publishers, [publishes(wheels) for _ in range(PUBLISHERS)])

    page = clients.check().projects[project]
    assert page.filenames == {path.name for path in wheels}
    stored = clients.publishers[0]
    for path in wheels:
        assert stored.sha256(f"simple/{project}/{path.name}") == inspect_all([path])[0].sha256


def test_yanks_racing_publishes_lose_neither(clients: Clients, tmp_path: Path, round: int) -> None:
    project = f"yanked-{round}"
    half = PUBLISHERS // 2
    published = [
        wheel(tmp_path, project, f"0.{n}.{r}") for n in range(half) for r in range(RELEASES)
    ]
    Publisher(Index(clients.publishers[0])).publish(inspect_all(published))
    releases = [
        [wheel(tmp_path, project, f"1.{n}.{release}") for release in range(RELEASES)]
        for n in range(half)
    ]
    doomed = [[f"0.{n}.{release}" for release in range(RELEASES)] for n in range(half)]

    race(
        clients.publishers,
        [publishes(wheels) for wheels in releases]
        + [yanks(project, versions) for versions in doomed],
    )

    page = clients.check().projects[project]
    assert page.json is not None
    assert page.filenames == {path.name for path in published} | {
        path.name for wheels in releases for path in wheels
    }
    yanked = {p.filename: p.yanked_reason for p in page.json.packages if p.is_yanked}
    assert yanked == {path.name: f"{path.name.split('-')[1]} is broken" for path in published}


def test_publishers_in_separate_processes_share_a_directory_safely(tmp_path: Path) -> None:
    # Separate processes share nothing but the directory, and its lock file.
    repository = tmp_path / "repository"
    releases = [
        [wheel(tmp_path, f"proc{n % 2}", f"{n}.{release}") for release in range(RELEASES)]
        for n in range(PUBLISHERS)
    ]
    # Forked from a clean, single-threaded server with the publisher already imported:
    # quick to start, and safe from the locks this process's threads may hold.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.racing"])
    start = context.Barrier(PUBLISHERS)
    processes = [
        context.Process(target=publish_in_this_process, args=(repository, wheels, start))
        for wheels in releases
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * PUBLISHERS

    pages = read_repository(LocalStorage(repository))
    pages.assert_settled()
    assert pages.root_json == {"proc0", "proc1"}
    for n in range(2):
        expected = {path.name for wheels in releases[n::2] for path in wheels}
        assert pages.files(f"proc{n}") == expected
