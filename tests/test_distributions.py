"""What `inspect` accepts, what it reads from a distribution, and how it refuses bad ones."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from private_pypi.distributions import (
    Distribution,
    content_type,
    find_distributions,
    inspect,
)

PYPROJECT = """\
[build-system]
requires = ["flit_core>=3.9,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "Foo.Bar_baz"
version = "1.0"
description = "A project whose name needs normalizing."
requires-python = ">=3.9"

[tool.flit.module]
name = "foo_bar_baz"
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A wheel and an sdist built by pypa/build with flit_core, as a user would."""
    project = tmp_path_factory.mktemp("project")
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "foo_bar_baz").mkdir()
    (project / "foo_bar_baz" / "__init__.py").write_text('"""A tiny module."""\n')
    dist = project / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(project)],
        check=True,
        capture_output=True,
    )
    return {path.name: path for path in find_distributions(dist)}


def test_a_built_wheel_is_read_with_its_metadata_verbatim(built: dict[str, Path]) -> None:
    path = built["foo_bar_baz-1.0-py3-none-any.whl"]

    wheel = inspect(path)

    with zipfile.ZipFile(path) as archive:
        metadata = archive.read("foo_bar_baz-1.0.dist-info/METADATA")
    assert wheel == Distribution(
        path=path,
        filename="foo_bar_baz-1.0-py3-none-any.whl",
        project="foo-bar-baz",  # PEP 503: Foo.Bar_baz normalizes to foo-bar-baz
        version=wheel.version,
        kind="wheel",
        size=path.stat().st_size,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        requires_python=">=3.9",
        metadata=metadata,
        metadata_sha256=hashlib.sha256(metadata).hexdigest(),
    )
    assert str(wheel.version) == "1.0"


def test_a_built_sdist_is_read_without_serving_its_metadata(built: dict[str, Path]) -> None:
    path = built["foo_bar_baz-1.0.tar.gz"]

    sdist = inspect(path)

    assert (sdist.project, str(sdist.version), sdist.kind) == ("foo-bar-baz", "1.0", "sdist")
    assert sdist.size == path.stat().st_size
    assert sdist.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sdist.requires_python == ">=3.9"
    assert (sdist.metadata, sdist.metadata_sha256) == (None, None)


def test_find_distributions_lists_only_wheels_and_sdists(tmp_path: Path) -> None:
    for name in ["b-1.0.tar.gz", "a-1.0-py3-none-any.whl", "c-1.0.zip", "notes.txt", "d.egg"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.whl").mkdir()

    found = find_distributions(tmp_path)

    assert [path.name for path in found] == ["a-1.0-py3-none-any.whl", "b-1.0.tar.gz", "c-1.0.zip"]


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("a-1.0-py3-none-any.whl", "application/zip"),
        ("a-1.0.zip", "application/zip"),
        ("a-1.0.tar.gz", "application/gzip"),
    ],
)
def test_content_type(filename: str, expected: str) -> None:
    assert content_type(filename) == expected
