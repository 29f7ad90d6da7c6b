"""The commands as invoke tasks: `uv run invoke TASK` in this project's checkout.

The second face of the same commands (private_pypi/commands), beside the installed
`private-pypi` (private_pypi/cli.py): each task turns its flags into the command's
settings, runs the same function and prints with the same renderer, naming the commands
it advises as `uv run invoke …`. This checkout's tasks.py re-exports them beside the
tasks that need the checkout (demo, test, bench, env, rotate-keys). `private-pypi` never
imports this module, nor invoke.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task

from .advice import CHECKOUT
from .commands.repository import Surroundings
from .contract import (
    BUCKET_VARIABLE,
    INDEX_PREFIX,
    SEED_BUCKET_VARIABLE,
    cdn_index_url,
    s3_index_url,
)
from .errors import PrivatePypiError
from .render import Console, Verbosity, verify_failure

TaskBody = TypeVar("TaskBody", bound=Callable[..., Any])
Arguments = ParamSpec("Arguments")
Result = TypeVar("Result")

# One table of short flags for every task, so that a short flag means the same everywhere
# (and the same as in `private-pypi`).
SHORT_FLAGS = {
    "repository": "r",
    "dist": "d",
    "package": "p",
    "output": "o",
    "dry_run": "n",
    "yes": "y",
    "stack": "s",
    "verbose": "v",
    "quiet": "q",
}


class ConsistentTask(Task[TaskBody]):
    """A task whose options take their short flags from SHORT_FLAGS, and only from it."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        opts["names"] = [
            opts["names"][0],
            *([short] if short and name not in self.positional else []),
        ]
        return opts


def task(
    *,
    help: dict[str, str] | None = None,
    positional: list[str] | None = None,
    iterable: list[str] | None = None,
) -> Callable[[TaskBody], ConsistentTask[TaskBody]]:
    """invoke's `@task(...)`, typed (invoke's is not), making a ConsistentTask.

    Every task of the checkout is declared with it: `help` maps an option to its help,
    `positional` and `iterable` name the arguments invoke treats so."""

    def declare(body: TaskBody) -> ConsistentTask[TaskBody]:
        return ConsistentTask(body, help=help, positional=positional, iterable=iterable)

    return declare


def reports_errors(function: Callable[Arguments, Result]) -> Callable[Arguments, Result]:
    """Turn a user-fixable error into one line on stderr and exit code 1, its advice
    spelled for this checkout (`uv run invoke …`)."""

    @functools.wraps(function)
    def wrapper(*args: Arguments.args, **kwargs: Arguments.kwargs) -> Result:
        try:
            return function(*args, **kwargs)
        except PrivatePypiError as error:
            raise Exit(f"error: {error.render(CHECKOUT)}", code=1) from None

    return wrapper


def _console(verbose: bool, quiet: bool, json: bool) -> Console:
    if verbose and quiet:
        raise Exit("error: --verbose and --quiet contradict each other: give one", code=2)
    verbosity = Verbosity.VERBOSE if verbose else Verbosity.QUIET if quiet else Verbosity.NORMAL
    return Console(CHECKOUT, verbosity, json)


def _here() -> Surroundings:
    return Surroundings(Path.cwd(), os.environ)


def _configured_packages(c: Context) -> list[Path]:
    """publish.packages of invoke.yaml, relative to publish.directory (this checkout)."""
    configured = c.config.get("publish", {})
    directory = configured.get("directory")
    base = Path(directory) if directory else Path.cwd()
    return [base / package for package in configured.get("packages", [])]


def _paths(values: Sequence[str] | str | None) -> tuple[Path, ...]:
    """An iterable option's paths; called in a process (not parsed), one path may be a str."""
    if isinstance(values, str):
        return (Path(values),)
    return tuple(Path(value) for value in values or ())


OUTPUT_HELP = {
    "verbose": "show every storage request and decision",
    "quiet": "print only errors",
    "json": "print one JSON document of the result",
}


@task(
    iterable=["package"],
    help={
        "package": "a package directory to build (repeatable); default: packages in "
        "[tool.private-pypi] of pyproject.toml, else publish.packages in invoke.yaml",
        "output": "where to put the sdists and wheels (default: dist/)",
        "no-isolation": "build with the backend installed here instead of a fresh "
        "environment (works offline)",
        **OUTPUT_HELP,
    },
)
@reports_errors
def build(
    c: Context,
    package: list[str] | str | None = None,
    output: str = "dist",
    no_isolation: bool = False,
    verbose: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """Build an sdist and a wheel of each package with pypa/build, reproducibly."""
    from .commands.build import BuildSettings
    from .commands.build import build as run

    console = _console(verbose, quiet, json)
    settings = BuildSettings(_paths(package), Path(output), not no_isolation)
    console.result(run(settings, _here(), console, configured_packages=_configured_packages(c)))


@task(
    iterable=["package", "dist"],
    help={
        "dist": "publish this file, or the files in this directory, and build nothing (repeatable)",
        "repository": "s3://BUCKET, a directory or file:// URL; default: "
        f"$PRIVATE_PYPI_REPOSITORY, s3://${BUCKET_VARIABLE}, s3://${SEED_BUCKET_VARIABLE}, "
        "else repository in [tool.private-pypi] of pyproject.toml",
        "dry-run": "check the files and the repository, and say what would be uploaded",
        "package": "build these package directories instead of the configured ones (repeatable)",
        "no-isolation": "build with the backend installed here (works offline)",
        "skip-existing": "skip a file whose name the repository has with other bytes, "
        "instead of refusing the publish (as twine's --skip-existing)",
        **OUTPUT_HELP,
    },
)
@reports_errors
def publish(
    c: Context,
    dist: list[str] | str | None = None,
    repository: str | None = None,
    dry_run: bool = False,
    package: list[str] | str | None = None,
    no_isolation: bool = False,
    skip_existing: bool = False,
    verbose: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """Build the packages not yet published, upload them and update the index. Safe to
    run again."""
    from .commands.publish import PublishSettings
    from .commands.publish import publish as run

    console = _console(verbose, quiet, json)
    settings = PublishSettings(
        files=_paths(dist),
        packages=_paths(package),
        repository=repository,
        dry_run=dry_run,
        skip_existing=skip_existing,
        isolated=not no_isolation,
    )
    console.result(run(settings, _here(), console, configured_packages=_configured_packages(c)))


REPOSITORY_HELP = "s3://BUCKET or a directory; default as for publish"
RELEASE = ["name", "version"]


def _release_help(action: str, **more: str) -> dict[str, str]:
    """Help for a task on one release: its two positional arguments, then its options."""
    return {
        "name": "NAME, the first argument: the project",
        "version": f"VERSION, the second argument: the version to {action}",
        **more,
        "repository": REPOSITORY_HELP,
        **OUTPUT_HELP,
    }


@task(help={"repository": REPOSITORY_HELP, **OUTPUT_HELP})
@reports_errors
def reindex(
    c: Context,
    repository: str | None = None,
    verbose: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """Rebuild every page from the stored files: the repair path (lists the bucket)."""
    from .commands.reindex import reindex as run

    console = _console(verbose, quiet, json)
    console.result(run(repository, _here(), console))


@task(positional=RELEASE, help=_release_help("yank", reason="shown to users by pip and uv"))
@reports_errors
def yank(
    c: Context,
    name: str,
    version: str,
    reason: str = "",
    repository: str | None = None,
    verbose: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """`yank NAME VERSION [--reason TEXT]`: installers skip the release (PEP 592) unless it
    is pinned with ==."""
    from .commands.releases import ReleaseSettings
    from .commands.releases import yank as run

    console = _console(verbose, quiet, json)
    console.result(run(ReleaseSettings(name, (version,), repository), _here(), console, reason))


@task(positional=RELEASE, help=_release_help("restore"))
@reports_errors
def unyank(
    c: Context,
    name: str,
    version: str,
    repository: str | None = None,
    verbose: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """`unyank NAME VERSION`: undo a yank."""
    from .commands.releases import ReleaseSettings
    from .commands.releases import unyank as run

    console = _console(verbose, quiet, json)
    console.result(run(ReleaseSettings(name, (version,), repository), _here(), console))


@task(positional=RELEASE, help=_release_help("delete", yes="do not ask for confirmation (for CI)"))
@reports_errors
def delete(
    c: Context,
    name: str,
    version: str,
    yes: bool = False,
    repository: str | None = None,
    verbose: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """`delete NAME VERSION [--yes]`: delete a release's files and take them off the pages.
    Prefer yank."""
    from .commands.releases import ReleaseSettings
    from .commands.releases import delete as run

    console = _console(verbose, quiet, json)
    settings = ReleaseSettings(name, (version,), repository)
    console.result(run(settings, _here(), console, console.confirmer(yes)))


@task(
    help={
        "repository": "the index URL to read as pip does "
        f"({s3_index_url('BUCKET', 'REGION')}, {cdn_index_url('CDN')}, "
        f"file:///DIR/{INDEX_PREFIX}), or s3://BUCKET or a directory, "
        "which are also listed to find what no page shows; default as for publish",
        **OUTPUT_HELP,
    }
)
@reports_errors
def verify(
    c: Context,
    repository: str | None = None,
    verbose: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """Check the live index as a client: pages parse and agree, files match their hashes."""
    from .commands.verify import verify as run

    console = _console(verbose, quiet, json)
    outcome = run(repository, _here(), console)
    console.result(outcome)
    failure = verify_failure(outcome)
    if failure is not None:
        raise Exit(f"error: {failure.render(CHECKOUT)}", code=1)
