"""Every file of the hostile corpus is refused, by name and reason, without writing anything."""

from __future__ import annotations

import random
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from private_pypi.distributions import inspect
from private_pypi.errors import InvalidDistribution
from tests.factory import write_sdist, write_wheel, write_zip_sdist
from tests.hostile_corpus import CASE_IDS, HostileFile, conflicting_pair, generate


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HostileFile]:
    return {hostile.id: hostile for hostile in generate(tmp_path_factory.mktemp("corpus"))}


@pytest.fixture
def watched_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """An empty working directory and temp directory: anything extracted would land here."""
    cwd, temp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    temp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return [cwd, temp]


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(directory)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in directory.rglob("*")
    }


def test_the_corpus_has_at_least_20_distinct_files(corpus: dict[str, HostileFile]) -> None:
    names = [hostile.path.name for hostile in corpus.values()]
    assert len(corpus) == len(CASE_IDS) >= 20
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_inspect_refuses_with_a_one_line_reason_and_writes_nothing(
    case_id: str, corpus: dict[str, HostileFile], watched_dirs: list[Path]
) -> None:
    hostile = corpus[case_id]
    corpus_dir = hostile.path.parent
    before = snapshot(corpus_dir)

    with pytest.raises(InvalidDistribution) as raised:
        inspect(hostile.path)

    error = raised.value
    assert error.filename == hostile.path.name
    assert str(error).startswith(f"{hostile.path.name}: ")
    assert hostile.reason in error.reason
    assert not any(unicodedata.category(c) == "Cc" for c in str(error))
    assert snapshot(corpus_dir) == before
    assert [list(directory.iterdir()) for directory in watched_dirs] == [[], []]


def test_conflicting_pair_is_two_valid_files_with_one_name(tmp_path: Path) -> None:
    first, second = conflicting_pair(tmp_path)

    assert first.name == second.name
    assert first.read_bytes() != second.read_bytes()
    assert inspect(first).sha256 != inspect(second).sha256


@pytest.mark.parametrize("build", [write_wheel, write_sdist, write_zip_sdist])
def test_damaged_files_are_accepted_or_refused_never_crash(
    build: Callable[[Path, str], Path], tmp_path: Path
) -> None:
    """Flipped bits, cuts and insertions anywhere: nothing escapes but InvalidDistribution."""
    path = build(tmp_path, "damaged")
    original = path.read_bytes()
    rng = random.Random(path.name)
    for _ in range(300):
        damaged = bytearray(original)
        position = rng.randrange(len(damaged))
        match rng.randrange(3):
            case 0:
                damaged[position] ^= 1 << rng.randrange(8)
            case 1:
                del damaged[position:]
            case _:
                damaged[position:position] = rng.randbytes(rng.randint(1, 32))
        path.write_bytes(damaged)
        try:
            inspect(path)
        except InvalidDistribution as error:
            assert not any(unicodedata.category(c) == "Cc" for c in str(error))
