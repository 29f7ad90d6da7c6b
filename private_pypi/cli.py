"""`private-pypi`: the commands as an installed command line (click).

Each subcommand turns its options into the command's settings and runs the command
function of private_pypi/commands, as the checkout's `invoke` tasks do; render.py prints
what it did. Every option has an environment variable, shown in its help: the flag wins,
then the variable. The commands are imported when one runs, so `--help` and `--version`
import neither boto3 nor anything a command needs.

Exit status: 0 done, 1 an error of ours (one `error:` line), 2 a usage error (click's),
130 interrupted. A closed stdout drops the rest of the output, and the command finishes
its work and exits as it would have.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .advice import INSTALLED
from .contract import BUCKET_VARIABLE, REPOSITORY_VARIABLE, SEED_BUCKET_VARIABLE
from .errors import PrivatePypiError
from .render import Console, Verbosity, silence
from .version import __version__

if TYPE_CHECKING:
    from .commands.repository import Surroundings

PROGRAM = "private-pypi"
COMPLETE_VARIABLE = "_PRIVATE_PYPI_COMPLETE"
CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# The environment variable of each option, by the option's name.
ENVIRONMENT = {
    "files": None,
    "dist": "PRIVATE_PYPI_DIST",
    "package": "PRIVATE_PYPI_PACKAGES",
    "repository": REPOSITORY_VARIABLE,
    "output": "PRIVATE_PYPI_OUTPUT",
    "dry_run": "PRIVATE_PYPI_DRY_RUN",
    "skip_existing": "PRIVATE_PYPI_SKIP_EXISTING",
    "no_isolation": "PRIVATE_PYPI_NO_ISOLATION",
    "reason": "PRIVATE_PYPI_REASON",
    "yes": "PRIVATE_PYPI_YES",
    "verbose": "PRIVATE_PYPI_VERBOSE",
    "quiet": "PRIVATE_PYPI_QUIET",
    "json": "PRIVATE_PYPI_JSON",
    "no_progress": "PRIVATE_PYPI_NO_PROGRESS",
}


class PathList(click.Path):
    """Paths, one per line in the environment variable (paths may hold spaces)."""

    envvar_list_splitter = "\n"

    def split_envvar_value(self, rv: str) -> Sequence[str]:
        return [line.strip() for line in rv.splitlines() if line.strip()]


def option(*names: str, **settings: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """click.option with its environment variable (from ENVIRONMENT), shown in its help."""
    name = next(name for name in names if name.startswith("--"))[2:].replace("-", "_")
    return click.option(*names, envvar=ENVIRONMENT[name], show_envvar=True, **settings)


repository_option = option(
    "-r",
    "--repository",
    metavar="URL",
    help=f"s3://BUCKET, a directory or a file:// URL; else ${BUCKET_VARIABLE}, "
    f"${SEED_BUCKET_VARIABLE}, then repository in [tool.private-pypi] of pyproject.toml",
)


package_option = option(
    "-p",
    "--package",
    multiple=True,
    type=PathList(path_type=Path),
    help="Build this package directory (repeatable); else packages in [tool.private-pypi].",
)
no_isolation_option = option(
    "--no-isolation", is_flag=True, help="Build with the backend installed here (offline)."
)


def output_options(command: Callable[..., int | None]) -> Callable[..., int | None]:
    """-v, -q, --json and --no-progress, made into the Console the command gets."""

    @option("-v", "--verbose", is_flag=True, help="Show every storage request and decision.")
    @option("-q", "--quiet", is_flag=True, help="Print only errors.")
    @option("--json", "json_output", is_flag=True, help="Print one JSON document of the result.")
    @option("--no-progress", is_flag=True, help="No progress bars for large uploads.")
    @wraps(command)
    def with_console(
        *args: Any, verbose: bool, quiet: bool, json_output: bool, no_progress: bool, **kwargs: Any
    ) -> int | None:
        if verbose and quiet:
            raise click.UsageError("--verbose and --quiet contradict each other: give one")
        verbosity = Verbosity.VERBOSE if verbose else Verbosity.QUIET if quiet else Verbosity.NORMAL
        console = Console(INSTALLED, verbosity, json_output, not no_progress)
        return command(*args, console=console, **kwargs)

    return with_console


def here() -> Surroundings:
    """Where the command runs: this directory and this process's environment."""
    from .commands.repository import Surroundings

    return Surroundings(Path.cwd(), os.environ)


@click.group(
    context_settings=CONTEXT,
    epilog="Every option has an environment variable, shown in the command's help; a flag "
    "wins over its variable. Exit status: 0 done, 1 an error (one 'error:' line), 2 a usage "
    "error, 130 interrupted.",
)
@click.version_option(__version__, "--version", prog_name=PROGRAM, message="%(prog)s %(version)s")
def app() -> None:
    """Build Python packages, publish them to a private index on S3 (or in a directory),
    and look after it: yank, unyank, delete, reindex, verify.

    Run `private-pypi COMMAND -h` for a command's options.
    """


@app.command(
    context_settings=CONTEXT,
    short_help="Build what is new (or take FILES), upload it, update the index.",
)
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@option(
    "-d",
    "--dist",
    multiple=True,
    type=PathList(path_type=Path),
    help="Publish this file, or the files in this directory (repeatable; as FILES).",
)
@package_option
@repository_option
@option("-n", "--dry-run", is_flag=True, help="Check files and repository; write nothing.")
@option(
    "--skip-existing",
    is_flag=True,
    help="Skip a file the repository has with other bytes, instead of refusing the publish.",
)
@no_isolation_option
@output_options
def publish(
    files: tuple[Path, ...],
    dist: tuple[Path, ...],
    package: tuple[Path, ...],
    repository: str | None,
    dry_run: bool,
    skip_existing: bool,
    no_isolation: bool,
    console: Console,
) -> None:
    """Publish FILES (wheels, sdists, or directories of them); with none, build the packages
    not yet published, upload them and update the index. Safe to run again."""
    from .commands.publish import PublishSettings
    from .commands.publish import publish as run

    settings = PublishSettings(
        files=(*files, *dist),
        packages=package,
        repository=repository,
        dry_run=dry_run,
        skip_existing=skip_existing,
        isolated=not no_isolation,
    )
    console.result(run(settings, here(), console))


@app.command(context_settings=CONTEXT, short_help="Build an sdist and a wheel of each package.")
@package_option
@option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Where to put the sdists and wheels.",
)
@no_isolation_option
@output_options
def build(package: tuple[Path, ...], output: Path, no_isolation: bool, console: Console) -> None:
    """Build an sdist and a wheel of each package with pypa/build, reproducibly."""
    from .commands.build import BuildSettings
    from .commands.build import build as run

    console.result(run(BuildSettings(package, output, not no_isolation), here(), console))


release_arguments = [
    click.argument("name"),
    click.argument("versions", metavar="VERSION...", nargs=-1, required=True),
]


def release_command(command: Callable[..., Any]) -> Callable[..., Any]:
    for decorate in reversed(release_arguments):
        command = decorate(command)
    return command


@app.command(
    context_settings=CONTEXT, short_help="Yank releases: installers skip them unless pinned."
)
@release_command
@option("--reason", default="", help="Why: shown to users by pip and uv.")
@repository_option
@output_options
def yank(
    name: str, versions: tuple[str, ...], reason: str, repository: str | None, console: Console
) -> None:
    """Yank releases (PEP 592): installers skip them unless pinned with ==."""
    from .commands.releases import ReleaseSettings
    from .commands.releases import yank as run

    console.result(run(ReleaseSettings(name, versions, repository), here(), console, reason))


@app.command(context_settings=CONTEXT, short_help="Undo a yank.")
@release_command
@repository_option
@output_options
def unyank(name: str, versions: tuple[str, ...], repository: str | None, console: Console) -> None:
    """Undo a yank."""
    from .commands.releases import ReleaseSettings
    from .commands.releases import unyank as run

    console.result(run(ReleaseSettings(name, versions, repository), here(), console))


@app.command(context_settings=CONTEXT, short_help="Delete releases' files (prefer yank).")
@release_command
@option("-y", "--yes", is_flag=True, help="Do not ask for confirmation (for CI).")
@repository_option
@output_options
def delete(
    name: str, versions: tuple[str, ...], yes: bool, repository: str | None, console: Console
) -> None:
    """Delete releases' files and take them off the pages. Prefer yank: a delete breaks
    every pinned install and lock file that names the release."""
    from .commands.releases import ReleaseSettings
    from .commands.releases import delete as run

    settings = ReleaseSettings(name, versions, repository)
    console.result(run(settings, here(), console, console.confirmer(yes)))


@app.command(context_settings=CONTEXT, short_help="Rebuild every page from the stored files.")
@repository_option
@output_options
def reindex(repository: str | None, console: Console) -> None:
    """Rebuild every page from the stored files: the repair path (lists the bucket)."""
    from .commands.reindex import reindex as run

    console.result(run(repository, here(), console))


@app.command(context_settings=CONTEXT, short_help="Check the live index as pip and uv read it.")
@option(
    "-r",
    "--repository",
    metavar="URL",
    help="An index URL to read as pip does (https://…/simple/), or s3://BUCKET or a "
    "directory, which are listed too; else as for publish.",
)
@output_options
def verify(repository: str | None, console: Console) -> int:
    """Check the live index as a client: pages parse and agree, files match their hashes."""
    from .commands.verify import verify as run

    return console.verified(run(repository, here(), console))


def main(args: Sequence[str] | None = None) -> int:
    """Run the command line; its exit status. KeyboardInterrupt is the caller's to handle
    (private_pypi/__main__.py), since it may come before this module is even imported."""
    if COMPLETE_VARIABLE in os.environ:
        app.main(args, prog_name=PROGRAM, complete_var=COMPLETE_VARIABLE)
    errors = Console(INSTALLED)
    try:
        with app.make_context(PROGRAM, list(sys.argv[1:] if args is None else args)) as context:
            status = app.invoke(context)
        return status if isinstance(status, int) else 0
    except click.exceptions.Exit as done:  # --help, --version
        return done.exit_code
    except click.UsageError as error:
        # click's two lines, without its blank line and its pointer to --help.
        if error.ctx is not None:
            click.echo(error.ctx.get_usage(), err=True)
        click.echo(f"Error: {error.format_message()}", err=True)
        return error.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None
    except PrivatePypiError as error:
        errors.error(error)
        return 1
    except BrokenPipeError:
        # Only click writes without the Console, and only help and usage; the rest of
        # them is dropped, as the Console drops the rest of a command's output.
        silence(sys.stdout)
        return 0
