"""P5. CI's cold start: from a fresh clone and an empty uv cache to a finished publish.

As a GitHub Actions job runs it: `uv run --no-default-groups invoke publish --package
examples/acme-greeting` in a clone of the committed tree, into a local directory. Beside
it, `uv sync` of the default groups (with the Pulumi SDKs) from another empty cache.

The download size is the size of the wheels uv.lock pins for what was installed, as
chosen for this machine (uv downloads exactly those files), plus flit_core for the
isolated build. The cache's size is shown too; it holds the wheels unpacked, so it is
larger than what was downloaded.

Quick mode runs the cold publish, then the same publish from another clone, offline, from
the cache the first one filled: it never reads a cache it did not fill itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from importlib.metadata import distributions
from pathlib import Path

from packaging.tags import sys_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from .measure import directory_size, run_process
from .one_release import BenchmarkError

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "examples/acme-greeting"
BUILD_BACKEND = "flit-core"


@dataclass(frozen=True)
class ColdStart:
    label: str  # what was run
    cold: bool  # False: warm cache, offline
    seconds: float
    download_bytes: int
    cache_bytes: int
    venv_bytes: int
    packages: int


def run(*, quick: bool) -> list[ColdStart]:
    uv = shutil.which("uv")
    if uv is None:
        raise BenchmarkError("uv is not installed")
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as scratch:
        work = Path(scratch)

        def publish(clone: str, cache: Path, *, offline: bool) -> ColdStart:
            repository = work / f"repository-{clone}"
            command = [
                uv, "run", "--no-default-groups", "invoke", "publish",
                "--package", PACKAGE, "--repository", str(repository),
            ]  # fmt: skip
            measured = _measure(
                "uv run --no-default-groups invoke publish",
                command,
                _clone(work / clone),
                cache,
                offline=offline,
                build_backend=True,
            )
            if not any((repository / "simple" / "acme-greeting").glob("*.whl")):
                raise BenchmarkError("the cold-start publish left no wheel in the repository")
            return measured

        results = [publish("publish", work / "cache-publish", offline=False)]
        if quick:
            results.append(publish("publish-again", work / "cache-publish", offline=True))
        else:
            results.append(
                _measure(
                    "uv sync (default groups: infra + dev)",
                    [uv, "sync"],
                    _clone(work / "sync"),
                    work / "cache-sync",
                    offline=False,
                    build_backend=False,
                )
            )
    return results


def _clone(directory: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(directory)], check=True)
    return directory


def _measure(
    label: str,
    command: list[str],
    checkout: Path,
    cache: Path,
    *,
    offline: bool,
    build_backend: bool,
) -> ColdStart:
    """Run `command` with `cache` as uv's only cache: empty unless `offline`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("UV_", "VIRTUAL_ENV", "PIP_", "AWS_"))
    }
    # The Python on this machine, as setup-python gives a job: uv downloads none.
    env["UV_PYTHON_DOWNLOADS"] = "never"
    cold = not offline
    if cold:
        cache.mkdir()
    else:
        env["UV_OFFLINE"] = "1"
    env["UV_CACHE_DIR"] = str(cache)
    seconds = run_process(command, env=env, cwd=checkout).seconds
    venv = checkout / ".venv"
    installed = _installed(venv)
    if build_backend:
        installed.add(BUILD_BACKEND)
    return ColdStart(
        label=label,
        cold=cold,
        seconds=seconds,
        download_bytes=_locked_wheel_bytes(checkout / "uv.lock", installed),
        cache_bytes=directory_size(cache) if cold else 0,
        venv_bytes=directory_size(venv),
        packages=len(installed),
    )


def _installed(venv: Path) -> set[str]:
    site_packages = list(venv.glob("lib/python*/site-packages"))
    return {
        canonicalize_name(dist.metadata["Name"])
        for dist in distributions(path=[str(path) for path in site_packages])
    }


def _locked_wheel_bytes(lock: Path, names: set[str]) -> int:
    """The size of the file uv.lock pins for each package: its best wheel for this machine."""
    priority = {tag: rank for rank, tag in enumerate(sys_tags())}
    total = 0
    for package in tomllib.loads(lock.read_text())["package"]:
        if canonicalize_name(package["name"]) not in names:
            continue
        candidates = []
        for wheel in package.get("wheels", []):
            tags = parse_wheel_filename(wheel["url"].rsplit("/", 1)[1])[3]
            ranks = [priority[tag] for tag in tags if tag in priority]
            if ranks:
                candidates.append((min(ranks), wheel["size"]))
        if candidates:
            total += min(candidates)[1]
        elif "sdist" in package:
            total += package["sdist"]["size"]
    return total
