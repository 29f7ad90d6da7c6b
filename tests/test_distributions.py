"""What `inspect` accepts, what it reads from a distribution, and how it refuses bad ones."""

from __future__ import annotations

import hashlib
import io
import random
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from private_pypi.distributions import (
    Distribution,
    content_type,
    find_distributions,
    inspect,
    parse_filename,
)
from private_pypi.errors import InvalidDistribution
from tests import factory

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
        project=canonicalize_name("Foo.Bar_baz"),  # PEP 503: foo-bar-baz
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


def test_a_zip_sdist_is_accepted(tmp_path: Path) -> None:
    path = factory.write_zip_sdist(tmp_path, "zipped", "2.0")

    sdist = inspect(path)

    assert (sdist.project, str(sdist.version), sdist.kind) == ("zipped", "2.0", "sdist")
    assert sdist.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_names_and_versions_compare_normalized(tmp_path: Path) -> None:
    """PEP 503 names and PEP 440 versions: Foo.Bar_baz is foo-bar-baz, 1.0 is 1.0.0."""
    members = factory.wheel_members(
        "foo_bar_baz", "1.0", factory.core_metadata("Foo.Bar_baz", "1.0.0")
    )
    path = factory.write_zip(tmp_path / "Foo.Bar_baz-1.0-py3-none-any.whl", members)

    wheel = inspect(path)

    assert wheel.project == "foo-bar-baz"
    assert wheel.version == Version("1.0")
    assert wheel.metadata == members["foo_bar_baz-1.0.dist-info/METADATA"]


def test_a_large_sdist_is_hashed_whole_in_one_pass(tmp_path: Path) -> None:
    noise = random.Random(0).randbytes(3 * 1024 * 1024)  # incompressible: several read chunks
    entries = [*factory.sdist_entries("large"), factory.tar_file("large-1.0/noise.bin", noise)]
    path = factory.write_tar_gz(tmp_path / "large-1.0.tar.gz", entries)

    sdist = inspect(path)

    assert sdist.size == path.stat().st_size
    assert sdist.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_requires_python_is_normalized_by_validation(tmp_path: Path) -> None:
    metadata = factory.core_metadata("spaced", "1.0", "Requires-Python: >= 3.9 , <4")
    path = factory.write_wheel(tmp_path, "spaced", metadata=metadata)

    assert inspect(path).requires_python == "<4,>=3.9"


def refusal(path: Path) -> str:
    with pytest.raises(InvalidDistribution) as raised:
        inspect(path)
    assert raised.value.filename == path.name
    return raised.value.reason


def test_a_corrupt_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken-1.0.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00 and then nothing sensible")

    assert refusal(path).startswith("not a readable .tar.gz archive")


def test_a_name_that_disagrees_with_the_metadata_is_refused(tmp_path: Path) -> None:
    path = factory.write_wheel(tmp_path, "requests", metadata=factory.core_metadata("reqeusts"))

    assert refusal(path) == (
        "metadata Name 'reqeusts' does not match the project 'requests' in the file name"
    )


def test_a_version_that_disagrees_with_the_metadata_is_refused(tmp_path: Path) -> None:
    path = factory.write_sdist(
        tmp_path, "pinned", "1.0", pkg_info=factory.core_metadata("pinned", "1.0.1")
    )

    assert refusal(path) == (
        "metadata Version '1.0.1' does not match the version '1.0' in the file name"
    )


def test_html_in_metadata_is_refused_naming_the_field(tmp_path: Path) -> None:
    metadata = factory.core_metadata("page", "1.0", "Requires-Python: <script>alert(1)</script>")
    path = factory.write_wheel(tmp_path, "page", metadata=metadata)

    assert refusal(path) == (
        "invalid metadata in page-1.0.dist-info/METADATA: "
        "'<script>alert(1)</script>' is invalid for 'requires-python'"
    )


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path / "gone-1.0.tar.gz") == (
        "cannot read the file: No such file or directory"
    )


@pytest.mark.parametrize(
    ("filename", "reason"),
    [
        ("setup-1.0.exe", "not a distribution: expected .whl, .tar.gz or .zip"),
        ("pkg-1.0.tar.bz2", "not a distribution: expected .whl, .tar.gz or .zip"),
        ("../pkg-1.0.tar.gz", "file name contains '/' or '\\': give a file, not a path"),
        ("pkg\\..\\x-1.0.zip", "file name contains '/' or '\\': give a file, not a path"),
        ("pkg..x-1.0.tar.gz", "file name contains '..', which no distribution name has"),
        ("pkg\x1b[31m-1.0.tar.gz", "file name contains the control character '\\x1b'"),
        ("p" * 250 + "-1.0.tar.gz", "file name is 261 bytes long, over the 255-byte limit"),
        ("pkg-1.0.whl", "invalid wheel file name (Invalid wheel filename (wrong number"),
        ("pkg-one.tar.gz", "invalid sdist file name (Invalid sdist filename (invalid version)"),
        ("-pkg-1.0.tar.gz", "invalid project name '-pkg': use letters, digits, '.', '-' and '_'"),
    ],
)
def test_unsafe_or_invalid_file_names_are_refused(filename: str, reason: str) -> None:
    with pytest.raises(InvalidDistribution) as raised:
        parse_filename(filename)

    assert raised.value.reason.startswith(reason)
    assert "\x1b" not in str(raised.value)


def test_parse_filename_reads_kind_project_and_version() -> None:
    assert parse_filename("Foo.Bar_baz-1.0-py3-none-any.whl") == (
        "wheel",
        "foo-bar-baz",
        Version("1.0"),
    )
    assert parse_filename("foo_bar-2.0.tar.gz") == ("sdist", "foo-bar", Version("2.0"))


def test_a_field_newer_than_its_metadata_version_is_tolerated(tmp_path: Path) -> None:
    """setuptools before 77 wrote License-File under Metadata-Version 2.1; pip installs those."""
    path = tmp_path / "legacy-1.0.tar.gz"
    metadata = b"Metadata-Version: 2.1\nName: legacy\nVersion: 1.0\nLicense-File: LICENSE\n\n"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("legacy-1.0/PKG-INFO")
        info.size = len(metadata)
        archive.addfile(info, io.BytesIO(metadata))

    distribution = inspect(path)
    assert (distribution.project, str(distribution.version)) == ("legacy", "1.0")


def test_a_wheel_laid_out_as_build_backends_lay_them_out_is_accepted(tmp_path: Path) -> None:
    """What real wheels hold is not a twin: directory entries, each .data scheme, a vendored
    package's own .dist-info, names that differ in case in different directories."""
    members = factory.wheel_members("acme")
    members |= {
        "acme/": b"",
        "acme/_vendor/": b"",
        "acme/_vendor/packaging-24.2.dist-info/METADATA": b"Name: packaging\n",
        "acme/README": b"",
        "acme/_vendor/readme": b"",
        "acme-1.0.data/scripts/acme": b"#!python\n",
        "acme-1.0.data/headers/acme.h": b"",
        "acme-1.0.data/data/share/man/man1/acme.1": b"",
        "acme-1.0.data/purelib/acme_extra.py": b"",
        "acme/caf\u00e9.py": b"",
    }
    path = factory.write_zip(tmp_path / "acme-1.0-py3-none-any.whl", members)

    assert inspect(path).version == Version("1.0")
