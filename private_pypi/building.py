"""Build an sdist and a wheel of each package with pypa/build, several at once."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from build import BuildBackendException, BuildException, ProjectBuilder
from build.env import DefaultIsolatedEnv

from .errors import PublishError


class BuildFailed(PublishError):
    """A package did not build; the message names it and says why."""


def build_packages(
    sources: Sequence[Path], output: Path, *, isolated: bool = True, jobs: int = 4
) -> list[Path]:
    """Build every package into `output`; return the files built, in order.

    Builds run in parallel: each runs its backend in a subprocess, so threads suffice.
    """
    output.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max(1, min(jobs, len(sources)))) as pool:
        built = pool.map(lambda source: build_package(source, output, isolated=isolated), sources)
        return [path for paths in built for path in paths]


def build_package(source: Path, output: Path, *, isolated: bool = True) -> list[Path]:
    """Build an sdist and a wheel of the package in `source`."""
    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        raise BuildFailed(f"{source}: not a Python package (no pyproject.toml or setup.py)")
    try:
        if not isolated:
            return _build(ProjectBuilder(source, runner=_quiet), output)
        # uv installs build requirements far faster than pip, when it is there.
        installer = "uv" if shutil.which("uv") else "pip"
        with DefaultIsolatedEnv(installer=installer) as env:
            builder = ProjectBuilder.from_isolated_env(env, source, runner=_quiet)
            env.install(builder.build_system_requires)
            return _build(builder, output, env)
    except (BuildException, BuildBackendException, subprocess.CalledProcessError) as error:
        raise BuildFailed(f"{source}: build failed: {_reason(error)}") from None


def _build(
    builder: ProjectBuilder, output: Path, env: DefaultIsolatedEnv | None = None
) -> list[Path]:
    built = []
    for kind in ("sdist", "wheel"):
        if env is not None:
            env.install(builder.get_requires_for_build(kind))
        built.append(Path(builder.build(kind, output)))
    return built


def _quiet(
    cmd: Sequence[str], cwd: str | None = None, extra_environ: dict[str, str] | None = None
) -> None:
    """Run a backend hook, keeping its chatter unless it fails."""
    env = os.environ.copy()
    if extra_environ:
        env.update(extra_environ)
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)


def _reason(error: Exception) -> str:
    if isinstance(error, BuildBackendException) and isinstance(
        error.exception, subprocess.CalledProcessError
    ):
        error = error.exception
    if isinstance(error, subprocess.CalledProcessError):
        lines = (error.stderr or b"").decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit code {error.returncode}"
    return str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
