"""Several versions of one project yanked, unyanked or deleted in one command: one update of
the project's page, whatever the number of versions, every marker and removal at once."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.version import Version

from private_pypi.cli import app
from private_pypi.index import Index
from private_pypi.publish import Publisher, inspect_all
from private_pypi.storage import S3Storage
from tests.conftest import environment_of
from tests.factory import sdist, wheel
from tests.motoserver import MotoServer

OLD = ("1.0", "1.1", "1.2")
# Long beside a request's own CPU: see test_publish.py.
LATENCY = 0.1


@pytest.fixture(scope="module")
def slow_s3() -> Iterator[MotoServer]:
    """A server in its own process that counts and times the requests it answers."""
    with MotoServer(latency=LATENCY, quiet=True, count_requests=True, own_process=True) as server:
        yield server


def repository(server: MotoServer, tmp_path: Path) -> S3Storage:
    """acme 1.0, 1.1, 1.2 and 2.0, each a wheel and an sdist, in a new bucket."""
    storage = server.storage(server.create_bucket(new_bucket_name()))
    files = [
        made
        for version in (*OLD, "2.0")
        for made in (wheel(tmp_path, "acme", version), sdist(tmp_path, "acme", version))
    ]
    Publisher(Index(storage)).publish(inspect_all(files))
    return storage


def new_bucket_name() -> str:
    return f"batch-{uuid.uuid4().hex[:12]}"


def private_pypi(
    server: MotoServer, storage: S3Storage, *args: str
) -> tuple[list[str], Counter[str], int]:
    """The command, run against `storage`: what it printed, and the requests the server
    answered for it, with their round trips."""
    server.reset()
    result = CliRunner().invoke(app, list(args), env=environment_of(storage))
    assert result.exit_code == 0, result.output
    return result.output.splitlines(), server.counts(), server.round_trips()


def test_yanking_three_versions_costs_what_one_costs_in_round_trips(
    slow_s3: MotoServer, tmp_path: Path
) -> None:
    one = repository(slow_s3, tmp_path / "one")
    _, one_costs, one_trips = private_pypi(slow_s3, one, "yank", "acme", "1.0")
    storage = repository(slow_s3, tmp_path / "three")

    printed, costs, trips = private_pypi(
        slow_s3, storage, "yank", "acme", *OLD, "--reason", "broken"
    )

    page = Index(storage).project("acme")  # type: ignore[arg-type]
    assert page is not None
    assert {entry.version: entry.yanked for entry in page.files} == {
        **dict.fromkeys(OLD, "broken"),
        "2.0": None,
    }
    assert sorted(
        info.key for info in storage.list("simple/acme/") if info.key.endswith(".yank")
    ) == sorted(f"simple/acme/{entry.filename}.yank" for entry in page.files if entry.yanked)
    assert printed[:3] == [
        f"yanked 2 file(s) of acme {version} in {storage.location}" for version in OLD
    ], printed
    # The page read; the looks at its copies; the markers, all at once; the JSON; its
    # copies: four more markers, and nothing else more.
    assert costs == one_costs + Counter(PutObject=4), (costs, one_costs)
    assert trips == one_trips <= 5, (trips, one_trips)


def test_deleting_versions_removes_every_file_and_finishes_an_interrupted_delete(
    slow_s3: MotoServer, tmp_path: Path
) -> None:
    storage = repository(slow_s3, tmp_path)
    index = Index(storage)
    # A delete of 1.0 killed after its page: the files are off the page, still stored.
    page = index.project("acme")  # type: ignore[arg-type]
    assert page is not None
    index.update_project("acme", lambda current: current.without_version(Version("1.0")))  # type: ignore[union-attr, arg-type]

    printed, _, _ = private_pypi(slow_s3, storage, "delete", "acme", "1.0", "1.1", "1.1", "--yes")

    assert Index(storage).project("acme").versions == ["1.2", "2.0"]  # type: ignore[union-attr, arg-type]
    assert sorted(info.key for info in storage.list("simple/acme/acme-1.")) == sorted(
        info.key for info in storage.list("simple/acme/acme-1.2")
    )
    location = storage.location
    assert printed[:3] == [
        f"finished an interrupted run in {location}: removed "
        + ", ".join(sorted(f"simple/acme/{name}" for name in release_files("1.0"))),
        f"  deleted acme-1.1-py3-none-any.whl from {location}",
        f"  deleted acme-1.1.tar.gz from {location}",
    ], printed


def test_unyanking_versions_one_of_them_not_yanked_unyanks_the_others(
    slow_s3: MotoServer, tmp_path: Path
) -> None:
    storage = repository(slow_s3, tmp_path)
    private_pypi(slow_s3, storage, "yank", "acme", "1.0", "1.1")

    printed, _, _ = private_pypi(slow_s3, storage, "unyank", "acme", "1.0", "1.1", "1.2")

    page = Index(storage).project("acme")  # type: ignore[arg-type]
    assert page is not None and all(entry.yanked is None for entry in page.files)
    assert not [info.key for info in storage.list("simple/acme/") if info.key.endswith(".yank")]
    location = storage.location
    assert printed[:3] == [
        f"unyanked 2 file(s) of acme 1.0 in {location}",
        f"unyanked 2 file(s) of acme 1.1 in {location}",
        f"nothing to do: acme 1.2 is not yanked in {location}",
    ], printed


def release_files(version: str) -> list[str]:
    wheel_name = f"acme-{version}-py3-none-any.whl"
    return [wheel_name, f"{wheel_name}.metadata", f"acme-{version}.tar.gz"]
