"""The commands a user types, and what they print."""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from invoke.tasks import Task

import tasks
from private_pypi import releases
from private_pypi.console import human_size
from private_pypi.index import Index
from private_pypi.publish import Publisher, inspect_all
from private_pypi.storage import LocalStorage, S3Storage
from tests.factory import sdist, wheel
from tests.invoking import INVOKE, error_line, invoke
from tests.test_building import clone, commit, write_package

ROOT = Path(__file__).resolve().parent.parent


def test_every_task_explains_itself() -> None:
    listed = invoke("--list").stdout
    for name in ("build", "publish", "reindex", "yank", "unyank", "delete", "demo", "test"):
        assert f"  {name} " in listed or f"  {name}\n" in listed
    help_text = invoke("--help", "publish").stdout
    for option in ("--dist", "--repository", "--dry-run", "AWS_PYPI_BUCKET"):
        assert option in help_text


def test_publish_with_nothing_configured_names_the_settings_and_publishes_nothing(
    tmp_path: Path,
) -> None:
    wheel(tmp_path, "acme", "1.0")
    result = invoke("publish", "--dist", str(tmp_path))
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: no repository configured")
    assert "AWS_PYPI_BUCKET" in line and "S3_PYPI_BUCKET" in line


def test_a_dry_run_says_what_would_be_uploaded_and_writes_nothing(tmp_path: Path) -> None:
    repository = published_repository(tmp_path)
    dist = tmp_path / "dist"
    wheel(dist, "acme", "2.0")
    sdist(dist, "acme", "2.0")
    before = snapshot(repository)
    result = invoke("publish", "--dist", str(dist), "--repository", str(repository), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would upload acme-2.0-py3-none-any.whl" in " ".join(result.stdout.split())
    assert "dry run: nothing was written" in result.stdout
    assert snapshot(repository) == before


def test_a_dry_run_refuses_a_repository_that_is_not_there(tmp_path: Path) -> None:
    """Only a real publish creates a repository: a typo is never answered 'would upload'."""
    dist, typo = tmp_path / "dist", tmp_path / "typo"
    wheel(dist, "acme", "1.0")
    result = invoke("publish", "--dist", str(dist), "--repository", str(typo), "--dry-run")
    assert error_line(result) == (
        f"error: no repository at {typo}: nothing is there; check --repository (only a "
        "publish creates a repository)"
    )
    assert not typo.exists()


def test_publish_prints_a_line_per_file_then_the_index_and_pip_command(tmp_path: Path) -> None:
    dist, repository = tmp_path / "dist", tmp_path / "repository"
    wheel(dist, "acme", "1.0")
    first = invoke("publish", "--dist", str(dist), "--repository", str(repository))
    again = invoke("publish", "--dist", str(dist), "--repository", str(repository))

    index_url = (repository / "simple").resolve().as_uri() + "/"
    size = human_size(next(dist.glob("*.whl")).stat().st_size)
    assert first.stdout.splitlines()[1:] == [
        f"  uploaded     acme-1.0-py3-none-any.whl ({size})",
        f"index: {index_url}",
        f"install: pip install --index-url {index_url} acme",
    ]
    assert "  unchanged    acme-1.0-py3-none-any.whl" in again.stdout


def test_the_demo_builds_publishes_and_installs_with_no_aws() -> None:
    result = invoke("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully installed acme-greeting-1.0.0 acme-hello-1.0.0" in result.stdout
    assert "Hello, world, from the private index!" in result.stdout


def test_build_makes_an_sdist_and_a_wheel_of_each_package(tmp_path: Path) -> None:
    result = invoke(
        "build", "--no-isolation", "--output", str(tmp_path),
        "--package", "examples/acme-greeting", "--package", "examples/acme-hello",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "acme_greeting-1.0.0-py3-none-any.whl",
        "acme_greeting-1.0.0.tar.gz",
        "acme_hello-1.0.0-py3-none-any.whl",
        "acme_hello-1.0.0.tar.gz",
    ]


def test_a_directory_that_is_not_a_package_fails_the_build_in_one_line(tmp_path: Path) -> None:
    result = invoke("build", "--output", str(tmp_path / "dist"), "--package", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path}: not a Python package (no pyproject.toml or setup.py)"
    ]


def test_a_short_flag_means_the_same_in_every_task() -> None:
    meanings: dict[str, set[str]] = {}
    for body in vars(tasks).values():
        if isinstance(body, Task):
            for argument in body.get_arguments():
                for flag in argument.names[1:]:
                    meanings.setdefault(flag, set()).add(argument.name)
    assert meanings["r"] == {"repository"} and meanings["y"] == {"yes"}
    assert all(len(names) == 1 for names in meanings.values()), meanings


def test_name_and_version_are_positional_and_help_says_so() -> None:
    for name in ("yank", "unyank", "delete"):
        help_text = invoke("--help", name).stdout
        assert f"`{name} NAME VERSION" in help_text
        # invoke lists positional arguments among the options; their help says what they are.
        options = " ".join(help_text.split("Options:", 1)[1].split())
        assert "NAME, the first argument" in options
        assert "VERSION, the second argument" in options
    assert invoke("yank", "acme", "1.0", "-r", "/nonexistent/typo").stderr.startswith(
        "error: no repository at /nonexistent/typo: nothing is there"
    )


def published_repository(directory: Path) -> Path:
    """A local repository holding acme 1.0 (a wheel and an sdist)."""
    dist = directory / "published"
    Publisher(Index(LocalStorage(directory / "repository"))).publish(
        inspect_all([wheel(dist, "acme", "1.0"), sdist(dist, "acme", "1.0")])
    )
    return directory / "repository"


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file under `directory`, with its size and mtime: what a write would change."""
    return {
        str(path): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


WITHOUT_PYPI_SIMPLE = (
    "-c",
    "import sys; sys.modules['pypi_simple'] = None; "
    "from invoke.main import program; program.run(['invoke', *sys.argv[1:]])",
)


@dataclass(frozen=True)
class BadInput:
    args: tuple[str, ...]
    expected: str
    env: dict[str, str] = field(default_factory=dict)
    python: tuple[str, ...] = INVOKE

    def check(self) -> None:
        """No traceback, one line that says what is wrong, and a failed exit."""
        result = invoke(*self.args, env=self.env, python=self.python)
        failure = f"{self.args}: exit {result.returncode}\n{result.stdout}{result.stderr}"
        assert result.returncode != 0 and "Traceback" not in result.stdout, failure
        (line,) = result.stderr.splitlines() or [""]
        assert self.expected in line, failure
        parser_error = "did not receive" in line or "No idea what" in line
        assert line.startswith("error: ") or parser_error, failure


def test_every_task_given_bad_input_says_so_in_one_line_and_writes_nothing(
    tmp_path: Path,
) -> None:
    repository = str(published_repository(tmp_path))
    not_a_package = tmp_path / "not-a-package"
    not_a_package.mkdir()
    a_wheel = str(next((tmp_path / "published").glob("*.whl")))
    typo = tmp_path / "typo"
    no_pulumi = {"PATH": str(Path(sys.executable).parent)}
    out, missing = str(tmp_path / "out"), str(tmp_path / "missing")
    cases = [
        BadInput(("build", "-p", str(not_a_package), "-o", out), "not a Python package"),
        BadInput(("publish", "-d", missing, "-r", repository), "no such file or directory"),
        BadInput(("publish", "-d", a_wheel, "-r", "ftp://example.com/x"), "bad repository"),
        BadInput(("publish", "-p", str(not_a_package), "-r", repository), "not a Python package"),
        BadInput(("publish", "-d", a_wheel), "no repository configured"),
        BadInput(("publish", "-d", a_wheel, "-r", a_wheel), "it is a file, not a directory"),
        BadInput(("publish", "-d", a_wheel, "-r", str(tmp_path)), "is not a repository"),
        BadInput(("publish", "-n", "-d", a_wheel, "-r", str(typo)), "no repository at"),
        BadInput(("reindex", "-r", str(typo)), "no repository at"),
        BadInput(("reindex", "-r", str(tmp_path)), "it has no simple/ directory"),
        BadInput(("verify", "-r", str(typo)), "no repository at"),
        BadInput(("verify", "-r", repository), "--group verify", python=WITHOUT_PYPI_SIMPLE),
        BadInput(("yank", "acme", "1.0", "-r", str(typo)), "no repository at"),
        BadInput(("mirror", "-r", repository), "nothing to mirror: give a lock with --from"),
        BadInput(("mirror", "--from", missing, "-r", repository), "no such file: check --from"),
        BadInput(("mirror", "--from", a_wheel, "-r", repository), "not a text file"),
        BadInput(("mirror", "--from", a_wheel), "--group mirror", python=WITHOUT_PYPI_SIMPLE),
        BadInput(("yank", "acme", "not-a-version", "-r", repository), "Invalid version"),
        BadInput(("unyank", "acme", "9.9", "-r", repository), "versions there: 1.0"),
        BadInput(("delete", "acme", "1.0", "-r", repository), "pass --yes"),
        BadInput(("status", "acme", "retired", "-r", repository), "is not a project status"),
        BadInput(("status", "nothing", "archived", "-r", repository), "no project nothing"),
        BadInput(("env", "--stack", "production"), "pulumi", no_pulumi),
        BadInput(("rotate-keys", "--stack", "production"), "pulumi", no_pulumi),
        # What invoke's own parser refuses, it reports in one line of its own.
        BadInput(("yank", "acme"), "did not receive required positional arguments"),
        BadInput(("demo", "--offline"), "No idea what '--offline' is"),
        BadInput(("test", "--pytest"), "No idea what '--pytest' is"),
        BadInput(("bench", "--quick", "--fast"), "No idea what '--fast' is"),
        BadInput(("docs", "--serve", "--port"), "No idea what '--port' is"),
    ]  # fmt: skip
    every_task = {
        body.name.replace("_", "-") for body in vars(tasks).values() if isinstance(body, Task)
    }
    assert {case.args[0] for case in cases} == every_task
    before = snapshot(tmp_path)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(BadInput.check, cases))

    assert snapshot(tmp_path) == before and not typo.exists()


def test_publish_takes_one_file_as_well_as_a_directory(tmp_path: Path) -> None:
    dist, repository = tmp_path / "dist", tmp_path / "repository"
    only = wheel(dist, "acme", "1.0")
    sdist(dist, "acme", "1.0")
    result = invoke("publish", "--dist", str(only), "--repository", str(repository))
    assert result.returncode == 0, result.stderr
    stored = (repository / "simple" / "acme").iterdir()
    assert [path.name for path in stored if path.name.endswith((".whl", ".gz"))] == [only.name]


def test_an_egg_is_refused_by_name_and_named_when_a_directory_holds_one(tmp_path: Path) -> None:
    dist, repository = tmp_path / "dist", tmp_path / "repository"
    wheel(dist, "acme", "1.0")
    egg = dist / "acme-1.0-py3.11.egg"
    egg.write_bytes(b"an egg")

    alone = invoke("publish", "--dist", str(egg), "--repository", str(repository))
    assert alone.returncode == 1 and egg.name in alone.stderr
    assert not repository.exists()

    beside = invoke("publish", "--dist", str(dist), "--repository", str(repository))
    assert beside.returncode == 0, beside.stderr
    assert f"  ignored {egg.name}: not a wheel or an sdist" in beside.stdout


def test_different_bytes_are_refused_unless_skip_existing_skips_them(tmp_path: Path) -> None:
    repository = published_repository(tmp_path)
    rebuilt = wheel(tmp_path / "rebuilt", "acme", "1.0", payload=b"other bytes")

    refused = invoke("publish", "-d", str(rebuilt), "-r", str(repository))
    skipped = invoke("publish", "-d", str(rebuilt), "-r", str(repository), "--skip-existing")

    assert refused.returncode == 1
    assert "the repository already has a different file of this name" in refused.stderr
    assert skipped.returncode == 0, skipped.stderr
    assert f"  skipped      {rebuilt.name}" in skipped.stdout
    assert "nothing to do" in skipped.stdout


def test_nothing_to_change_writes_nothing(s3_storage: S3Storage, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    files = inspect_all([wheel(dist, "acme", "1.0"), sdist(dist, "acme", "1.0")])
    index = Index(s3_storage)
    Publisher(index).publish(files)
    releases.yank(index, releases.Release.parse("acme", "1.0"), "broken")
    writes: list[str] = []
    s3_storage.observe_requests(
        lambda operation: writes.append(operation) if operation not in READS else None
    )

    again = Index(s3_storage)
    assert Publisher(again).publish(files).pages == []
    assert writes == []
    assert releases.yank(again, releases.Release.parse("acme", "1.0"), "broken").files == ()
    assert writes == []
    releases.unyank(again, releases.Release.parse("acme", "1.0"))
    assert writes != []  # the counter sees a real change
    writes.clear()
    assert releases.unyank(again, releases.Release.parse("acme", "1.0")).files == ()
    assert writes == []


READS = frozenset({"GetObject", "HeadObject", "ListObjectsV2"})


def test_the_tasks_say_nothing_to_do_and_name_the_repository(tmp_path: Path) -> None:
    repository = str(published_repository(tmp_path))
    dist = str(tmp_path / "published")
    outputs = [
        invoke("publish", "-d", dist, "-r", repository).stdout,
        invoke("unyank", "acme", "1.0", "-r", repository).stdout,
        invoke("yank", "acme", "1.0", "-r", repository, "--reason", "broken").stdout,
        invoke("yank", "acme", "1.0", "-r", repository, "--reason", "broken").stdout,
    ]
    location = str(Path(repository).resolve())
    assert "nothing to do: every file is already published" in outputs[0]
    assert f"nothing to do: acme 1.0 is not yanked in {location}" in outputs[1]
    assert f"yanked 2 file(s) of acme 1.0 in {location}" in outputs[2]
    assert f"nothing to do: acme 1.0 is already yanked in {location}" in outputs[3]


def test_a_monorepo_release_cycle_from_fresh_clones(tmp_path: Path) -> None:
    """Day 1 publishes everything; day 2 bumps one package and publishes only it; a re-run
    of day 2 is a no-op; and CI's build-then-`--dist` job finds the rebuilt files unchanged."""
    origin = tmp_path / "origin"
    names = ("acme-one", "acme-two", "acme-three")
    for name, backend in zip(names, ("flit-core", "flit-core", "hatchling"), strict=True):
        write_package(origin, name, backend)
    three = origin / "acme-three" / "pyproject.toml"  # its version is dynamic
    three.write_text(
        three.read_text().replace('version = "1.0.0"', 'dynamic = ["version"]')
        + '\n[tool.hatch.version]\npath = "src/acme_three/__init__.py"\n'
    )
    (origin / "acme-three" / "src" / "acme_three" / "__init__.py").write_text(
        '__version__ = "3.0"\n'
    )
    commit(origin, "day 1")
    repository = tmp_path / "repository"

    def job(day: str, mtime: int, *extra: str) -> subprocess.CompletedProcess[str]:
        checkout = clone(origin, tmp_path / day, mtime)
        packages = [arg for name in names for arg in ("--package", str(checkout / name))]
        return invoke(*extra, *packages, "--no-isolation")

    def publish_job(day: str, mtime: int) -> subprocess.CompletedProcess[str]:
        result = job(day, mtime, "publish", "--repository", str(repository))
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    day_1 = publish_job("day-1", 1_700_000_000)
    assert day_1.stdout.count("  uploaded  ") == 6

    two = origin / "acme-two" / "pyproject.toml"
    two.write_text(two.read_text().replace('version = "1.0.0"', 'version = "1.1.0"'))
    commit(origin, "acme-two 1.1.0")
    day_2 = publish_job("day-2", 1_710_000_000)
    assert "  already published: acme-one 1.0.0" in day_2.stdout
    assert "  already published: acme-three 3.0" in day_2.stdout
    uploaded = [line.split()[1] for line in day_2.stdout.splitlines() if "  uploaded  " in line]
    assert sorted(uploaded) == ["acme_two-1.1.0-py3-none-any.whl", "acme_two-1.1.0.tar.gz"]

    stored = snapshot(repository)
    rerun = publish_job("day-2-rerun", 1_720_000_000)
    assert rerun.stdout.splitlines()[-1].startswith("nothing to do: every package is already")
    assert snapshot(repository) == stored

    rebuilt = tmp_path / "rebuilt"
    built = job("day-2-build", 1_730_000_000, "build", "--output", str(rebuilt))
    assert built.returncode == 0, built.stderr
    again = invoke("publish", "--dist", str(rebuilt), "--repository", str(repository))
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("  unchanged  ") == 6
    assert "nothing to do: every file is already published" in again.stdout
    assert snapshot(repository) == stored


def test_a_release_published_in_part_is_built_again_and_completed(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    write_package(origin, "acme-one", "flit-core")
    commit(origin, "one")
    repository, built = tmp_path / "repository", tmp_path / "built"
    build = invoke("build", "-p", str(origin / "acme-one"), "-o", str(built), "--no-isolation")
    assert build.returncode == 0, build.stderr
    (only_sdist,) = built.glob("*.tar.gz")
    assert invoke("publish", "-d", str(only_sdist), "-r", str(repository)).returncode == 0

    completed = invoke("publish", "-p", str(origin / "acme-one"), "--no-isolation", "-r",
                       str(repository))  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    assert "already published" not in completed.stdout
    assert f"  unchanged    {only_sdist.name}" in completed.stdout
    assert "  uploaded     acme_one-1.0.0-py3-none-any.whl" in completed.stdout


def test_what_build_writes_from_the_checkout_or_examples_is_ignored_by_git() -> None:
    for built in ("dist/acme-1.0.tar.gz", "examples/dist/acme-1.0.tar.gz"):
        ignored = subprocess.run(["git", "check-ignore", "--quiet", built], cwd=ROOT)
        assert ignored.returncode == 0, f"git would track {built}"


def test_two_publishes_in_one_checkout_each_publish_their_own_build(tmp_path: Path) -> None:
    """Two jobs on one runner, same checkout, same release, different SOURCE_DATE_EPOCH:
    each repository gets the bytes its own build made, and the checkout keeps no dist/."""
    write_package(tmp_path, "acme-one", "flit-core")
    epochs = {tmp_path / "early": 1_700_000_000, tmp_path / "late": 1_750_000_000}

    def publish_job(repository: Path) -> subprocess.CompletedProcess[str]:
        return invoke(
            *("publish", "--no-isolation", "--package", str(tmp_path / "acme-one")),
            *("--repository", str(repository)),
            env={"SOURCE_DATE_EPOCH": str(epochs[repository])},
        )

    checkout_dist = snapshot(ROOT / "dist") if (ROOT / "dist").exists() else {}
    with ThreadPoolExecutor(len(epochs)) as pool:
        results = list(pool.map(publish_job, epochs))
    assert all(result.returncode == 0 for result in results), [r.stderr for r in results]
    for repository, epoch in epochs.items():
        (stored,) = (repository / "simple" / "acme-one").glob("*.whl")
        with zipfile.ZipFile(stored) as archive:
            stamps = {info.date_time for info in archive.infolist()}
        assert stamps == {time.gmtime(epoch)[:6]}, (repository.name, stamps)
    assert (snapshot(ROOT / "dist") if (ROOT / "dist").exists() else {}) == checkout_dist
