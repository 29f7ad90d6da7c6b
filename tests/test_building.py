"""Builds as CI makes them: from fresh clones, whose files all have new mtimes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from private_pypi.building import BuildFailed, SourceRelease, build_package, build_packages

BACKENDS = {
    "flit-core": ('requires = ["flit_core>=3.9,<4"]', "flit_core.buildapi"),
    "hatchling": ('requires = ["hatchling"]', "hatchling.build"),
    "setuptools": ('requires = ["setuptools"]', "setuptools.build_meta"),
}


def write_package(directory: Path, name: str, backend: str, *, version: str = "1.0.0") -> Path:
    """A one-module package for `backend`, in `directory/name`."""
    requires, build_backend = BACKENDS[backend]
    module = name.replace("-", "_")
    source = directory / name
    (source / "src" / module).mkdir(parents=True)
    (source / "src" / module / "__init__.py").write_text(f'"""{name}."""\n\nVALUE = 1\n')
    (source / "README.md").write_text(f"# {name}\n")
    (source / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            {requires}
            build-backend = "{build_backend}"

            [project]
            name = "{name}"
            version = "{version}"
            description = "{name}, built with {backend}."
            readme = "README.md"
            requires-python = ">=3.9"
            """
        )
    )
    return source


def make_package(directory: Path, name: str, backend: str) -> Path:
    """A package committed to its own git repository, as CI checks it out."""
    source = write_package(directory, name, backend)
    commit(source, "first version")
    return source


def commit(repository: Path, message: str) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repository), *args], check=True, capture_output=True)

    if not (repository / ".git").exists():
        git("init", "--quiet")
    git("add", "--all")
    git("-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "--quiet", "-m", message)


def clone(repository: Path, directory: Path, mtime: int) -> Path:
    """A fresh clone, each of whose files was last modified at `mtime`."""
    subprocess.run(["git", "clone", "--quiet", str(repository), str(directory)], check=True)
    for path in directory.rglob("*"):
        if ".git" not in path.parts:
            os.utime(path, (mtime, mtime))
    return directory


def digests(paths: list[Path]) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_two_clones_with_different_mtimes_build_the_same_bytes(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    origin = make_package(tmp_path / "origin", "acme-repro", backend)
    monday = clone(origin, tmp_path / "monday" / "acme-repro", mtime=1_700_000_000)
    tuesday = clone(origin, tmp_path / "tuesday" / "acme-repro", mtime=1_800_000_000)

    first = build_packages([monday], tmp_path / "dist-monday", isolated=False).built
    second = build_packages([tuesday], tmp_path / "dist-tuesday", isolated=False).built

    assert sorted(digests(first)) == [
        "acme_repro-1.0.0-py3-none-any.whl",
        "acme_repro-1.0.0.tar.gz",
    ]
    assert digests(first) == digests(second)


def test_a_release_already_published_is_not_built(tmp_path: Path) -> None:
    source = make_package(tmp_path, "acme-skip", "flit-core")
    asked: list[SourceRelease] = []

    def published(release: SourceRelease) -> bool:
        asked.append(release)
        return True

    result = build_packages([source], tmp_path / "dist", isolated=False, is_published=published)

    assert [str(release) for release in asked] == ["acme-skip 1.0.0"]
    assert [str(release) for release in result.skipped] == ["acme-skip 1.0.0"]
    assert result.built == [] and not (tmp_path / "dist").exists()


def test_a_dynamic_version_is_read_from_the_backends_metadata_hook(tmp_path: Path) -> None:
    source = make_package(tmp_path, "acme-dynamic", "hatchling")
    pyproject = source / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('version = "1.0.0"', 'dynamic = ["version"]')
        + '\n[tool.hatch.version]\npath = "src/acme_dynamic/__init__.py"\n'
    )
    (source / "src" / "acme_dynamic" / "__init__.py").write_text('__version__ = "2.5"\n')
    asked: list[str] = []

    result = build_packages(
        [source],
        tmp_path / "dist",
        isolated=False,
        is_published=lambda release: asked.append(str(release)) or False,
    )

    assert asked == ["acme-dynamic 2.5"]
    assert sorted(path.name for path in result.built) == [
        "acme_dynamic-2.5-py3-none-any.whl",
        "acme_dynamic-2.5.tar.gz",
    ]


def test_a_failed_build_shows_the_backends_exception_not_a_stray_line(tmp_path: Path) -> None:
    source = make_package(tmp_path, "acme-broken", "setuptools")
    pyproject = source / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'dependencies = ["requests >= not a version"]\n')

    with pytest.raises(BuildFailed) as failed:
        build_package(source, tmp_path / "dist", isolated=False)

    first, *rest = str(failed.value).splitlines()
    assert first.startswith(f"{source}: build failed: ")
    assert "project.dependencies" in first or "requests >= not a version" in first, first
    assert all(line.startswith("  ") for line in rest), rest
