"""Make small, valid wheels and sdists quickly, without a build backend, on disk or in memory.

The one factory of distributions: tests/hostile_corpus.py starts from these members and
breaks one thing, and benchmarks/corpus.py pre-fills its repositories with these files.
Fixed timestamps make every file reproducible byte for byte: the same arguments give the
same bytes, so a test that wants other bytes gives another `payload`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

ZIP_DATE = (2020, 1, 1, 0, 0, 0)
TAR_MTIME = 1577836800

TarEntry = tuple[tarfile.TarInfo, bytes]


def core_metadata(
    name: str,
    version: str = "1.0",
    *fields: str,
    requires_dist: tuple[str, ...] = (),
    requires_python: str | None = None,
    metadata_version: str = "2.1",
) -> bytes:
    """The header fields of METADATA / PKG-INFO, in this order, and no body."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {requirement}" for requirement in requires_dist]
    return "".join(f"{line}\n" for line in [*lines, *fields]).encode()


def module_name(project: str) -> str:
    """The name a project's files and module take: normalized, with '_' for '-'."""
    return canonicalize_name(project).replace("-", "_")


def wheel_members(
    name: str, version: str = "1.0", metadata: bytes | None = None, *, payload: bytes = b""
) -> dict[str, bytes]:
    """A pure-Python wheel's members: `name/__init__.py` (and `name/payload.bin`), and its
    .dist-info; `name` as given, so a test can misspell it."""
    dist_info = f"{name}-{version}.dist-info"
    members = {f"{name}/__init__.py": f"VERSION = {version!r}\n".encode()}
    if payload:
        members[f"{name}/payload.bin"] = payload
    return {
        **members,
        f"{dist_info}/METADATA": core_metadata(name, version) if metadata is None else metadata,
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist_info}/RECORD": b"",
    }


def zip_archive(members: dict[str, bytes]) -> bytes:
    """The members deflated, except a payload: stored, it costs its size to fetch."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            method = zipfile.ZIP_STORED if name.endswith("/payload.bin") else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name, ZIP_DATE), data, method)
    return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.write_bytes(zip_archive(members))
    return path


def tar_file(name: str, data: bytes) -> TarEntry:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), TAR_MTIME, 0o644
    return info, data


def sdist_entries(name: str, version: str = "1.0", pkg_info: bytes | None = None) -> list[TarEntry]:
    """An sdist's members: PKG-INFO, pyproject.toml and a module, under `name-version/`."""
    root = f"{name}-{version}"
    pyproject = f'[project]\nname = "{name}"\nversion = "{version}"\n'.encode()
    return [
        tar_file(
            f"{root}/PKG-INFO", core_metadata(name, version) if pkg_info is None else pkg_info
        ),
        tar_file(f"{root}/pyproject.toml", pyproject),
        tar_file(f"{root}/{name}.py", b'"""A module."""\n'),
    ]


def tar_gz_archive(entries: list[TarEntry]) -> bytes:
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_tar_gz(path: Path, entries: list[TarEntry]) -> Path:
    path.write_bytes(tar_gz_archive(entries))
    return path


@dataclass(frozen=True)
class DistributionFile:
    """A distribution file, in memory."""

    filename: str
    body: bytes
    version: str
    metadata: bytes | None  # a wheel's METADATA; None for an sdist

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / self.filename
        path.write_bytes(self.body)
        return path


def wheel_file(
    name: str,
    version: str,
    *,
    requires_dist: tuple[str, ...] = (),
    requires_python: str | None = None,
    payload: bytes = b"",
) -> DistributionFile:
    """A pure-Python wheel of project `name`, with one module."""
    module = module_name(name)
    metadata = core_metadata(
        name, version, requires_dist=requires_dist, requires_python=requires_python
    )
    body = zip_archive(wheel_members(module, version, metadata, payload=payload))
    return DistributionFile(f"{module}-{version}-py3-none-any.whl", body, version, metadata)


def sdist_file(name: str, version: str, *, requires_python: str | None = None) -> DistributionFile:
    module = module_name(name)
    pkg_info = core_metadata(name, version, requires_python=requires_python)
    body = tar_gz_archive(sdist_entries(module, version, pkg_info))
    return DistributionFile(f"{module}-{version}.tar.gz", body, version, None)


def wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_dist: tuple[str, ...] = (),
    requires_python: str | None = None,
    payload: bytes = b"",
) -> Path:
    """`wheel_file`, written into `directory`."""
    built = wheel_file(
        name, version, requires_dist=requires_dist, requires_python=requires_python, payload=payload
    )
    return built.write(directory)


def sdist(directory: Path, name: str, version: str, *, requires_python: str | None = None) -> Path:
    """`sdist_file`, written into `directory`."""
    return sdist_file(name, version, requires_python=requires_python).write(directory)


def write_wheel(
    directory: Path, name: str, version: str = "1.0", *, metadata: bytes | None = None
) -> Path:
    """A wheel whose file, module and .dist-info are spelled `name` exactly as given."""
    path = directory / f"{name}-{version}-py3-none-any.whl"
    return write_zip(path, wheel_members(name, version, metadata))


def write_sdist(
    directory: Path, name: str, version: str = "1.0", *, pkg_info: bytes | None = None
) -> Path:
    """An sdist whose file and directory are spelled `name` exactly as given."""
    path = directory / f"{name}-{version}.tar.gz"
    return write_tar_gz(path, sdist_entries(name, version, pkg_info))


def write_zip_sdist(directory: Path, name: str, version: str = "1.0") -> Path:
    """A .zip sdist, as old setuptools made them."""
    root = f"{name}-{version}"
    members = {f"{root}/PKG-INFO": core_metadata(name, version), f"{root}/{name}.py": b""}
    return write_zip(directory / f"{root}.zip", members)
