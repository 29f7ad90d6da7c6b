"""Wheels and sdists: validate a file, read its core metadata, hash it.

Nothing is ever extracted. An archive is read as a list of members whose names,
types and sizes are checked; only the core metadata member is decompressed, and
the file is hashed in the same pass (a .tar.gz) or one sequential read (a zip).
Every refusal is an `InvalidDistribution` whose reason is one line.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import stat
import tarfile
import unicodedata
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Generator, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import BinaryIO, Literal

from packaging.metadata import InvalidMetadata, Metadata, parse_email
from packaging.tags import Tag
from packaging.utils import (
    BuildTag,
    InvalidName,
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from private_pypi.errors import InvalidDistribution
from private_pypi.hashing import HashingReader

MiB = 1024 * 1024
GiB = 1024 * MiB

MAX_FILENAME_BYTES = 255
"""The longest file name most filesystems (and so most S3 sync tools) can store."""
MAX_METADATA_BYTES = 10 * MiB
"""Core metadata is read into memory: real METADATA files are a few KiB, long READMEs a few MiB."""
MAX_UNPACKED_BYTES = 4 * GiB
"""The most an archive may declare (zip) or inflate to (tar.gz), all members together."""
MAX_COMPRESSION_RATIO = 100
"""Real code and data compress 2-20 times; a bomb compresses about 1000 times."""
RATIO_CHECKED_ABOVE_BYTES = 10 * MiB
"""Small members may compress far better (a file of padding) and cannot hurt anyone."""
MAX_METADATA_HEADER_BYTES = 1 * MiB
"""Parsing headers is slow (10 MiB of them took 7 s and 413 MiB); the README is in the body."""
MAX_METADATA_FIELDS = 2000
"""Real metadata has tens of fields; a few hundred Requires-Dist for the largest."""
MAX_WHEEL_FILE_BYTES = 64 * 1024
"""The WHEEL file is a handful of short lines."""
SUPPORTED_WHEEL_VERSION = 1
"""The major Wheel-Version installers know; pip refuses a wheel with a later one."""

Kind = Literal["wheel", "sdist"]
NOT_A_DISTRIBUTION = "not a distribution: expected .whl, .tar.gz or .zip"
_SDIST_EXTENSIONS = (".tar.gz", ".zip")
_CHUNK_BYTES = 1 * MiB
_ZIP_ENCRYPTED_FLAG = 0x1
_TAR_MEMBER_TYPES = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a device file",
    tarfile.BLKTYPE: "a device file",
    tarfile.FIFOTYPE: "a FIFO",
}
_ZIP_MEMBER_TYPES = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFCHR: "a device file",
    stat.S_IFBLK: "a device file",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}
_SHOWN_METADATA_PROBLEMS = 3
# The core metadata fields the index shows or checks; a problem in any other is tolerated.
INDEXED_FIELDS = {"metadata-version", "name", "version", "requires-python"}
_MAX_PROBLEM_CHARS = 200


@dataclass(frozen=True)
class Distribution:
    path: Path
    filename: str
    """The name it is stored and linked under: the canonical spelling of the file's name."""
    project: NormalizedName
    version: Version
    kind: Kind
    size: int
    sha256: str
    requires_python: str | None
    metadata: bytes | None
    """Wheels: the METADATA bytes verbatim, served as-is under PEP 658. Sdists: None."""
    metadata_sha256: str | None


def inspect(path: Path) -> Distribution:
    """Validate a wheel or sdist and read what the index needs from it.

    Raises InvalidDistribution naming the file and the reason.
    """
    filename = path.name
    kind, project, version = parse_filename(filename)
    canonical = canonical_filename(filename)
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise _Refused("not a regular file")
        if filename.endswith(".tar.gz"):
            contents = _read_tar_gz(path, filename)
        else:
            contents = _read_zip(path, kind, filename)
        metadata = _parse_metadata(contents.metadata, contents.metadata_member)
        _check_matches_filename(metadata, project, version)
    except _Refused as refusal:
        raise InvalidDistribution(filename, str(refusal)) from None
    except OSError as error:
        raise InvalidDistribution(
            filename, f"cannot read the file: {error.strerror or error}"
        ) from None
    is_wheel = kind == "wheel"
    return Distribution(
        path=path,
        filename=canonical,
        project=canonicalize_name(metadata.name),
        version=metadata.version,
        kind=kind,
        size=contents.size,
        sha256=contents.sha256,
        requires_python=None if metadata.requires_python is None else str(metadata.requires_python),
        metadata=contents.metadata if is_wheel else None,
        metadata_sha256=hashlib.sha256(contents.metadata).hexdigest() if is_wheel else None,
    )


def check_archive(filename: str, file: BinaryIO) -> None:
    """Inspection's checks of an archive's members, for a file that was published before
    them: raises InvalidDistribution as inspect() would. A .tar.gz is read from its start
    to its end; a zip only where zipfile seeks, to its member list at the end."""
    kind, _, _ = parse_filename(filename)
    try:
        if filename.endswith(".tar.gz"):
            _scan_tar_gz(HashingReader(file), filename)
        else:
            with _reading_zip(), zipfile.ZipFile(file) as archive:
                _check_zip_members(archive.infolist(), kind, filename)
    except _Refused as refusal:
        raise InvalidDistribution(filename, str(refusal)) from None


def parse_filename(filename: str) -> tuple[Kind, NormalizedName, Version]:
    """The kind, project and version a distribution's file name declares.

    Raises InvalidDistribution if the name is not a safe, valid wheel or sdist name.
    """
    shown = filename if filename.isprintable() else repr(filename)
    control = next((c for c in filename if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise InvalidDistribution(shown, f"file name contains the control character {control!r}")
    if "/" in filename or "\\" in filename:
        raise InvalidDistribution(shown, "file name contains '/' or '\\': give a file, not a path")
    if ".." in filename:
        raise InvalidDistribution(shown, "file name contains '..', which no distribution name has")
    length = len(filename.encode("utf-8", "surrogateescape"))
    if length > MAX_FILENAME_BYTES:
        raise InvalidDistribution(
            shown, f"file name is {length} bytes long, over the {MAX_FILENAME_BYTES}-byte limit"
        )
    try:
        if filename.endswith(".whl"):
            kind: Kind = "wheel"
            project, version, _, _ = parse_wheel_filename(filename)
        elif filename.endswith(_SDIST_EXTENSIONS):
            kind = "sdist"
            project, version = parse_sdist_filename(filename)
        else:
            raise InvalidDistribution(shown, NOT_A_DISTRIBUTION)
    except InvalidWheelFilename as error:
        raise InvalidDistribution(
            shown,
            f"invalid wheel file name ({error}); expected "
            "{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl",
        ) from None
    except InvalidSdistFilename as error:
        raise InvalidDistribution(
            shown, f"invalid sdist file name ({error}); expected {{name}}-{{version}}.tar.gz"
        ) from None
    try:
        canonicalize_name(project, validate=True)
    except InvalidName:
        raise InvalidDistribution(
            shown,
            f"invalid project name {project!r}: use letters, digits, '.', '-' and '_', "
            "starting and ending with a letter or digit",
        ) from None
    _check_filename_parts(shown, filename, kind)
    if version.local is not None:
        raise InvalidDistribution(
            shown,
            f"local version {version}: a local version ('+{version.local}') is for builds "
            f"that are never published (PEP 440); publish a public version such as "
            f"{version.public}.post1 instead",
        )
    return kind, project, version


# The wheel and sdist filename specs: each part is made of these characters, so a name
# needs no escaping in a URL, a shell or any filesystem. `!` is a version's epoch mark.
_NAME_PART = re.compile(r"[A-Za-z0-9_.]+")
_VERSION_PART = re.compile(r"[A-Za-z0-9_.!+]+")
_BUILD_PART = re.compile(r"[0-9][A-Za-z0-9_.]*")
_TAG_PART = re.compile(r"[A-Za-z0-9_.]+")


def _split_filename(filename: str, kind: Kind) -> list[str]:
    """The dash-separated parts: name, version, [build,] python, abi, platform (wheels)."""
    if kind == "wheel":
        return filename.removesuffix(".whl").split("-")
    stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
    return stem.rsplit("-", 1)


def _check_filename_parts(shown: str, filename: str, kind: Kind) -> None:
    parts = _split_filename(filename, kind)
    name, version = parts[0], parts[1]
    if kind == "sdist" and not _NAME_PART.fullmatch(name):
        # An sdist name may hold dashes; canonical_filename() turns them into '_'.
        name = name.replace("-", "_")
    checks = [("project name", name, _NAME_PART), ("version", version, _VERSION_PART)]
    if kind == "wheel":
        tags = parts[-3:]
        if len(parts) == 6:
            checks.append(("build tag", parts[2], _BUILD_PART))
        checks += [
            (f"{what} tag", tag, _TAG_PART)
            for what, tag in zip(("python", "abi", "platform"), tags, strict=True)
        ]
    for what, part, pattern in checks:
        if not pattern.fullmatch(part):
            allowed = (
                "a digit, then letters, digits, '_' and '.'"
                if what == "build tag"
                else ("letters, digits, '_' and '.'")
            )
            raise InvalidDistribution(
                shown,
                f"invalid {what} {part!r} in the file name: the filename spec allows "
                f"only {allowed} (ASCII)",
            )


def canonical_filename(filename: str) -> str:
    """The file name as the wheel and sdist specs spell it: the normalized project name
    with '_' for '-', the normalized version, and lower-case tags. A valid name only."""
    kind, project, version = _parse_valid(filename)
    name = project.replace("-", "_")
    if kind == "sdist":
        extension = ".tar.gz" if filename.endswith(".tar.gz") else ".zip"
        return f"{name}-{version}{extension}"
    parts = _split_filename(filename, kind)
    build = [parts[2]] if len(parts) == 6 else []
    tags = [tag.lower() for tag in parts[-3:]]
    return "-".join([name, str(version), *build, *tags]) + ".whl"


@dataclass(frozen=True)
class FileIdentity:
    """What makes two files of a release the same file to an installer, however spelled:
    an sdist is the release's only sdist; a wheel is its build tag and its tags."""

    project: NormalizedName
    version: Version
    kind: Kind
    build: BuildTag
    tags: frozenset[Tag]


def file_identity(filename: str) -> FileIdentity:
    kind, project, version = _parse_valid(filename)
    if kind == "sdist":
        return FileIdentity(project, version, kind, (), frozenset())
    _, _, build, tags = parse_wheel_filename(filename)
    return FileIdentity(project, version, kind, build, tags)


def _parse_valid(filename: str) -> tuple[Kind, NormalizedName, Version]:
    if filename.endswith(".whl"):
        project, version, _, _ = parse_wheel_filename(filename)
        return "wheel", project, version
    project, version = parse_sdist_filename(filename)
    return "sdist", project, version


def find_distributions(directory: Path) -> list[Path]:
    """The wheels and sdists in a dist directory (not its subdirectories), sorted."""
    return sorted(
        path
        for path in directory.iterdir()
        if path.name.endswith((".whl", *_SDIST_EXTENSIONS)) and path.is_file()
    )


def content_type(filename: str) -> str:
    """The Content-Type to store a distribution with."""
    if filename.endswith((".whl", ".zip")):
        return "application/zip"
    if filename.endswith(".tar.gz"):
        return "application/gzip"
    raise InvalidDistribution(filename, NOT_A_DISTRIBUTION)


class _Refused(Exception):
    """A reason to refuse the file being inspected; inspect() adds the file name."""


@dataclass(frozen=True)
class _ArchiveRead:
    metadata_member: str
    metadata: bytes
    sha256: str
    size: int


def _sdist_metadata_member(filename: str) -> str:
    stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
    return f"{stem}/PKG-INFO"


def _read_zip(path: Path, kind: Kind, filename: str) -> _ArchiveRead:
    with path.open("rb") as file:
        with _reading_zip(), zipfile.ZipFile(file) as archive:
            members = archive.infolist()
            _check_zip_members(members, kind, filename)
            if kind == "wheel":
                metadata_member = _wheel_metadata_member(members, filename)
            else:
                metadata_member = _sdist_metadata_member(filename)
            metadata = _read_zip_member(archive, _only_member(members, metadata_member))
            if kind == "wheel":
                _check_wheel_files(archive, members, metadata_member.removesuffix("METADATA"))
        # zipfile read only the central directory and the metadata member above.
        file.seek(0)
        digest = hashlib.file_digest(file, "sha256")
        return _ArchiveRead(metadata_member, metadata, digest.hexdigest(), file.tell())


@contextmanager
def _reading_zip() -> Generator[None]:
    try:
        yield
    # OSError too: a corrupt central directory makes zipfile seek to negative offsets.
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        zlib.error,
        NotImplementedError,
        UnicodeDecodeError,
    ) as error:
        raise _Refused(
            f"not a readable zip archive ({error}): the file is corrupt, truncated or not a zip"
        ) from None


def _check_zip_members(members: list[zipfile.ZipInfo], kind: Kind, filename: str) -> None:
    declared = sum(member.file_size for member in members)
    if declared > MAX_UNPACKED_BYTES:
        raise _Refused(
            f"archive declares {declared:,} bytes uncompressed, over the "
            f"{MAX_UNPACKED_BYTES // GiB} GiB limit: refusing a possible zip bomb"
        )
    for member in members:
        # Named as stored: zipfile's `filename` ends at a NUL, as pip's names do.
        _check_member_path(member.orig_filename, directory=member.is_dir())
        # The high 16 bits hold the Unix mode for archives made on Unix, and 0 elsewhere.
        member_type = _ZIP_MEMBER_TYPES.get(stat.S_IFMT(member.external_attr >> 16))
        if member_type is not None:
            raise _refused_member_type(member.filename, member_type)
        if (
            member.file_size > RATIO_CHECKED_ABOVE_BYTES
            and member.file_size > MAX_COMPRESSION_RATIO * member.compress_size
        ):
            raise _Refused(
                f"archive member {member.filename!r} compresses {member.file_size:,} bytes "
                f"into {member.compress_size:,}, over the {MAX_COMPRESSION_RATIO}:1 "
                "compression ratio limit: refusing a possible zip bomb"
            )
    _check_twins(kind, filename, [member.filename for member in members if not member.is_dir()])


def _wheel_metadata_member(members: list[zipfile.ZipInfo], filename: str) -> str:
    name, version = filename.split("-")[:2]
    expected = f"{name}-{version}.dist-info"
    found = sorted(
        {
            top
            for top, slash, _ in (member.filename.partition("/") for member in members)
            if slash and top.endswith(".dist-info")
        }
    )
    if len(found) > 1:
        raise _Refused(
            f"{len(found)} .dist-info directories ({', '.join(map(repr, found))}); "
            "a wheel has exactly one"
        )
    if not found:
        return f"{expected}/METADATA"  # reported missing with the name it should have
    if not _same_project_and_version(found[0], expected):
        raise _Refused(
            f".dist-info directory {found[0]!r} does not match the file name (expected {expected})"
        )
    return f"{found[0]}/METADATA"


def _check_wheel_files(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], dist_info: str
) -> None:
    """What pip needs besides METADATA: a WHEEL it supports, and a RECORD."""
    wheel = _only_member(members, f"{dist_info}WHEEL", "WHEEL")
    _only_member(members, f"{dist_info}RECORD", "RECORD")
    if wheel.file_size > MAX_WHEEL_FILE_BYTES:
        raise _Refused(
            f"{wheel.filename} is {wheel.file_size:,} bytes, over the "
            f"{MAX_WHEEL_FILE_BYTES // 1024} KiB limit for a WHEEL file"
        )
    if wheel.flag_bits & _ZIP_ENCRYPTED_FLAG:
        raise _Refused(f"{wheel.filename} is encrypted")
    found = _WHEEL_VERSION.search(archive.read(wheel).decode("utf-8", "replace"))
    declared = found.group(1) if found else ""
    major, _, _ = declared.partition(".")
    if not major.isdigit():
        raise _Refused(
            f"no readable Wheel-Version in {wheel.filename}: installers refuse such a wheel"
        )
    if int(major) != SUPPORTED_WHEEL_VERSION:
        raise _Refused(
            f"unsupported Wheel-Version {_shorten(repr(declared))} in {wheel.filename}: "
            f"pip installs only Wheel-Version {SUPPORTED_WHEEL_VERSION}.x; rebuild the wheel"
        )


_WHEEL_VERSION = re.compile(r"^Wheel-Version:[ \t]*(\S*)", re.IGNORECASE | re.MULTILINE)


def _same_project_and_version(dist_info: str, expected: str) -> bool:
    """Compare `name-version.dist-info` directories as PEP 503 names and PEP 440 versions."""
    name, _, version = dist_info.removesuffix(".dist-info").rpartition("-")
    expected_name, _, expected_version = expected.removesuffix(".dist-info").rpartition("-")
    try:
        return canonicalize_name(name) == canonicalize_name(expected_name) and Version(
            version
        ) == Version(expected_version)
    except InvalidVersion:
        return False


def _only_member(
    members: list[zipfile.ZipInfo], name: str, what: str = "its core metadata"
) -> zipfile.ZipInfo:
    """The member named `name`: there is one at most, _check_twins saw to that."""
    found = next((member for member in members if member.filename == name), None)
    if found is None:
        raise _missing(name, what)
    return found


def _missing(name: str, what: str = "its core metadata") -> _Refused:
    kind = "sdist" if name.endswith("/PKG-INFO") else "wheel"
    return _Refused(f"missing {name}: every {kind} carries {what} there")


def _read_zip_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    _check_metadata_size(member.filename, member.file_size)
    if member.flag_bits & _ZIP_ENCRYPTED_FLAG:
        raise _Refused(f"{member.filename} is encrypted")
    # zipfile stops at the declared size (checked above) and verifies the CRC.
    return archive.read(member)


def _check_metadata_size(name: str, size: int) -> None:
    if size > MAX_METADATA_BYTES:
        raise _Refused(
            f"{name} is {size:,} bytes, over the {MAX_METADATA_BYTES // MiB} MiB limit "
            "for core metadata"
        )


def _check_member_path(name: str, *, directory: bool = False) -> None:
    """A member named in the archive's normal form: relative, '/' between segments, no
    empty, '.' or '..' segment (but a directory's trailing '/') and no unprintable
    character. Installers normalize any other name, so it could name another member's file.
    """
    # PureWindowsPath splits on both separators and sees drives ("C:") and UNC roots.
    path = PureWindowsPath(name)
    if path.anchor:
        raise _Refused(f"archive member {name!r} has an absolute path")
    if ".." in path.parts:
        raise _Refused(f"archive member {name!r} has '..' in its path")
    if "\\" in name:
        # Windows reads a backslash as a separator, so two members that differ only in it
        # are one file there and two here: the index could show other metadata than gets installed.
        raise _Refused(f"archive member {name!r} has '\\' in its name; archives use '/'")
    # uv refuses these; zipfile, and so pip, ends a name at a NUL.
    unprintable = next((c for c in name if unicodedata.category(c) in _UNPRINTABLE), None)
    if unprintable is not None:
        raise _Refused(
            f"archive member {name!r} has the unprintable character {unprintable!r} in its "
            "name, which installers cut short or refuse"
        )
    segments = (name.removesuffix("/") if directory else name).split("/")
    if "" in segments or "." in segments:
        normal = "/".join(segment for segment in segments if segment not in {"", "."})
        raise _Refused(
            f"archive member {name!r} has an empty or '.' segment in its path: installers "
            f"write it as {normal!r}; archives name each member one way"
        )


# Control, format (bidirectional overrides, zero-width), surrogate (undecodable bytes) and
# private-use characters. Not unassigned ones: which are unassigned depends on the
# Python's Unicode version, and a character new to Unicode could be one.
_UNPRINTABLE = {"Cc", "Cf", "Cs", "Co"}

# The .data subdirectories whose files an installer writes into site-packages, beside the
# archive's root: a venv's purelib and platlib are one directory.
_SITE_PACKAGES_SCHEMES = {"purelib", "platlib"}
# The data scheme is the environment's prefix, so its files can reach site-packages too.
_SITE_PACKAGES_DIRECTORIES = {"site-packages", "dist-packages"}


def _installed_as(member: str) -> tuple[str, str, bool]:
    """Where an installer writes a wheel's member: the scheme's directory, the path in it,
    and whether it comes from a .data directory. pip takes any top directory named
    `*.data` for one (uv only `{name}-{version}.data`): the wider reading is the one checked."""
    top, _, rest = member.partition("/")
    scheme, slash, path = rest.partition("/")
    if not (top.casefold().endswith(".data") and slash):
        return "purelib", member, False
    if scheme in _SITE_PACKAGES_SCHEMES:
        return "purelib", path, True
    parts = path.split("/")
    if scheme == "data":
        for position, part in enumerate(parts[:-1]):
            if part.casefold() in _SITE_PACKAGES_DIRECTORIES:
                return "purelib", "/".join(parts[position + 1 :]), True
    return scheme, path, True


def _caseless(path: str) -> str:
    """One spelling for names that a case-insensitive filesystem takes for one file (macOS
    and Windows), whatever their Unicode normalization (macOS ignores it): Unicode's
    canonical caseless match."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", path).casefold())


def _check_twins(kind: Kind, filename: str, files: list[str]) -> None:
    """Refuse members that are one file once installed or unpacked, in any spelling, and a
    wheel's .data files that install into a .dist-info directory: else the index could show
    one METADATA (or PKG-INFO) and installers use another."""
    if kind == "sdist":
        metadata = _caseless(_sdist_metadata_member(filename))
        _refuse_twins([[(name, name) for name in files if _caseless(name) == metadata]])
        return
    installed: defaultdict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for name in files:
        scheme, path, from_data = _installed_as(name)
        top = path.partition("/")[0]
        if from_data and scheme == "purelib" and top.casefold().endswith(".dist-info"):
            raise _Refused(
                f"archive member {name!r} installs into {top}/: a wheel's .dist-info files are "
                "the ones in its .dist-info directory, or the index shows one METADATA and "
                "installers use another"
            )
        shown = path if scheme == "purelib" else f"{scheme}/{path}"
        installed[scheme, _caseless(path)].append((name, shown))
    _refuse_twins(installed.values())


def _refuse_twins(groups: Iterable[list[tuple[str, str]]]) -> None:
    """Refuse the first group of two or more members, each given with where it is written."""
    for group in groups:
        if len(group) < 2:
            continue
        (first, first_written), (second, second_written) = group[:2]
        if first == second:
            raise _Refused(f"{len(group)} copies of {first}: an archive holds each file once")
        where = (
            f"where installers write them ({first_written})"
            if first_written == second_written
            else "where file names ignore case or Unicode normalization (macOS, Windows)"
        )
        # !a: names that differ in their Unicode normalization alone look the same.
        raise _Refused(
            f"archive members {first!a} and {second!a} are one file {where}: an archive "
            "holds each file once, or the index could show one and installers use the other"
        )


def _refused_member_type(name: str, member_type: str) -> _Refused:
    return _Refused(
        f"archive member {name!r} is {member_type}; "
        "a distribution may contain only regular files and directories"
    )


def _read_tar_gz(path: Path, filename: str) -> _ArchiveRead:
    with path.open("rb") as file:
        compressed = HashingReader(file)
        metadata_member, metadata = _scan_tar_gz(compressed, filename)
        compressed.drain()
    return _ArchiveRead(
        metadata_member, metadata, compressed.digest.hexdigest(), compressed.bytes_read
    )


def _scan_tar_gz(compressed: HashingReader, filename: str) -> tuple[str, bytes]:
    """Check every member of a .tar.gz as it streams past; its metadata member and bytes."""
    metadata_member = _sdist_metadata_member(filename)
    # Decompressing here rather than with mode "r|gz" lets _InflationGuard count every
    # byte tarfile asks for, including those of headers it reads whole into memory.
    try:
        with gzip.GzipFile(fileobj=compressed, mode="rb") as inflating:
            inflated = _InflationGuard(inflating, compressed)
            with tarfile.open(fileobj=inflated, mode="r|") as archive:
                metadata = _scan_tar(archive, filename, metadata_member)
            # Inflating the rest verifies the gzip checksum and hashes the file's tail.
            inflated.drain()
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise _Refused(
            f"not a readable .tar.gz archive ({error}): "
            "the file is corrupt, truncated or not a gzip-compressed tar"
        ) from None
    except RecursionError:
        # tarfile reads each extended (pax) header by recursing into the next one.
        raise _Refused(
            "not a readable .tar.gz archive: extended headers are chained too deep"
        ) from None
    return metadata_member, metadata


def _scan_tar(archive: tarfile.TarFile, filename: str, metadata_member: str) -> bytes:
    metadata: bytes | None = None
    files: list[str] = []
    for member in archive:
        _check_member_path(member.name, directory=member.isdir())
        if not (member.isreg() or member.isdir()):
            member_type = _TAR_MEMBER_TYPES.get(member.type, "an unsupported tar member type")
            raise _refused_member_type(member.name, member_type)
        # Refuse on the header's word: stepping over this member would inflate it.
        if member.offset_data + member.size > MAX_UNPACKED_BYTES:
            raise _Refused(
                f"archive member {member.name!r} declares {member.size:,} bytes, taking the "
                f"archive over the {MAX_UNPACKED_BYTES // GiB} GiB limit: "
                "refusing a possible tar bomb"
            )
        if member.isreg():
            files.append(member.name)
        if member.name == metadata_member and metadata is None:
            _check_metadata_size(member.name, member.size)
            extracted = archive.extractfile(member)
            if extracted is None:
                raise _Refused(f"{member.name} is not a regular file")
            metadata = extracted.read()
    _check_twins("sdist", filename, files)
    if metadata is None:
        raise _missing(metadata_member)
    return metadata


class _InflationGuard(io.RawIOBase):
    """Counts the bytes gzip inflates as they are read, and stops a bomb mid-stream."""

    def __init__(self, inflating: gzip.GzipFile, compressed: HashingReader) -> None:
        super().__init__()
        self._inflating = inflating
        self._compressed = compressed
        self._inflated = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            return self.readall()  # in bounded reads, each one counted
        data = self._inflating.read(size)
        self._inflated += len(data)
        if self._inflated > MAX_UNPACKED_BYTES:
            raise _Refused(
                f"archive inflates to more than {MAX_UNPACKED_BYTES // GiB} GiB: "
                "refusing a possible gzip bomb"
            )
        if (
            self._inflated > RATIO_CHECKED_ABOVE_BYTES
            and self._inflated > MAX_COMPRESSION_RATIO * self._compressed.bytes_read
        ):
            raise _Refused(
                f"archive inflates to more than {MAX_COMPRESSION_RATIO} times its compressed "
                "size: refusing a possible gzip bomb"
            )
        return data

    def drain(self) -> None:
        while self.read(_CHUNK_BYTES):
            pass


def _check_metadata_headers(data: bytes, member: str) -> None:
    """Bound what the email parser is given, before it is given it."""
    end = _HEADER_END.search(data)
    headers = data if end is None else data[: end.start()]
    if len(headers) > MAX_METADATA_HEADER_BYTES:
        raise _Refused(
            f"{member} has {len(headers):,} bytes of headers, over the "
            f"{MAX_METADATA_HEADER_BYTES // MiB} MiB limit (a long description belongs in "
            "the body, after a blank line)"
        )
    # Continuation lines start with whitespace; every other line starts a field.
    fields = len(_FIELD_START.findall(headers))
    if fields > MAX_METADATA_FIELDS:
        raise _Refused(
            f"{member} has {fields:,} header fields, over the limit of {MAX_METADATA_FIELDS:,}"
        )


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD_START = re.compile(rb"(?:^|\n)[^ \t\r\n]")


def _parse_metadata(data: bytes, member: str) -> Metadata:
    _check_metadata_headers(data, member)
    try:
        return Metadata.from_email(data, validate=True)
    except ExceptionGroup as group:
        problems = [error for error in group.exceptions if isinstance(error, InvalidMetadata)]
        if len(problems) < len(group.exceptions):
            raise
    except InvalidMetadata as error:
        problems = [error]
    essential = [problem for problem in problems if problem.field in INDEXED_FIELDS]
    if essential:
        raise _Refused(_describe_metadata_problems(essential, data, member))
    # Only the indexed fields reach a page. Builders wrote newer fields under older
    # Metadata-Versions for years (setuptools < 77: License-File under 2.1), and
    # installers accept those files, so refusing them would help no one.
    lenient = Metadata.from_email(data, validate=False)
    try:
        for field in ("name", "version", "requires_python"):
            getattr(lenient, field)
    except InvalidMetadata as error:
        raise _Refused(_describe_metadata_problems([error], data, member)) from None
    return lenient


def _describe_metadata_problems(problems: list[InvalidMetadata], data: bytes, member: str) -> str:
    if any(problem.field == "metadata-version" for problem in problems):
        # Without a known Metadata-Version no other field can be read with confidence.
        declared = parse_email(data)[0].get("metadata_version")
        if declared is None:
            return f"no readable Metadata-Version in {member}: this is not core metadata"
        return (
            f"unsupported Metadata-Version {_shorten(repr(declared))} in {member}: "
            "rebuild with a build backend that writes a standard core metadata version"
        )
    shown = "; ".join(_shorten(str(problem)) for problem in problems[:_SHOWN_METADATA_PROBLEMS])
    hidden = len(problems) - _SHOWN_METADATA_PROBLEMS
    more = f" (and {hidden} more)" if hidden > 0 else ""
    return f"invalid metadata in {member}: {shown}{more}"


def _shorten(text: str) -> str:
    """Keep a hostile value from turning the one-line reason into megabytes."""
    if len(text) <= _MAX_PROBLEM_CHARS:
        return text
    return text[: _MAX_PROBLEM_CHARS - 1] + "…"


def _check_matches_filename(metadata: Metadata, project: NormalizedName, version: Version) -> None:
    if canonicalize_name(metadata.name) != project:
        raise _Refused(
            f"metadata Name {metadata.name!r} does not match the project {project!r} "
            "in the file name"
        )
    if metadata.version != version:
        raise _Refused(
            f"metadata Version '{metadata.version}' does not match the version "
            f"'{version}' in the file name"
        )
