"""The tasks: build, publish and look after a private Python package index.

One implementation, two commands: this checkout's tasks.py re-exports them for
`invoke TASK`, and `private-pypi TASK` (private_pypi.cli) runs them from any directory.
Each is a thin layer over the library; where it finds packages and the repository is
private_pypi.configuration.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task

from . import releases
from .building import SourceRelease, build_packages
from .cdn import invalidate
from .configuration import find_table, packages_to_build, repository_to_use
from .console import human_size, progress_bar
from .contract import (
    BUCKET_VARIABLE,
    DISTRIBUTION_ID_VARIABLE,
    INDEX_PREFIX,
    SEED_BUCKET_VARIABLE,
    cdn_index_url,
    s3_index_url,
)
from .distributions import find_distributions
from .errors import PrivatePypiError
from .index import Index
from .publish import Publisher, inspect_all
from .reindex import Reindexer
from .storage import LocalStorage, Storage, open_storage

if TYPE_CHECKING:
    from .mirror import MirrorResult

TaskBody = TypeVar("TaskBody", bound=Callable[..., Any])
Arguments = ParamSpec("Arguments")
Result = TypeVar("Result")

# One table of short flags for every task, so that a short flag means the same everywhere.
SHORT_FLAGS = {
    "repository": "r",
    "dist": "d",
    "package": "p",
    "output": "o",
    "dry_run": "n",
    "yes": "y",
    "stack": "s",
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

    Every task of both commands is declared with it: `help` maps an option to its help,
    `positional` and `iterable` name the arguments invoke treats so."""

    def declare(body: TaskBody) -> ConsistentTask[TaskBody]:
        return ConsistentTask(body, help=help, positional=positional, iterable=iterable)

    return declare


def reports_errors(function: Callable[Arguments, Result]) -> Callable[Arguments, Result]:
    """Turn a user-fixable error into one line on stderr and exit code 1."""

    @functools.wraps(function)
    def wrapper(*args: Arguments.args, **kwargs: Arguments.kwargs) -> Result:
        try:
            return function(*args, **kwargs)
        except PrivatePypiError as error:
            raise Exit(f"error: {error}", code=1) from None

    return wrapper


def _open_index(repository: str | None) -> Index:
    return Index(open_storage(_repository(repository), os.environ))


def _repository(flag: str | None) -> str:
    return repository_to_use(flag, os.environ, find_table(Path.cwd()))


def _existing(storage: Storage) -> Storage:
    """Refuse a local repository that is not there: only publish creates one."""
    if isinstance(storage, LocalStorage) and not storage.root.is_dir():
        raise Exit(
            f"error: no repository at {storage.root}: check --repository "
            "(publish creates one; reindex and verify only read one)",
            code=1,
        )
    return storage


def _packages(c: Context, flags: list[str]) -> tuple[Path, ...]:
    configured = c.config.get("publish", {})
    directory = configured.get("directory")
    return packages_to_build(
        flags,
        find_table(Path.cwd()),
        configured.get("packages", []),
        Path(directory) if directory else None,
        Path.cwd(),
    )


def _build(
    sources: tuple[Path, ...], output: Path, isolated: bool, index: Index | None = None
) -> list[Path]:
    """Build the packages; with `index`, skip each whose release it already has."""
    print(f"building {len(sources)} package(s) into {output}")
    result = build_packages(
        sources, output, isolated=isolated, is_published=index and _published_in(index)
    )
    for release in result.skipped:
        print(f"  already published: {release}")
    for path in result.built:
        print(f"  built {path.name} ({human_size(path.stat().st_size)})")
    return result.built


def _published_in(index: Index) -> Callable[[SourceRelease], bool]:
    """Whether the index has a release as a build makes it, an sdist and a wheel: one read of
    its project page. A release published in part (`--dist` of one file) is built again, and
    its files already there are unchanged."""

    def published(release: SourceRelease) -> bool:
        page = index.project(release.project)
        files = page.files_of(release.version) if page is not None else []
        wheels = [entry for entry in files if entry.filename.endswith(".whl")]
        return bool(wheels) and len(wheels) < len(files)

    return published


def _dist_files(dist: Path) -> list[Path]:
    """The distributions `--dist` names: one file, or those in a directory."""
    if dist.is_file():
        return [dist]
    if not dist.is_dir():
        raise Exit(f"error: {dist}: no such file or directory: check --dist", code=1)
    files = find_distributions(dist)
    if not files:
        raise Exit(f"error: no .whl, .tar.gz or .zip files in {dist}", code=1)
    for other in sorted(set(dist.iterdir()) - set(files)):
        if other.is_file() and not other.name.startswith("."):
            print(f"  ignored {other.name}: not a wheel or an sdist (.egg and others are refused)")
    return files


@task(
    iterable=["package"],
    help={
        "package": "a package directory to build (repeatable); default: packages in "
        "[tool.private-pypi] of pyproject.toml, else publish.packages in invoke.yaml",
        "output": "where to put the sdists and wheels (default: dist/)",
        "no-isolation": "build with the backend installed here instead of a fresh "
        "environment (works offline)",
    },
)
@reports_errors
def build(
    c: Context, package: list[str] | None = None, output: str = "dist", no_isolation: bool = False
) -> None:
    """Build an sdist and a wheel of each package with pypa/build, reproducibly."""
    _build(_packages(c, package or []), Path(output), isolated=not no_isolation)


@task(
    iterable=["package"],
    help={
        "dist": "publish these files, or the files in this directory, and build nothing",
        "repository": "s3://BUCKET, a directory or file:// URL; default: "
        f"s3://${BUCKET_VARIABLE}, else s3://${SEED_BUCKET_VARIABLE}, else repository in "
        "[tool.private-pypi] of pyproject.toml",
        "dry-run": "check the files and the repository, and say what would be uploaded",
        "package": "build these package directories instead of the configured ones (repeatable)",
        "no-isolation": "build with the backend installed here (works offline)",
        "skip-existing": "skip a file whose name the repository has with other bytes, "
        "instead of refusing the publish (as twine's --skip-existing)",
    },
)
@reports_errors
def publish(
    c: Context,
    dist: str | None = None,
    repository: str | None = None,
    dry_run: bool = False,
    package: list[str] | None = None,
    no_isolation: bool = False,
    skip_existing: bool = False,
) -> None:
    """Build the packages not yet published, upload them and update the index. Safe to
    run again."""
    index = _open_index(repository)
    if dist:
        _publish_files(index, _dist_files(Path(dist)), dry_run, skip_existing)
        return
    sources = _packages(c, package or [])
    # A directory of this run's own: files that another build left, or that a publish
    # running beside this one in the same checkout writes, are never taken for this build's.
    with tempfile.TemporaryDirectory(prefix="private-pypi-build-") as output:
        files = _build(sources, Path(output), isolated=not no_isolation, index=index)
        if not files:
            print(f"nothing to do: every package is already published in {index.storage.location}")
            return
        _publish_files(index, files, dry_run, skip_existing)


def _publish_files(index: Index, files: list[Path], dry_run: bool, skip_existing: bool) -> None:
    distributions = inspect_all(files)
    print(
        f"{'checking' if dry_run else 'publishing'} {len(distributions)} file(s) to "
        f"{index.storage.location}"
    )
    result = Publisher(index).publish(
        distributions,
        dry_run=dry_run,
        skip_existing=skip_existing,
        on_file=lambda published: print(
            f"  {published.outcome.value:12} {published.distribution.filename} "
            f"({human_size(published.distribution.size)})"
        ),
        progress=lambda d: progress_bar(d.filename, d.size),
    )
    if dry_run:
        print("dry run: nothing was written")
        return
    if not result.pages:
        print("nothing to do: every file is already published")
        return
    _invalidate(result.pages)
    names = sorted({published.distribution.project for published in result.files})
    print(f"index: {index.storage.index_url}")
    # The index alone: with PyPI beside it, pip takes a higher version of the same name from
    # there (dependency confusion). `mirror` brings the rest of a lock into this index.
    print(f"install: pip install --index-url {index.storage.index_url} {' '.join(names)}")


def _invalidate(pages: Sequence[str], say: Callable[[str], None] = print) -> None:
    """Ask CloudFront to drop the changed pages, when the stack has a distribution."""
    distribution_id = os.environ.get(DISTRIBUTION_ID_VARIABLE)
    if not distribution_id or not pages:
        return
    paths = invalidate(distribution_id, pages, os.environ)
    say(f"cdn: invalidated {len(paths)} page path(s) on {distribution_id}")


REPOSITORY_HELP = "s3://BUCKET or a directory; default as for publish"


@task(help={"repository": REPOSITORY_HELP})
@reports_errors
def reindex(c: Context, repository: str | None = None) -> None:
    """Rebuild every page from the stored files: the repair path (lists the bucket)."""
    index = Index(_existing(_open_index(repository).storage))
    print(f"reindexing {index.storage.location}")
    report = Reindexer(index).run()
    for problem in report.problems:
        print(f"  warning: {problem}", file=sys.stderr)
    print(
        f"{report.projects} project(s), {report.files} file(s); {report.inspected} file(s) "
        f"read again; {len(report.written)} page object(s) written"
    )
    _invalidate(report.written)


@task(
    iterable=["from_"],
    help={
        "from": "a lock to mirror (repeatable): uv.lock, pylock.toml, or a requirements file "
        "with --hash pins",
        "upstream": "the index to copy from, URL or NAME=URL; default: the index the lock "
        "names for each package, else https://pypi.org/simple/. Credentials: in the URL, "
        "UV_INDEX_NAME_USERNAME and _PASSWORD, or ~/.netrc",
        "repository": "s3://BUCKET or a directory; default as for publish",
        "dry-run": "say what would be copied and its total size; write nothing",
        "json": "print what was done as one JSON document",
    },
)
@reports_errors
def mirror(
    c: Context,
    from_: list[str] | None = None,
    upstream: str | None = None,
    repository: str | None = None,
    dry_run: bool = False,
    json_: bool = False,
) -> None:
    """Copy exactly the files a lock pins from an upstream index into this one, hash-checked.

    Then every install needs this index alone: see README, "Mirroring a lock"."""
    try:
        # Imported here: the mirror reads the upstream with pypi-simple, an extra.
        from .mirror import mirror as run
    except ModuleNotFoundError as error:
        if error.name != "pypi_simple":
            raise
        raise Exit(
            "error: mirror reads the upstream index with pypi-simple, which this environment "
            "lacks: install private-pypi[mirror] (in the private-pypi checkout: "
            "`uv run --no-default-groups --extra mirror invoke mirror`)",
            code=1,
        ) from None
    target = _repository(repository)
    locks = [Path(path) for path in from_ or []]
    if not json_:
        verb = "checking" if dry_run else "mirroring"
        print(f"{verb} {', '.join(map(str, locks))} into {target}")
    result = run(
        locks,
        repository=target,
        env=os.environ,
        upstream=upstream,
        dry_run=dry_run,
        on_file=(lambda _: None) if json_ else (lambda file: print(file.line)),
        download_progress=lambda label, total: progress_bar(label, total, verb="downloaded"),
        upload_progress=progress_bar,
    )
    _report_mirror(result, json_)


def _report_mirror(result: MirrorResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        from .mirror.report import skipped_line

        for skipped in result.skipped:
            print(skipped_line(skipped))
        print(result.summary())
        if not result.dry_run:
            print(f"index: {result.index_url}")
    _invalidate(result.pages, say=lambda line: print(line, file=sys.stderr if as_json else None))
    if result.refused:
        raise Exit(
            f"error: {len(result.refused)} file(s) refused, each named above; the rest is "
            "mirrored, and a run after the fix copies only what is missing",
            code=1,
        )


def _release(name: str, version: str) -> releases.Release:
    return releases.Release.parse(name, version)


RELEASE = ["name", "version"]


def _release_help(action: str, **more: str) -> dict[str, str]:
    """Help for a task on one release: its two positional arguments, then its options."""
    return {
        "name": "NAME, the first argument: the project",
        "version": f"VERSION, the second argument: the version to {action}",
        **more,
        "repository": REPOSITORY_HELP,
    }


def _report_release_change(
    index: Index,
    change: releases.ReleaseChange,
    verb: str,
    release: str,
    idle: Callable[[str], str],
) -> None:
    """Say what a yank or unyank did, or (idle, given where) why there was nothing to do."""
    where = index.storage.location
    if not change.files:
        print(f"nothing to do: {idle(where)}")
        return
    print(f"{verb} {len(change.files)} file(s) of {release} in {where}")
    _invalidate(change.pages)


@task(
    positional=RELEASE,
    help=_release_help("yank", reason="shown to users by pip and uv"),
)
@reports_errors
def yank(
    c: Context, name: str, version: str, reason: str = "", repository: str | None = None
) -> None:
    """`yank NAME VERSION [--reason TEXT]`: installers skip the release (PEP 592) unless it
    is pinned with ==."""
    index = _open_index(repository)
    change = releases.yank(index, _release(name, version), reason)
    _report_release_change(
        index,
        change,
        "yanked",
        f"{name} {version}",
        lambda where: f"{name} {version} is already yanked in {where}, for that reason",
    )


@task(
    positional=RELEASE,
    help=_release_help("restore"),
)
@reports_errors
def unyank(c: Context, name: str, version: str, repository: str | None = None) -> None:
    """`unyank NAME VERSION`: undo a yank."""
    index = _open_index(repository)
    change = releases.unyank(index, _release(name, version))
    _report_release_change(
        index,
        change,
        "unyanked",
        f"{name} {version}",
        lambda where: f"{name} {version} is not yanked in {where}",
    )


@task(
    positional=RELEASE,
    help=_release_help("delete", yes="do not ask for confirmation (for CI)"),
)
@reports_errors
def delete(
    c: Context, name: str, version: str, yes: bool = False, repository: str | None = None
) -> None:
    """`delete NAME VERSION [--yes]`: delete a release's files and take them off the pages.
    Prefer yank."""
    index = _open_index(repository)
    release = _release(name, version)
    if not yes:
        if not sys.stdin.isatty():
            raise Exit(
                f"error: nothing deleted: deleting {release} needs a yes; with no terminal "
                "to ask on, pass --yes",
                code=1,
            )
        answer = input(f"delete every file of {release} from {index.storage.location}? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            raise Exit("nothing deleted", code=1)
    change = releases.delete(index, release)
    for entry in change.files:
        print(f"  deleted {entry.filename} from {index.storage.location}")
    print(
        "recover within 90 days from the bucket's object versions: "
        "see README, 'Recovering a deleted file'"
    )
    _invalidate(change.pages)


@task(
    help={
        "repository": "the index URL to read as pip does "
        f"({s3_index_url('BUCKET', 'REGION')}, {cdn_index_url('CDN')}, "
        f"file:///DIR/{INDEX_PREFIX}), or s3://BUCKET or a directory, "
        "which are also listed to find what no page shows; default as for publish",
    }
)
@reports_errors
def verify(c: Context, repository: str | None = None) -> None:
    """Check the live index as a client: pages parse and agree, files match their hashes."""
    try:
        # Imported here: verify needs pypi-simple, which CI's publish-only install leaves out.
        from private_pypi.verify import next_step, open_verifier
    except ModuleNotFoundError as error:
        if error.name != "pypi_simple":
            raise
        raise Exit(
            "error: verify reads the index with pypi-simple, which this environment lacks: "
            "install private-pypi[verify] (in the private-pypi checkout: "
            "`uv run --no-default-groups --group verify invoke verify`)",
            code=1,
        ) from None

    verifier = open_verifier(_repository(repository), os.environ)
    if verifier.storage is not None:
        _existing(verifier.storage)
    listing = f", listing {verifier.storage.location}" if verifier.storage else ""
    print(f"verifying {verifier.index_url}{listing}")
    report = verifier.run()
    print(report.summary())
    shown = 20
    for problem in report.problems[:shown]:
        print(f"  {problem}")
    if len(report.problems) > shown:
        print(f"  … and {len(report.problems) - shown} more")
    if not report.ok:
        raise Exit(f"error: {len(report.problems)} problem(s): {next_step(report)}", code=1)
