"""The installed `private-pypi` command, as a user of twine or uv meets it (from a wheel in a
fresh venv), publishing from another repository, and the Action.

What only the installed command shows is run as a subprocess: --help, exit statuses, Ctrl-C,
a closed pipe, environment variables, what start-up imports. What it prints is otherwise
the same renderer as the checkout's tasks (tests/test_tasks.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from invoke.context import Context

import tasks
from private_pypi.advice import INTERRUPTED
from private_pypi.building import build_packages
from private_pypi.cli import ENVIRONMENT, app
from private_pypi.commands import publish as publish_command
from private_pypi.configuration import (
    ProjectTable,
    find_table,
    packages_to_build,
    repository_to_use,
)
from private_pypi.demo import isolated_pip_environment
from private_pypi.errors import ConfigurationError
from private_pypi.version import __version__
from tests.documentation import README, page
from tests.factory import sdist, wheel
from tests.installers import pip_install, run_python, uv_binary
from tests.invoking import invoke
from tests.test_building import commit, write_package
from tests.test_tasks import published_repository, snapshot

ROOT = Path(__file__).resolve().parent.parent
TABLE = """\
[project]
name = "acme-monorepo"
version = "0"

[tool.private-pypi]
packages = ["packages/acme-one", "packages/acme-two"]
repository = "../published"
"""
BOTH = "import acme_one, acme_two; print(acme_one.VALUE + acme_two.VALUE)"
COMMANDS = ("publish", "build", "yank", "unyank", "delete", "reindex", "verify")
# Every flag of the command line: nothing of a task runner's.
OUR_FLAGS = {
    "-h", "--help", "--version", "-d", "--dist", "-p", "--package", "-r", "--repository",
    "-n", "--dry-run", "--skip-existing", "--no-isolation", "-o", "--output", "--reason",
    "-y", "--yes", "-v", "--verbose", "-q", "--quiet", "--json", "--no-progress",
}  # fmt: skip
# invoke's core flags, which the command inherited when it was an invoke Program.
INVOKE_FLAGS = (
    "--dry", "-R", "--pty", "--echo", "-e", "--hide", "--write-pyc", "--debug", "-D",
    "--prompt-for-sudo-password", "--warn-only", "-w", "--complete", "--collection", "-c",
    "--search-root", "--list", "-l", "--config", "-f", "--command-timeout", "-T", "--echo-format",
)  # fmt: skip


def environment(**settings: str) -> dict[str, str]:
    """No pip, uv, AWS or private-pypi settings of this machine's but the uv cache the
    suite filled."""
    env = {
        k: v
        for k, v in isolated_pip_environment().items()
        if not k.startswith(("AWS_", "PRIVATE_PYPI_", "S3_PYPI_", "NO_COLOR"))
    }
    if "UV_CACHE_DIR" in os.environ:
        env["UV_CACHE_DIR"] = os.environ["UV_CACHE_DIR"]
    return {**env, **settings}


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding a wheel of private-pypi-aws with its verify extra (and a build
    backend): its bin/."""
    work = tmp_path_factory.mktemp("installed")
    built = build_packages([ROOT], work / "dist", isolated=False).built
    (wheel_file,) = [path for path in built if path.suffix == ".whl"]
    shipped = {name.split("/")[0] for name in zipfile.ZipFile(wheel_file).namelist()}
    assert shipped == {"private_pypi", f"private_pypi_aws-{__version__}.dist-info"}
    uv = uv_binary()
    venv = work / "venv"
    for command in (
        [uv, "venv", "--quiet", "--no-config", str(venv)],
        [uv, "pip", "install", "--quiet", "--no-config", "--python", str(venv / "bin" / "python"),
         f"private-pypi-aws[verify] @ {wheel_file.as_uri()}", "flit-core>=3.9,<4"],
    ):  # fmt: skip
        result = subprocess.run(command, env=environment(), capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    return venv / "bin"


def private_pypi(
    bin_dir: Path, *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "private-pypi"), *args],
        cwd=cwd,
        env=environment(**(env or {})),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def error_of(result: subprocess.CompletedProcess[str]) -> str:
    """The one line an error of ours prints: exit 1, `error: ...` alone on stderr."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: "), line
    return line


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """A repository of its own: two packages and a [tool.private-pypi] table, committed."""
    repository = tmp_path / "monorepo"
    for name in ("acme-one", "acme-two"):
        write_package(repository / "packages", name, "flit-core")
    (repository / "pyproject.toml").write_text(TABLE)
    commit(repository, "two packages")
    return repository


def test_the_wheel_installs_the_command_without_pulumi_or_invoke_at_start(
    installed: Path, tmp_path: Path
) -> None:
    help_text = private_pypi(installed, "--help", cwd=tmp_path).stdout
    commands = help_text.split("Commands:", 1)[1].split()
    for name in COMMANDS:
        assert name in commands, help_text
    for checkout_only in ("demo", "test", "bench", "env", "rotate-keys"):
        assert checkout_only not in commands
    version = private_pypi(installed, "--version", cwd=tmp_path)
    assert (version.returncode, version.stdout) == (0, f"private-pypi {__version__}\n")

    python = str(installed / "python")
    no_pulumi = subprocess.run([python, "-c", "import pulumi"], capture_output=True, text=True)
    assert "No module named 'pulumi'" in no_pulumi.stderr


# --- the conventions of a command line --------------------------------------------------


def test_every_command_explains_itself_with_help_or_h_and_offers_only_its_own_flags(
    installed: Path, tmp_path: Path
) -> None:
    for command in ("", *COMMANDS):
        words = [command] if command else []
        long = private_pypi(installed, *words, "--help", cwd=tmp_path)
        short = private_pypi(installed, *words, "-h", cwd=tmp_path)
        assert long.returncode == 0 and long.stderr == "", long.stderr
        assert short.stdout == long.stdout
        assert long.stdout.startswith(f"Usage: private-pypi {command}".rstrip())
        options = long.stdout.split("Options:", 1)[1].split("Commands:", 1)[0]
        flags = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", options))
        assert flags <= OUR_FLAGS, (command, flags - OUR_FLAGS)
        if command:
            # Every option but --help names its environment variable.
            named = " ".join(options.split()).count("[env var: PRIVATE_PYPI_")
            assert named == options.count("\n  -") - 1, (command, options)
    publish_help = " ".join(private_pypi(installed, "publish", "-h", cwd=tmp_path).stdout.split())
    for option in ("--dist", "--repository", "--skip-existing", "--dry-run", "tool.private-pypi",
                   "PRIVATE_PYPI_REPOSITORY", "AWS_PYPI_BUCKET"):  # fmt: skip
        assert option in publish_help
    for command in ("yank", "unyank", "delete"):
        usage = private_pypi(installed, command, "-h", cwd=tmp_path).stdout.splitlines()[0]
        assert usage == f"Usage: private-pypi {command} [OPTIONS] NAME VERSION..."


def test_no_task_runners_flag_is_reachable_and_nothing_is_published(
    installed: Path, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    wheel(dist, "acme", "1.0")
    repository = tmp_path / "repository"
    for flag in INVOKE_FLAGS:
        for args in ([flag, "publish", str(dist), "-r", str(repository)],
                     ["publish", flag, str(dist), "-r", str(repository)]):  # fmt: skip
            result = private_pypi(installed, *args, cwd=tmp_path)
            assert result.returncode == 2, (args, result.stdout, result.stderr)
            usage, error = result.stderr.splitlines()
            assert usage.startswith("Usage: private-pypi") and error.startswith("Error: ")
    assert not repository.exists()


def test_usage_errors_exit_2_in_two_lines_and_errors_of_ours_exit_1_in_one(
    installed: Path, tmp_path: Path
) -> None:
    cases = {
        ("yank", "acme"): "Error: Missing argument 'VERSION...'.",
        ("publish", "--verbose", "--quiet", "x"): "Error: --verbose and --quiet contradict",
        ("verify", "--frobnicate"): "Error: No such option '--frobnicate'",
        ("frobnicate",): "Error: No such command 'frobnicate'",
    }
    for args, expected in cases.items():
        result = private_pypi(installed, *args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        usage, error = result.stderr.splitlines()
        assert usage.startswith("Usage: private-pypi") and error.startswith(expected), error
        assert result.stdout == ""

    repository = {"PRIVATE_PYPI_REPOSITORY": str(tmp_path / "repository")}
    missing = private_pypi(installed, "publish", "nothing", cwd=tmp_path, env=repository)
    assert error_of(missing) == "error: nothing: no such file or directory"
    unconfigured = private_pypi(installed, "reindex", cwd=tmp_path)
    assert error_of(unconfigured).startswith("error: no repository configured: pass --repository")


def test_a_local_path_that_is_not_a_repository_is_refused_in_one_line(
    installed: Path, tmp_path: Path
) -> None:
    repository = published_repository(tmp_path)
    work_tree = tmp_path / "work-tree"  # what `-r .` in a project would name
    (work_tree / "src").mkdir(parents=True)
    (work_tree / "README.md").write_text("# a project\n")
    crowded = tmp_path / "crowded"  # a repository's simple/, and other things beside it
    shutil.copytree(repository, crowded)
    (crowded / "notes.txt").write_text("mine\n")
    a_file = tmp_path / "published" / "acme-1.0.tar.gz"
    typo = tmp_path / "typo"
    reasons = {
        work_tree: "it has no simple/ directory",
        crowded: "it holds other things than simple/ (notes.txt)",
        a_file: "it is a file, not a directory",
        typo: "nothing is there",
    }
    before = snapshot(tmp_path)
    for path, reason in reasons.items():
        for args in (
            ["reindex"], ["verify"], ["yank", "acme", "1.0"], ["unyank", "acme", "1.0"],
            ["delete", "acme", "1.0", "--yes"], ["publish", "--dry-run", "published"],
        ):  # fmt: skip
            line = error_of(private_pypi(installed, *args, "-r", str(path), cwd=tmp_path))
            assert line == (
                f"error: no repository at {path}: {reason}; check --repository (only a "
                "publish creates a repository)"
            ), (args, line)
    # A real publish makes a repository only where nothing is, or in an empty directory.
    for path in (work_tree, crowded, a_file):
        line = error_of(
            private_pypi(installed, "publish", "published", "-r", str(path), cwd=tmp_path)
        )
        assert line.startswith(f"error: {path} is not a repository (")
    assert snapshot(tmp_path) == before and not typo.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    for new in (typo, empty):
        made = private_pypi(installed, "publish", "published", "-r", str(new), cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        assert (new / "simple" / "acme" / "acme-1.0.tar.gz").is_file()


def test_advice_names_the_command_the_user_ran(installed: Path, tmp_path: Path) -> None:
    repository = published_repository(tmp_path)
    (repository / "simple" / "acme" / "index.json").write_text("{not json")
    page = "simple/acme/index.json is unreadable"

    installed_line = error_of(
        private_pypi(installed, "yank", "acme", "1.0", "-r", str(repository), cwd=tmp_path)
    )
    assert page in installed_line
    assert installed_line.endswith("run `private-pypi reindex` to rebuild it")
    checkout = invoke("yank", "acme", "1.0", "-r", str(repository))
    assert checkout.stderr.strip().endswith("run `uv run invoke reindex` to rebuild it")

    checked = private_pypi(installed, "verify", "-r", str(repository), cwd=tmp_path)
    assert checked.returncode == 1
    assert checked.stderr.splitlines()[-1].endswith(
        ": `private-pypi reindex` rebuilds the pages from the stored files; then run "
        "`private-pypi verify` again"
    )
    repaired = private_pypi(installed, "reindex", "-r", str(repository), cwd=tmp_path)
    assert repaired.returncode == 0, repaired.stderr
    assert private_pypi(installed, "verify", "-r", str(repository), cwd=tmp_path).returncode == 0

    # Advice for a task only the checkout has says where it is.
    unset = private_pypi(installed, "reindex", cwd=tmp_path)
    assert "`uv run invoke env` in the private-pypi checkout" in error_of(unset)
    # And an extra this environment lacks, how to get it.
    without = subprocess.run(
        [str(installed / "python"), "-c", "import sys; sys.modules['pypi_simple'] = None; "
         "from private_pypi.__main__ import main; sys.exit(main())", "verify", "-r",
         str(repository)],
        cwd=tmp_path, env=environment(), capture_output=True, text=True,
    )  # fmt: skip
    assert error_of(without).endswith(
        "use `pip install 'private-pypi-aws[verify]'` (the verify extra)"
    )


def test_delete_says_what_recovery_is_true_of_a_directory(installed: Path, tmp_path: Path) -> None:
    repository = published_repository(tmp_path)
    refused = private_pypi(installed, "delete", "acme", "1.0", "-r", str(repository), cwd=tmp_path)
    assert error_of(refused) == (
        "error: nothing deleted: deleting acme 1.0 needs a yes; with no terminal to ask on, "
        "pass --yes"
    )
    deleted = private_pypi(installed, "delete", "acme", "1.0", "-y", "-r", str(repository),
                           cwd=tmp_path)  # fmt: skip
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.splitlines()[-1] == (
        "recovery: a local directory keeps no old versions: the deleted files are gone for good"
    )
    assert "90 days" not in deleted.stdout


def test_json_is_one_document_of_what_was_done_per_file(installed: Path, tmp_path: Path) -> None:
    dist, repository = tmp_path / "dist", tmp_path / "repository"
    names = {wheel(dist, "acme", "1.0").name, sdist(dist, "acme", "1.0").name}

    def run(*args: str) -> dict[str, object]:
        result = private_pypi(installed, *args, "-r", str(repository), "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    index_url = (repository / "simple").resolve().as_uri() + "/"
    published = run("publish", str(dist))
    assert published["index_url"] == index_url and published["dry_run"] is False
    files = published["files"]
    assert isinstance(files, list)
    assert {(f["filename"], f["outcome"]) for f in files} == {(n, "uploaded") for n in names}
    assert {f["url"] for f in files} == {f"{index_url}acme/{name}" for name in names}
    again = run("publish", str(dist))
    assert {f["outcome"] for f in again["files"]} == {"unchanged"}  # type: ignore[union-attr]
    assert again["pages_written"] == []

    yanked = run("yank", "acme", "1.0", "--reason", "broken")
    assert yanked["versions"] == [
        {"version": "1.0", "files": sorted(names), "repaired": [], "removed": []}
    ]
    assert yanked["reason"] == "broken"
    reindexed = run("reindex")
    assert (reindexed["projects"], reindexed["files"], reindexed["pages_written"]) == (1, 2, [])
    verified = run("verify")
    assert verified["ok"] is True and verified["problems"] == []


def test_every_option_has_an_environment_variable_and_a_flag_wins(
    installed: Path, tmp_path: Path
) -> None:
    repository = published_repository(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    wheel(one, "acme-one", "1.0")
    wheel(two, "acme-two", "1.0")
    env = {
        "PRIVATE_PYPI_DIST": f"{one}\n{two}\n",  # one per line, as the Action's input
        "PRIVATE_PYPI_REPOSITORY": str(repository),
        "AWS_PYPI_BUCKET": "not-this-one",  # the command's own variable comes first
        "PRIVATE_PYPI_DRY_RUN": "true",
        "PRIVATE_PYPI_JSON": "1",
    }
    checked = private_pypi(installed, "publish", cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stderr
    document = json.loads(checked.stdout)
    assert document["dry_run"] is True and document["repository"] == str(repository.resolve())
    assert [f["outcome"] for f in document["files"]] == ["would upload", "would upload"]

    published = private_pypi(installed, "publish", cwd=tmp_path,
                             env={**env, "PRIVATE_PYPI_DRY_RUN": "false"})  # fmt: skip
    assert published.returncode == 0, published.stderr
    assert (repository / "simple" / "acme-two").is_dir()

    elsewhere = tmp_path / "elsewhere"
    flag = private_pypi(installed, "publish", str(one), "-r", str(elsewhere), cwd=tmp_path,
                        env={"PRIVATE_PYPI_REPOSITORY": str(repository)})  # fmt: skip
    assert flag.returncode == 0 and (elsewhere / "simple" / "acme-one").is_dir()

    wrong = private_pypi(installed, "publish", cwd=tmp_path,
                         env={**env, "PRIVATE_PYPI_DRY_RUN": "maybe"})  # fmt: skip
    assert wrong.returncode == 2 and "'maybe' is not a valid boolean" in wrong.stderr

    quiet_env = {"PRIVATE_PYPI_QUIET": "true", "PRIVATE_PYPI_REPOSITORY": str(repository)}
    quiet = private_pypi(installed, "reindex", cwd=tmp_path, env=quiet_env)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


def test_verbose_shows_each_request_and_decision(installed: Path, tmp_path: Path) -> None:
    repository = published_repository(tmp_path)
    result = private_pypi(installed, "publish", "published", "-r", str(repository), "-v",
                          cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "    GET    simple/acme/index.json" in lines
    assert "    the repository has it with the same sha256: not stored again" in lines
    quiet = private_pypi(
        installed, "publish", "published", "-r", str(repository), "-q", cwd=tmp_path
    )
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


def closed_stdout(installed: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the command with a stdout nobody reads, closed before it writes: `| head -0`."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [str(installed / "private-pypi"), *args], cwd=cwd, env=environment(),
            stdout=writer, stderr=subprocess.PIPE, text=True, timeout=300,
        )  # fmt: skip
    finally:
        os.close(writer)


def test_a_closed_pipe_ends_the_output_quietly_and_never_the_work(
    installed: Path, tmp_path: Path
) -> None:
    for args in (["--help"], ["publish", "-h"], ["--version"]):
        result = closed_stdout(installed, *args, cwd=tmp_path)
        assert (result.returncode, result.stderr) == (0, ""), (args, result.stderr)

    dist, repository = tmp_path / "dist", tmp_path / "repository"
    for number in range(5):
        wheel(dist, f"acme-{number}", "1.0")
    checked = closed_stdout(installed, "publish", "-n", str(dist), "-r", str(tmp_path),
                            cwd=tmp_path)  # fmt: skip
    assert checked.returncode == 1  # an error still exits 1, and says so on stderr
    published = closed_stdout(installed, "publish", str(dist), "-r", str(repository),
                              cwd=tmp_path)  # fmt: skip
    assert (published.returncode, published.stderr) == (0, "")
    for number in range(5):  # every file stored and on its page
        page = json.loads((repository / "simple" / f"acme-{number}" / "index.json").read_text())
        assert [entry["filename"] for entry in page["files"]] == [
            f"acme_{number}-1.0-py3-none-any.whl"
        ]
    listed = closed_stdout(installed, "verify", "--json", "-r", str(repository), cwd=tmp_path)
    assert listed.returncode == 0
    assert listed.stderr.startswith("verifying ") and len(listed.stderr.splitlines()) == 1


def test_ctrl_c_exits_130_with_one_line_while_starting_and_while_publishing(
    installed: Path, monorepo: Path, tmp_path: Path
) -> None:
    command = [str(installed / "private-pypi"), "publish", "--no-isolation",
               "-r", str(tmp_path / "repository")]  # fmt: skip

    def interrupted(process: subprocess.Popen[str]) -> tuple[str, str]:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 130, (out, err)
        assert err.splitlines() == [INTERRUPTED], err
        return out, err

    # Still starting: importing what publish needs takes longer than this.
    starting = subprocess.Popen(command, cwd=monorepo, env=environment(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    time.sleep(0.15)
    out, _ = interrupted(starting)
    assert out == ""

    # Publishing: it has begun its build.
    running = subprocess.Popen(command, cwd=monorepo, env=environment(), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert running.stdout is not None
    assert running.stdout.readline().startswith("building 2 package(s) into ")
    interrupted(running)
    # Nothing half-done is left: no page links a file that is not there.
    page = tmp_path / "repository" / "simple" / "acme-one" / "index.json"
    if page.exists():
        for entry in json.loads(page.read_text())["files"]:
            assert (page.parent / entry["filename"]).is_file()


def test_help_and_version_import_neither_boto3_nor_invoke_and_publish_only_what_it_uses(
    installed: Path, tmp_path: Path, s3_env: dict[str, str]
) -> None:
    heavy = ("boto3", "botocore", "s3transfer", "invoke", "tqdm", "build", "pypi_simple")

    def imported(*args: str, env: dict[str, str] | None = None) -> set[str]:
        code = (
            "import sys\n"
            "sys.argv = ['private-pypi', *sys.argv[1:]]\n"
            "from private_pypi.__main__ import main\n"
            "status = main()\n"
            f"names = sorted({{m.split('.')[0] for m in sys.modules}} & {set(heavy)!r})\n"
            "sys.stderr.write('imported: ' + ' '.join(names) + '\\n')\n"
            "sys.exit(status)\n"
        )
        result = subprocess.run(
            [str(installed / "python"), "-c", code, *args],
            cwd=tmp_path,
            env=environment(**(env or {})),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        return set(result.stderr.rsplit("imported: ", 1)[1].split())

    assert imported("--version") == set()
    assert imported("--help") == set()
    assert imported("publish", "--help") == set()
    dist = tmp_path / "dist"
    wheel(dist, "acme", "1.0")
    assert imported("publish", str(dist), "-r", str(tmp_path / "repository")) == set()
    # To S3: botocore's client, and neither boto3 nor s3transfer for a file sent whole.
    assert imported("publish", str(dist), env=s3_env) == {"botocore"}


def test_completion_is_clicks(installed: Path, tmp_path: Path) -> None:
    script = private_pypi(installed, cwd=tmp_path, env={"_PRIVATE_PYPI_COMPLETE": "bash_source"})
    assert script.returncode == 0 and "complete -o nosort -F" in script.stdout
    completed = private_pypi(installed, cwd=tmp_path, env={
        "_PRIVATE_PYPI_COMPLETE": "bash_complete", "COMP_WORDS": "private-pypi pub",
        "COMP_CWORD": "1"})  # fmt: skip
    assert completed.stdout.split() == ["plain,publish"]


def test_invoke_publish_and_private_pypi_publish_run_the_same_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[publish_command.PublishSettings] = []

    def recorded(settings: publish_command.PublishSettings, *_: object, **__: object) -> None:
        calls.append(settings)
        raise ConfigurationError("recorded")

    monkeypatch.setattr(publish_command, "publish", recorded)
    monkeypatch.chdir(tmp_path)
    for name in ENVIRONMENT.values():
        if name:
            monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["publish", "dist", "-r", "repo", "-n"])
    assert result.exit_code != 0
    with pytest.raises(Exception, match="recorded"):
        tasks.publish(Context(), dist="dist", repository="repo", dry_run=True)
    assert (
        calls[0]
        == calls[1]
        == publish_command.PublishSettings(files=(Path("dist"),), repository="repo", dry_run=True)
    )


def test_a_repository_with_a_table_publishes_both_packages_to_s3_and_to_a_directory(
    installed: Path, monorepo: Path, s3_env: dict[str, str], moto_endpoint: str, bucket: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    # From a package's directory: its own pyproject.toml has no table, the repository's has.
    inside = monorepo / "packages" / "acme-one"
    to_s3 = private_pypi(installed, "publish", "--no-isolation", cwd=inside, env=s3_env)
    assert to_s3.returncode == 0, to_s3.stdout + to_s3.stderr
    assert to_s3.stdout.count("  uploaded  ") == 4
    # Built in a directory of the run's own, which is gone: nothing is left in the checkout.
    assert not (monorepo / "dist").exists() and not (inside / "dist").exists()
    # The environment's bucket came before the table's repository.
    assert not (tmp_path / "published").exists()

    to_directory = private_pypi(installed, "publish", "--no-isolation", cwd=monorepo)
    assert to_directory.returncode == 0, to_directory.stdout + to_directory.stderr
    assert to_directory.stdout.count("  uploaded  ") == 4
    again = private_pypi(installed, "publish", "--no-isolation", cwd=monorepo)
    assert again.stdout.splitlines()[-1].startswith("nothing to do: every package is already")

    for name, index_url in (
        ("s3", f"{moto_endpoint}/{bucket}/simple/"),
        ("local", (tmp_path / "published" / "simple").as_uri() + "/"),
    ):
        python = pip_install(tmp_path / f"pip-{name}", index_url, "acme-one", "acme-two")
        assert run_python(python, BOTH) == "2"


def test_a_bad_table_is_one_line_naming_the_file(installed: Path, monorepo: Path) -> None:
    pyproject = monorepo / "pyproject.toml"
    cases = {
        TABLE.replace("repository =", "repositry ="): "unknown key repositry",
        TABLE.replace('"packages/acme-two"]', '"packages/acme-two"'): "cannot be read as TOML",
        TABLE.replace('["packages/acme-one", "packages/acme-two"]', '"x"'): "a list of",
    }
    for text, expected in cases.items():
        pyproject.write_text(text)
        result = private_pypi(installed, "publish", "--dry-run", cwd=monorepo)
        (line,) = result.stderr.splitlines()
        assert result.returncode == 1 and line.startswith("error: "), result.stderr
        assert expected in line and str(pyproject) in line, line


# --- precedence -----------------------------------------------------------------------


def test_packages_come_from_flags_then_the_table_then_invoke_yaml(tmp_path: Path) -> None:
    table = ProjectTable(tmp_path / "pyproject.toml", (tmp_path / "from-table",))
    checkout = tmp_path / "checkout"

    def sources(flags: list[str], table: ProjectTable | None, configured: list[str]) -> list[Path]:
        return list(packages_to_build(flags, table, configured, checkout, tmp_path))

    assert sources(["flag"], table, ["yaml"]) == [Path("flag")]
    assert sources([], table, ["yaml"]) == [tmp_path / "from-table"]
    assert sources([], None, ["yaml"]) == [checkout / "yaml"]
    with pytest.raises(ConfigurationError, match="no packages to build"):
        sources([], None, [])


def test_the_repository_comes_from_the_flag_then_the_environment_then_the_table(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(TABLE)
    table = find_table(tmp_path)
    assert table is not None and table.repository == str(tmp_path / ".." / "published")
    env = {"S3_PYPI_BUCKET": "from-env"}

    assert repository_to_use("s3://flag", env, table) == "s3://flag"
    both = {**env, "AWS_PYPI_BUCKET": "secret", "PRIVATE_PYPI_REPOSITORY": "s3://variable"}
    assert repository_to_use(None, both, table) == "s3://variable"
    assert repository_to_use(None, {**env, "AWS_PYPI_BUCKET": "secret"}, table) == "s3://secret"
    assert repository_to_use(None, env, table) == "s3://from-env"
    assert repository_to_use(None, {}, table) == table.repository
    with pytest.raises(ConfigurationError, match=r"no repository configured.*tool\.private-pypi"):
        repository_to_use(None, {}, None)


def test_the_table_is_searched_for_up_to_the_git_root_and_urls_stay_as_written(
    tmp_path: Path,
) -> None:
    outer, repository = tmp_path, tmp_path / "repository"
    (outer / "pyproject.toml").write_text(TABLE)  # outside the git repository: never read
    (repository / ".git").mkdir(parents=True)
    package = repository / "packages" / "acme"
    package.mkdir(parents=True)
    (package / "pyproject.toml").write_text('[project]\nname = "acme"\n')
    assert find_table(package) is None

    (repository / "pyproject.toml").write_text(
        '[tool.private-pypi]\nrepository = "s3://acme-pypi"\npackages = ["packages/acme"]\n'
    )
    assert find_table(package) == ProjectTable(
        repository / "pyproject.toml", (package,), "s3://acme-pypi"
    )


# --- the Action -------------------------------------------------------------------------

EXPRESSION = re.compile(r"^\$\{\{ (.+) \}\}$")
CONDITION = re.compile(r"^inputs\.([a-z-]+) (==|!=) '([a-z]*)'$")


def evaluate(expression: str, values: dict[str, str]) -> str:
    """An expression of action.yml as the runner evaluates it: `${{ inputs.NAME }}`, or
    `${{ inputs.A || inputs.B }}` (the first that is not empty). Inputs only: nothing else."""
    match = EXPRESSION.match(expression)
    assert match, expression
    for alternative in match.group(1).split(" || "):
        assert alternative.startswith("inputs."), expression
        value = values[alternative.removeprefix("inputs.")]
        if value:
            return value
    return ""


@dataclass
class ActionRun:
    result: subprocess.CompletedProcess[str]
    outputs: dict[str, str]


def run_action(inputs: dict[str, str], cwd: Path) -> ActionRun:
    """action.yml's run steps in order, each with its `if:`, `working-directory:` and `env:`
    as the runner evaluates them from the inputs (and their defaults), and the outputs its
    steps write: what a job does on `uses: OWNER/REPO@SHA`. setup-uv's step is the uv on
    this machine."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    values = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    assert set(inputs) <= set(values), inputs
    values.update(inputs)
    outputs_file = cwd.parent / f"github-output-{time.monotonic_ns()}"
    outputs_file.touch()
    result = None
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"].startswith("astral-sh/setup-uv@")
            continue
        if "if" in step:
            condition = CONDITION.match(step["if"])
            assert condition, step["if"]
            name, operator, literal = condition.groups()
            if (values[name] == literal) != (operator == "=="):
                continue
        step_env = {name: evaluate(value, values) for name, value in step.get("env", {}).items()}
        assert "${{" not in step["run"], "an input interpolated into the script"
        assert step["shell"] == "bash"
        directory = cwd / evaluate(
            step.get("working-directory", "${{ inputs.working-directory }}"), values
        )
        result = subprocess.run(
            # GitHub's own command line for `shell: bash`.
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=directory,
            env={
                **environment(**step_env),
                "GITHUB_ACTION_PATH": str(ROOT),
                "GITHUB_OUTPUT": str(outputs_file),
                "PATH": f"{Path(uv_binary()).parent}{os.pathsep}{os.environ['PATH']}",
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            break
    assert result is not None
    written = dict(line.split("=", 1) for line in outputs_file.read_text().splitlines())
    steps = {step.get("id") for step in action["runs"]["steps"]}
    outputs = {}
    for name, spec in action["outputs"].items():
        reference = EXPRESSION.match(spec["value"])
        assert reference, spec["value"]
        step_id, _, output = reference.group(1).removeprefix("steps.").partition(".outputs.")
        assert step_id in steps
        if output in written:
            outputs[name] = written[output]
    return ActionRun(result, outputs)


def test_the_action_metadata_maps_its_inputs_onto_the_command() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(action["inputs"]) == {
        "packages", "dist", "repository", "skip-existing", "dry-run", "working-directory",
        "verify", "verify-url",
    }  # fmt: skip
    assert set(action["outputs"]) == {"index-url", "files"}
    assert all(spec["description"] for spec in action["inputs"].values())
    assert action["inputs"]["dry-run"]["default"] == "false"
    assert action["inputs"]["verify"]["default"] == "false"


def test_the_action_publishes_to_a_directory_and_says_what_it_published(
    monorepo: Path, example_dists: list[Path], tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    shutil.copytree(example_dists[0].parent, dist)
    names = sorted(path.name for path in dist.iterdir())

    # No repository input: the table's, relative to the caller's pyproject.toml, which the
    # working directory finds from a package's directory.
    inside = "packages/acme-one"
    published = run_action({"dist": str(dist), "working-directory": inside}, cwd=monorepo)
    assert published.result.returncode == 0, published.result.stderr
    index_url = (tmp_path / "published" / "simple").as_uri() + "/"
    assert published.outputs["index-url"] == index_url
    files = json.loads(published.outputs["files"])
    assert sorted(f["filename"] for f in files) == names
    assert {f["outcome"] for f in files} == {"uploaded"}
    assert published.result.stderr.count("  uploaded  ") == 4  # the log, on stderr
    python = pip_install(tmp_path / "venv", index_url, "acme-hello")
    assert run_python(python, "import acme_hello") == ""

    checked = run_action({"dist": str(dist), "dry-run": "true", "verify": "true"}, cwd=monorepo)
    assert checked.result.returncode == 0, checked.result.stderr
    assert {f["outcome"] for f in json.loads(checked.outputs["files"])} == {"unchanged"}
    assert "2 project(s), 4 file(s)" in checked.result.stdout  # verify's summary

    again = run_action({"dist": str(dist), "skip-existing": "true"}, cwd=monorepo)
    assert again.result.returncode == 0
    assert {f["outcome"] for f in json.loads(again.outputs["files"])} == {"unchanged"}

    unclear = run_action({"dist": str(dist), "verify": "yes"}, cwd=monorepo)
    assert unclear.result.returncode == 1
    assert unclear.result.stderr.splitlines()[-1] == (
        "error: input verify is 'yes': use true or false"
    )


def test_the_action_takes_its_inputs_as_data_never_as_shell(monorepo: Path) -> None:
    hostile = "$(touch pwned); `touch pwned`"
    run = run_action({"packages": hostile, "repository": str(monorepo / "r")}, cwd=monorepo)
    assert run.result.returncode == 1
    assert f"error: {hostile}: not a Python package" in run.result.stderr
    assert not (monorepo / "pwned").exists()

    wrong = run_action({"dry-run": "maybe"}, cwd=monorepo)
    assert wrong.result.returncode == 2
    assert "'maybe' is not a valid boolean" in wrong.result.stderr


def test_the_documented_table_and_workflows_fit(tmp_path: Path) -> None:
    """The `[tool.private-pypi]` table of its reference, and the workflows another repository
    copies: both of the GitHub Actions guide, and the one the README and getting started show."""
    (table,) = re.findall(r"```toml\n(.*?)```", page("reference/configuration.md"), re.S)
    (tmp_path / "pyproject.toml").write_text(table)
    assert find_table(tmp_path) == ProjectTable(
        tmp_path / "pyproject.toml",
        (tmp_path / "packages/my-lib", tmp_path / "packages/my-app"),
        "s3://acme-pypi-production",
    )
    inputs = set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])
    guide = re.findall(r"```yaml\n(.*?)```", page("how-to/publish-from-github-actions.md"), re.S)
    assert len(guide) == 2
    (quick,) = re.findall(r"```yaml\n(.*?)```", page("getting-started.md"), re.S)
    assert quick == guide[0] and f"```yaml\n{quick}```" in README.read_text(encoding="utf-8")
    workflows = [yaml.safe_load(text) for text in guide]
    for workflow in workflows:
        # Whole workflows, to copy: YAML 1.1 reads the key `on` as True.
        assert workflow[True]["push"]["tags"] and workflow["permissions"]["contents"] == "read"
        steps = workflow["jobs"]["publish"]["steps"]
        checkout = steps[0]
        assert checkout["uses"].startswith("actions/checkout@")
        assert checkout["with"]["fetch-depth"] == 0
        (step,) = [step for step in steps if step["uses"].startswith("OWNER/REPO@")]
        assert re.fullmatch(r"OWNER/REPO@[0-9a-f]{40}", step["uses"])
        assert set(step.get("with", {})) <= inputs
        assert all(name.startswith("AWS_PYPI_") for name in step["env"])
    assert workflows[1]["permissions"]["id-token"] == "write"
    # This repository's own workflow runs the Action of its own checkout, and says so.
    own = (ROOT / ".github" / "workflows" / "publish.yml").read_text()
    assert "uses: ./" in own and "not a workflow to copy" in own
