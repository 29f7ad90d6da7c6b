"""private-pypi tasks: build, publish and look after a private Python package index.

The publishing tasks live in the package (private_pypi/tasks.py): the same command
functions as the installed `private-pypi`, a second face over them. The tasks below need
this checkout or the Pulumi CLI. `invoke --list` lists them all; `invoke --help TASK`
explains one.
"""

from __future__ import annotations

from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context

from private_pypi.contract import GITHUB_SECRETS_BY_HAND_OUTPUT, KEY_ROTATION_SETTING
from private_pypi.demo import run_demo
from private_pypi.stack import config_exports, stack_outputs
from private_pypi.stack import rotate_keys as rotate_stack_keys
from private_pypi.tasks import (
    build,
    delete,
    mirror,
    publish,
    reindex,
    reports_errors,
    status,
    task,
    unyank,
    verify,
    yank,
)

ROOT = Path(__file__).resolve().parent
# mkdocs-material's banner about MkDocs 2, printed on every build, is not about this site.
QUIET_MKDOCS = {"NO_MKDOCS_2_WARNING": "1"}


@task()
@reports_errors
def demo(c: Context) -> None:
    """Build the examples, publish them to a local repository, pip-install one: no AWS."""
    run_demo(ROOT, ROOT / ".demo", print)
    print(
        "demo finished: the repository is in .demo/repository; serve it with "
        "`python -m http.server -d .demo/repository`"
    )


@task(help={"pytest-args": "extra arguments for pytest, e.g. '-k publish -x'"})
def test(c: Context, pytest_args: str = "") -> None:
    """Run the whole test suite (ruff, then pytest in parallel), with the LocalStack tier
    where LocalStack can run."""
    c.run("ruff check .", pty=False)
    # Installs LocalStack's environment on first use, and says in one line whether its
    # tier runs (and why not); the workers then find it ready.
    c.run("python -m tests.localstack", pty=False)
    c.run(f"pytest -n auto {pytest_args}", pty=False)


@task(
    help={
        "quick": "a small version (P1 at 10 and 100 projects, one run each; P5 cold, then "
        "offline from the cache it filled), about a minute; written to benchmarks/.work/",
    }
)
def bench(c: Context, quick: bool = False) -> None:
    """Benchmark publish and reindex at scale against s3pypi, builds, resolution and CI cold
    start on a local moto server; print the figures and write benchmarks/results.md."""
    from benchmarks.main import bench as run_bench

    run_bench(quick=quick)


@task(help={"serve": "serve the site at http://127.0.0.1:8000/ and rebuild it on every change"})
def docs(c: Context, serve: bool = False) -> None:
    """Build the documentation site into site/, strictly: a broken link or any warning fails."""
    if serve:
        c.run("mkdocs serve --strict", pty=False, env=QUIET_MKDOCS)
    else:
        c.run("mkdocs build --strict --site-dir site", pty=False, env=QUIET_MKDOCS)


@task(help={"stack": "the Pulumi stack to read; default: the selected stack"})
@reports_errors
def env(c: Context, stack: str | None = None) -> None:
    """Print the stack's settings as shell exports, for eval "$(invoke env)". No credentials."""
    print(config_exports(stack_outputs(stack)), end="")


@task(help={"stack": "the Pulumi stack to update; default: the selected stack"})
@reports_errors
def rotate_keys(c: Context, stack: str | None = None) -> None:
    """Replace the deployer's access key now: set keyRotation, then `pulumi up --yes`."""
    token = rotate_stack_keys(stack)
    print(
        f"{KEY_ROTATION_SETTING} is now {token}: the new key is in the GitHub secrets and the "
        "old one is deleted (without githubRepository, set them again: "
        f"`pulumi stack output {GITHUB_SECRETS_BY_HAND_OUTPUT}`)"
    )


namespace = Collection(
    build,
    publish,
    mirror,
    yank,
    unyank,
    delete,
    status,
    reindex,
    verify,
    demo,
    test,
    bench,
    docs,
    env,
    rotate_keys,
)
# invoke.yaml's publish.packages are relative to this checkout, wherever invoke runs from.
namespace.configure({"publish": {"directory": str(ROOT)}})
