"""Hostile files at `invoke publish`: refused by name and reason, and nothing is written.

The corpus is tests/hostile_corpus.py. A refusal must come before the first write, so
a bad file among good ones stops them all, and a file that differs from one already
published under its name never replaces it: files are immutable.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from invoke.context import Context
from invoke.exceptions import Exit

import tasks
from private_pypi import layout
from private_pypi.errors import FileConflict
from private_pypi.index import Index
from private_pypi.publish import Publisher, PublishRefused, inspect_all
from private_pypi.storage import S3Storage, Storage
from private_pypi.storage.base import SHA256_METADATA
from tests.factory import wheel
from tests.hostile_corpus import CASE_IDS, HostileFile, conflicting_pair, generate
from tests.invoking import error_line, invoke

# Not stored in a dist directory at all: no filesystem takes a name over 255 bytes.
UNSTORABLE = {"over-long-name"}
# Never picked up by `--dist`, which publishes only .whl, .tar.gz and .zip files.
NOT_DISTRIBUTIONS = {"exe-file", "egg-file"}
REFUSED_BY_INSPECTION = [case for case in CASE_IDS if case not in UNSTORABLE | NOT_DISTRIBUTIONS]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HostileFile]:
    return {hostile.id: hostile for hostile in generate(tmp_path_factory.mktemp("corpus"))}


def dist_of(directory: Path, *files: Path) -> Path:
    """A dist directory holding copies of `files`."""
    directory.mkdir(parents=True)
    for file in files:
        shutil.copy(file, directory / file.name)
    return directory


def publish_task(dist: Path, repository: Path | None = None) -> None:
    """`invoke publish --dist DIST`, in this process: a subprocess for each case is slow."""
    tasks.publish(Context(), dist=str(dist), repository=str(repository) if repository else None)


def stored(storage: Storage) -> dict[str, str]:
    """Every stored key and its ETag."""
    return {info.key: info.etag for info in storage.list("")}


def nothing_in(directory: Path) -> bool:
    return not directory.exists() or not any(directory.rglob("*"))


@pytest.mark.parametrize("case", REFUSED_BY_INSPECTION)
def test_a_hostile_file_is_refused_by_name_and_reason_and_nothing_is_written(
    case: str, corpus: dict[str, HostileFile], tmp_path: Path
) -> None:
    hostile = corpus[case]
    repository = tmp_path / "repository"

    with pytest.raises(Exit) as refused:
        publish_task(dist_of(tmp_path / "dist", hostile.path), repository)

    assert refused.value.code == 1
    header, problem = str(refused.value.message).splitlines()
    assert header == "error: refusing to publish: 1 problem(s), nothing was written"
    assert problem.startswith(f"  {hostile.path.name}: ") and hostile.reason in problem, problem
    assert nothing_in(repository)


@pytest.mark.parametrize("case", sorted(NOT_DISTRIBUTIONS))
def test_a_dist_directory_with_no_distribution_in_it_publishes_nothing(
    case: str, corpus: dict[str, HostileFile], tmp_path: Path
) -> None:
    repository, dist = tmp_path / "repository", dist_of(tmp_path / "dist", corpus[case].path)

    with pytest.raises(Exit) as refused:
        publish_task(dist, repository)

    assert refused.value.message == f"error: no .whl, .tar.gz or .zip files in {dist}"
    assert nothing_in(repository)


def test_the_whole_corpus_at_once_lists_every_problem_and_writes_nothing_to_s3(
    corpus: dict[str, HostileFile], s3_env: dict[str, str], s3_storage: S3Storage
) -> None:
    dist = next(iter(corpus.values())).path.parent
    published = invoke("publish", "--dist", str(dist), env=s3_env)

    assert published.returncode == 1
    first, *problems = published.stderr.splitlines()
    assert first == f"error: refusing to publish: {len(problems)} problem(s), nothing was written"
    assert len(problems) == len(REFUSED_BY_INSPECTION)
    for case in REFUSED_BY_INSPECTION:
        hostile = corpus[case]
        (line,) = [line for line in problems if line.startswith(f"  {hostile.path.name}: ")]
        assert hostile.reason in line
    assert stored(s3_storage) == {}


def test_good_files_with_one_bad_one_are_all_refused_and_nothing_is_written(
    corpus: dict[str, HostileFile],
    s3_env: dict[str, str],
    s3_storage: S3Storage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    good = [wheel(tmp_path / "good", "acme", "1.0"), wheel(tmp_path / "good", "acme", "1.1")]
    bad = corpus["truncated-zip"].path

    with pytest.raises(Exit) as refused:
        publish_task(dist_of(tmp_path / "dist", *good, bad))

    lines = str(refused.value.message).splitlines()
    assert lines[0] == "error: refusing to publish: 1 problem(s), nothing was written"
    assert lines[1].startswith(f"  {bad.name}: not a readable zip archive")
    assert stored(s3_storage) == {}


def test_two_different_files_of_one_name_given_together_are_refused(
    storage: Storage, tmp_path: Path
) -> None:
    # `--dist` reads one directory, which cannot hold both: this reaches them through the API.
    first, second = conflicting_pair(tmp_path)

    with pytest.raises(PublishRefused, match="nothing was written") as refused:
        Publisher(Index(storage)).publish(inspect_all([first, second]))

    assert refused.value.problems == [
        f"{first.name}: given twice with different content ({first} and {second})"
    ]
    assert stored(storage) == {}


def test_a_different_file_under_a_published_name_is_refused_and_nothing_changes(
    s3_env: dict[str, str], s3_storage: S3Storage, tmp_path: Path
) -> None:
    first, second = conflicting_pair(tmp_path / "pair")
    assert invoke("publish", "--dist", str(first.parent), env=s3_env).returncode == 0
    before = stored(s3_storage)

    refused = invoke("publish", "--dist", str(second.parent), env=s3_env)

    line = error_line(refused)
    assert line.startswith(f"error: {second.name}: the repository already has a different file")
    assert line.endswith("files are immutable, so publish a new version instead")
    assert stored(s3_storage) == before


def test_a_stored_but_unindexed_file_is_not_replaced_by_different_bytes(
    storage: Storage, tmp_path: Path
) -> None:
    # An interrupted run stored the first build but never indexed it; then it was rebuilt.
    first, second = conflicting_pair(tmp_path)
    (original,) = inspect_all([first])
    storage.upload(
        layout.file_key(original.project, original.filename),
        first,
        content_type="application/zip",
        cache_control=layout.FILE_CACHE_CONTROL,
        metadata={SHA256_METADATA: original.sha256},
    )
    before = stored(storage)

    with pytest.raises(FileConflict, match="files are immutable"):
        Publisher(Index(storage)).publish(inspect_all([second]))

    assert stored(storage) == before
