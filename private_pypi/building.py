"""Build an sdist and a wheel of each package with pypa/build, several at once, reproducibly.

Identical sources give identical bytes, whatever the clone, the machine or the files'
mtimes: SOURCE_DATE_EPOCH comes from the package's last git commit (unless it is set),
which flit-core and hatchling use for every timestamp, and setuptools for its wheels.
setuptools' sdists ignore it, so they are rewritten with the same normalized entries.
A package whose release is already published is not built at all.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PathDistribution
from pathlib import Path
from typing import cast

from build import BuildBackendException, BuildException, ProjectBuilder
from build.env import DefaultIsolatedEnv
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from .errors import PrivatePypiError

# Zip files cannot store times before 1980; every backend writes wheels as zip files.
EARLIEST_ZIP_TIME = 315532800
SETUPTOOLS_BACKENDS = ("setuptools.build_meta", "setuptools.build_meta:__legacy__")


class BuildFailed(PrivatePypiError):
    """A package did not build; the message names it and says why."""


@dataclass(frozen=True)
class SourceRelease:
    """What a package directory would build: its project name and version."""

    project: NormalizedName
    version: Version

    def __str__(self) -> str:
        return f"{self.project} {self.version}"


IsPublished = Callable[[SourceRelease], bool]


@dataclass
class BuildResult:
    built: list[Path] = field(default_factory=list[Path])
    # Releases already in the repository: neither built nor uploaded again.
    skipped: list[SourceRelease] = field(default_factory=list[SourceRelease])


def build_packages(
    sources: Sequence[Path],
    output: Path,
    *,
    isolated: bool = True,
    jobs: int = 4,
    is_published: IsPublished | None = None,
) -> BuildResult:
    """Build every package into `output`, except those `is_published` says are published.

    Builds run in parallel: each runs its backend in a subprocess, so threads suffice.
    """

    def build(source: Path) -> list[Path] | SourceRelease:
        return build_package(source, output, isolated=isolated, is_published=is_published)

    with ThreadPoolExecutor(max(1, min(jobs, len(sources)))) as pool:
        outcomes = list(pool.map(build, sources))
    result = BuildResult()
    for outcome in outcomes:
        if isinstance(outcome, SourceRelease):
            result.skipped.append(outcome)
        else:
            result.built.extend(outcome)
    return result


def build_package(
    source: Path, output: Path, *, isolated: bool = True, is_published: IsPublished | None = None
) -> list[Path] | SourceRelease:
    """Build an sdist and a wheel of the package in `source`; its release if published."""
    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        raise BuildFailed(f"{source}: not a Python package (no pyproject.toml or setup.py)")
    runner = _Runner(reproducible_environment(source, os.environ))
    release = None if is_published is None else static_release(source)
    if release is not None and is_published and is_published(release):
        return release
    try:
        with _builder(source, isolated, runner) as (builder, env):
            if is_published is not None and release is None:
                _install(env, builder.get_requires_for_build("wheel"))
                release = _metadata_release(source, builder)
                if is_published(release):
                    return release
            built: list[Path] = []
            for kind in ("sdist", "wheel"):
                _install(env, builder.get_requires_for_build(kind))
                built.append(Path(builder.build(kind, output)))
    except (BuildException, BuildBackendException, subprocess.CalledProcessError) as error:
        raise BuildFailed(f"{source}: build failed: {_reason(error)}") from None
    if _backend(source) in SETUPTOOLS_BACKENDS:
        epoch = runner.environment.get("SOURCE_DATE_EPOCH")
        normalize_sdist(built[0], int(epoch) if epoch and epoch.isdigit() else None)
    return built


def reproducible_environment(source: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The backend's environment: SOURCE_DATE_EPOCH from the last commit of `source`."""
    environment = dict(environ)
    epoch = None if environment.get("SOURCE_DATE_EPOCH") else _last_commit_time(source)
    if epoch is not None:
        environment["SOURCE_DATE_EPOCH"] = str(epoch)
    return environment


def _last_commit_time(source: Path) -> int | None:
    """When the package's directory last changed in git; None outside a git checkout."""
    try:
        found = subprocess.run(
            ["git", "-C", str(source), "log", "-1", "--format=%ct", "--", "."],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:  # no git on this machine
        return None
    stamp = found.stdout.strip()
    if found.returncode != 0 or not stamp.isdigit():
        return None
    return max(int(stamp), EARLIEST_ZIP_TIME)


def static_release(source: Path) -> SourceRelease | None:
    """The name and version pyproject.toml states; None when either is dynamic."""
    try:
        project = _pyproject(source).get("project")
    except BuildFailed:
        return None
    if not isinstance(project, dict):
        return None
    table = cast(dict[str, object], project)
    name, version = table.get("name"), table.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        return None
    try:
        return SourceRelease(canonicalize_name(name), Version(version))
    except InvalidVersion:
        return None  # the backend's own build reports it


def _metadata_release(source: Path, builder: ProjectBuilder) -> SourceRelease:
    """Name and version from the backend's prepare_metadata_for_build_wheel hook."""
    with tempfile.TemporaryDirectory(prefix="private-pypi-metadata-") as directory:
        metadata = PathDistribution(Path(builder.metadata_path(directory))).metadata
        name, version = metadata["Name"], metadata["Version"]
    try:
        return SourceRelease(canonicalize_name(name), Version(version))
    except InvalidVersion:
        raise BuildFailed(f"{source}: the backend reports an invalid version {version!r}") from None


def normalize_sdist(path: Path, epoch: int | None) -> None:
    """Rewrite a .tar.gz with what identical sources share: sorted entries, owner root,
    644/755 modes, and every mtime `epoch`. A fresh clone's files all have the time of the
    checkout, so clamping them, as the SOURCE_DATE_EPOCH spec allows, would not do."""
    with tarfile.open(path) as archive:
        members = sorted(archive.getmembers(), key=lambda member: member.name)
        contents = {
            member.name: archive.extractfile(member).read()  # type: ignore[union-attr]
            for member in members
            if member.isfile()
        }
    stamp = epoch if epoch is not None else max(int(member.mtime) for member in members)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member in members:
            member.uid = member.gid = 0
            member.uname = member.gname = ""
            member.mode = 0o755 if member.isdir() or member.mode & 0o100 else 0o644
            member.mtime = stamp if epoch is not None else int(member.mtime)
            member.pax_headers = {}
            body = contents.get(member.name)
            archive.addfile(member, None if body is None else io.BytesIO(body))
    with path.open("wb") as file, gzip.GzipFile(fileobj=file, mode="wb", mtime=stamp) as packed:
        packed.write(buffer.getvalue())


@dataclass(frozen=True)
class _Runner:
    """Runs a backend hook in `environment`, keeping its chatter unless it fails."""

    environment: dict[str, str]

    def __call__(
        self,
        cmd: Sequence[str],
        cwd: str | None = None,
        extra_environ: Mapping[str, str] | None = None,
    ) -> None:
        subprocess.run(
            cmd,
            cwd=cwd,
            env={**self.environment, **(extra_environ or {})},
            check=True,
            capture_output=True,
        )


@contextmanager
def _builder(
    source: Path, isolated: bool, runner: _Runner
) -> Generator[tuple[ProjectBuilder, DefaultIsolatedEnv | None]]:
    if not isolated:
        yield ProjectBuilder(source, runner=runner), None
        return
    # uv installs build requirements far faster than pip, when it is there.
    installer = "uv" if shutil.which("uv") else "pip"
    with DefaultIsolatedEnv(installer=installer) as env:
        builder = ProjectBuilder.from_isolated_env(env, source, runner=runner)
        env.install(builder.build_system_requires)
        yield builder, env


def _install(env: DefaultIsolatedEnv | None, requirements: set[str]) -> None:
    if env is not None and requirements:
        env.install(requirements)


def _pyproject(source: Path) -> dict[str, object]:
    path = source / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BuildFailed(f"{path}: {error}") from None


def _backend(source: Path) -> str:
    system = _pyproject(source).get("build-system", {})
    # A TOML table is a dict with string keys (tomllib types its values Any).
    table = cast(dict[str, object], system) if isinstance(system, dict) else {}
    backend = table.get("build-backend")
    return backend if isinstance(backend, str) else "setuptools.build_meta:__legacy__"


# The frame line a traceback prints for each call: `  File "...", line N, in f`.
_FRAME = re.compile(r'^\s*File "[^"]*", line \d+')


def _reason(error: Exception) -> str:
    """The backend's own error: its exception line, and the lines that locate it."""
    if isinstance(error, BuildBackendException) and isinstance(
        error.exception, subprocess.CalledProcessError
    ):
        error = error.exception
    if isinstance(error, subprocess.CalledProcessError):
        output = error.stderr or b""
        text = output.decode(errors="replace") if isinstance(output, bytes) else str(output)
        return _traceback_tail(text) or f"exit code {error.returncode}"
    message = str(error).strip()
    return message or type(error).__name__


def _traceback_tail(text: str) -> str:
    """From a backend's stderr: the last exception, with the location lines before it."""
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    frames = [number for number, line in enumerate(lines) if _FRAME.match(line)]
    if not frames:
        return "\n".join(lines[-5:])
    # The last frame names the file and line; what follows it is the code, a caret and
    # the exception itself, which may span several lines.
    tail = lines[frames[-1] :]
    exception = next(
        (number for number, line in enumerate(tail) if number and not line.startswith(" ")),
        len(tail) - 1,
    )
    first, *more = tail[exception:]
    return "\n".join([first, *(f"  {line.strip()}" for line in [*more, *tail[:exception]])])
