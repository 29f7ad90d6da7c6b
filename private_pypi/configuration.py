"""Where build and publish find their packages and repository, in order of precedence.

Packages: --package (or PRIVATE_PYPI_PACKAGES, which the installed command reads for it),
then `packages` in the [tool.private-pypi] table of the nearest pyproject.toml, then
publish.packages in invoke.yaml (this project's own checkout).
Repository: --repository, then PRIVATE_PYPI_REPOSITORY, then AWS_PYPI_BUCKET or
S3_PYPI_BUCKET, then `repository` in the table. Paths in the table are relative to its
pyproject.toml. The bucket of the AWS_PYPI_* secrets comes before the table because the
secrets' key is the key of that bucket: a table naming another would be refused there.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

from .errors import ConfigurationError
from .storage import repository_url

KEYS = ("packages", "repository")


@dataclass(frozen=True)
class ProjectTable:
    """The [tool.private-pypi] table of a consuming repository's pyproject.toml."""

    pyproject: Path
    packages: tuple[Path, ...] = ()
    repository: str | None = None

    @property
    def directory(self) -> Path:
        return self.pyproject.parent


def find_table(start: Path) -> ProjectTable | None:
    """The nearest pyproject.toml with a [tool.private-pypi] table, from `start` up to the
    root of its git repository (a package's own pyproject.toml without one is passed by)."""
    for directory in (start, *start.parents):
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            table = _read(pyproject).get("tool", {}).get("private-pypi")
            if table is not None:
                return _parse(pyproject, table)
        if (directory / ".git").exists():
            return None
    return None


def _read(pyproject: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"{pyproject}: cannot be read as TOML: {error}") from None


def _parse(pyproject: Path, value: object) -> ProjectTable:
    where = f"[tool.private-pypi] in {pyproject}"
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where} is not a table: write it as [tool.private-pypi]")
    # A TOML table's keys are strings; its values are anything TOML holds.
    table = cast("dict[str, object]", value)
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown key {', '.join(unknown)}: the keys are {' and '.join(KEYS)}"
        )
    packages = _directories(table.get("packages", []))
    if packages is None:
        raise ConfigurationError(
            f'{where}: packages must be a list of directories, e.g. packages = ["src/acme"]'
        )
    repository = table.get("repository")
    if repository is not None and not (isinstance(repository, str) and repository):
        raise ConfigurationError(
            f'{where}: repository must be a string, e.g. repository = "s3://BUCKET"'
        )
    directory = pyproject.parent
    return ProjectTable(
        pyproject,
        tuple(directory / package for package in packages),
        _relative_to(directory, repository) if repository else None,
    )


def _directories(value: object) -> list[str] | None:
    """`value` if it is a list of non-empty strings, else None."""
    if not isinstance(value, list):
        return None
    items = cast("list[object]", value)
    directories = [item for item in items if isinstance(item, str) and item]
    return directories if len(directories) == len(items) else None


def _relative_to(directory: Path, repository: str) -> str:
    """A plain path is relative to the table's directory; a URL stays as written."""
    scheme = urlparse(repository).scheme
    return repository if len(scheme) > 1 else str(directory / repository)


def packages_to_build(
    flags: Sequence[str],
    table: ProjectTable | None,
    configured: Sequence[str],
    configured_base: Path | None,
    cwd: Path,
) -> tuple[Path, ...]:
    """The package directories to build: --package, else the table's packages, else
    invoke.yaml's (relative to its checkout)."""
    if flags:
        return tuple(Path(flag) for flag in flags)
    if table and table.packages:
        return table.packages
    if configured:
        return tuple((configured_base or cwd) / path for path in configured)
    raise ConfigurationError(
        "no packages to build: pass --package PATH, or list their directories as packages "
        "in [tool.private-pypi] of pyproject.toml (or publish.packages in invoke.yaml)"
    )


def repository_to_use(flag: str | None, env: Mapping[str, str], table: ProjectTable | None) -> str:
    """--repository, else the bucket the environment names, else the table's repository."""
    try:
        return repository_url(flag, env)
    except ConfigurationError as error:
        if table and table.repository:
            return table.repository
        raise ConfigurationError(
            *error.text.parts, ", or set repository in [tool.private-pypi] of pyproject.toml"
        ) from None
