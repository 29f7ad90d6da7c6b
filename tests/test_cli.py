"""Publishing from another repository: the installed `private-pypi` command and the Action."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from private_pypi.building import build_packages
from private_pypi.configuration import (
    ProjectTable,
    find_table,
    packages_to_build,
    repository_to_use,
)
from private_pypi.demo import isolated_pip_environment
from private_pypi.errors import ConfigurationError
from tests.installers import pip_install, run_python, uv_binary
from tests.test_building import commit, write_package

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


def environment(**settings: str) -> dict[str, str]:
    """No pip, uv or AWS settings of this machine's but the uv cache the suite filled."""
    env = {k: v for k, v in isolated_pip_environment().items() if not k.startswith("AWS_")}
    if "UV_CACHE_DIR" in os.environ:
        env["UV_CACHE_DIR"] = os.environ["UV_CACHE_DIR"]
    return {**env, **settings}


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding a wheel of private-pypi (and a build backend): its bin/."""
    work = tmp_path_factory.mktemp("installed")
    built = build_packages([ROOT], work / "dist", isolated=False).built
    (wheel,) = [path for path in built if path.suffix == ".whl"]
    shipped = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert shipped == {"private_pypi", "private_pypi-0.1.0.dist-info"}
    uv = uv_binary()
    venv = work / "venv"
    for command in (
        [uv, "venv", "--quiet", "--no-config", str(venv)],
        [uv, "pip", "install", "--quiet", "--no-config", "--python", str(venv / "bin" / "python"),
         str(wheel), "flit-core>=3.9,<4"],
    ):  # fmt: skip
        result = subprocess.run(command, env=environment(), capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    return venv / "bin"


def private_pypi(
    bin_dir: Path, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "private-pypi"), *args],
        cwd=cwd,
        env=environment(**(env or {})),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """A repository of its own: two packages and a [tool.private-pypi] table, committed."""
    repository = tmp_path / "monorepo"
    for name in ("acme-one", "acme-two"):
        write_package(repository / "packages", name, "flit-core")
    (repository / "pyproject.toml").write_text(TABLE)
    commit(repository, "two packages")
    return repository


def test_the_wheel_installs_the_command_without_pulumi(installed: Path, tmp_path: Path) -> None:
    help_text = private_pypi(installed, "--help", cwd=tmp_path).stdout
    subcommands = help_text.split("Subcommands:", 1)[1].split()
    for name in ("publish", "build", "yank", "unyank", "delete", "reindex", "verify"):
        assert name in subcommands, help_text
    for checkout_only in ("demo", "test", "bench", "env", "rotate-keys"):
        assert checkout_only not in subcommands
    publish_help = private_pypi(installed, "publish", "--help", cwd=tmp_path)
    assert publish_help.returncode == 0, publish_help.stderr
    for option in ("--dist", "--repository", "--skip-existing", "--dry-run", "tool.private-pypi"):
        assert option in " ".join(publish_help.stdout.split())
    assert private_pypi(installed, "--version", cwd=tmp_path).stdout.split() == [
        "private-pypi",
        "0.1.0",
    ]

    python = str(installed / "python")
    no_pulumi = subprocess.run([python, "-c", "import pulumi"], capture_output=True, text=True)
    assert "No module named 'pulumi'" in no_pulumi.stderr
    verify = private_pypi(installed, "verify", "-r", str(tmp_path), cwd=tmp_path)
    assert verify.returncode == 1 and "install private-pypi[verify]" in verify.stderr


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

INPUT = re.compile(r"^\$\{\{ inputs\.([a-z-]+) \}\}$")


def run_action(inputs: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """action.yml's run steps in order, each with its `env:` as the runner evaluates it from
    the inputs (and their defaults): what a job does on `uses: OWNER/private-pypi@TAG`.
    setup-uv's step is the uv on this machine."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    values = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    assert set(inputs) <= set(values), inputs
    values.update(inputs)
    result = None
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"].startswith("astral-sh/setup-uv@")
            continue
        step_env = {}
        for name, expression in step.get("env", {}).items():
            match = INPUT.match(expression)
            assert match, f"{name}: {expression}"  # inputs only: nothing else is evaluated
            step_env[name] = values[match.group(1)]
        assert "${{" not in step["run"], "an input interpolated into the script"
        assert step["shell"] == "bash"
        result = subprocess.run(
            # GitHub's own command line for `shell: bash`.
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=cwd,
            env={
                **environment(**step_env),
                "GITHUB_ACTION_PATH": str(ROOT),
                "PATH": f"{Path(uv_binary()).parent}{os.pathsep}{os.environ['PATH']}",
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            return result
    assert result is not None
    return result


def test_the_action_metadata_maps_its_inputs_onto_the_command() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(action["inputs"]) == {"packages", "dist", "repository", "skip-existing", "dry-run"}
    assert all(spec["description"] for spec in action["inputs"].values())
    assert action["inputs"]["dry-run"]["default"] == "false"


def test_the_action_publishes_to_a_directory(
    monorepo: Path, example_dists: list[Path], tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    shutil.copytree(example_dists[0].parent, dist)
    checked = run_action({"dist": str(dist), "dry-run": "true"}, cwd=monorepo)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "dry run: nothing was written" in checked.stdout
    assert not (tmp_path / "published").exists()

    # No repository input: the table's, relative to the caller's pyproject.toml.
    published = run_action({"dist": str(dist)}, cwd=monorepo)
    assert published.returncode == 0, published.stdout + published.stderr
    assert published.stdout.count("  uploaded  ") == 4
    python = pip_install(
        tmp_path / "venv", (tmp_path / "published" / "simple").as_uri() + "/", "acme-hello"
    )
    assert run_python(python, "import acme_hello") == ""

    again = run_action({"dist": str(dist), "skip-existing": "true"}, cwd=monorepo)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_the_action_takes_its_inputs_as_data_never_as_shell(monorepo: Path) -> None:
    hostile = "$(touch pwned); `touch pwned`"
    result = run_action({"packages": hostile, "repository": str(monorepo / "r")}, cwd=monorepo)
    assert result.returncode == 1
    assert f"error: {hostile}: not a Python package" in result.stderr
    assert not (monorepo / "pwned").exists()

    wrong = run_action({"dry-run": "yes"}, cwd=monorepo)
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == "error: input dry-run is 'yes': use true or false"


def test_the_readme_section_shows_tables_and_workflows_that_fit(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Publishing from another repository", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(toml|yaml)\n(.*?)```", section, re.S)
    (table,) = [text for kind, text in blocks if kind == "toml"]
    (tmp_path / "pyproject.toml").write_text(table)
    assert find_table(tmp_path) == ProjectTable(
        tmp_path / "pyproject.toml",
        (tmp_path / "packages/my-lib", tmp_path / "packages/my-app"),
        "s3://acme-pypi-production",
    )
    inputs = set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])
    workflows = [yaml.safe_load(text) for kind, text in blocks if kind == "yaml"]
    assert len(workflows) == 2
    for workflow in workflows:
        (step,) = [
            step
            for step in workflow["jobs"]["publish"]["steps"]
            if step["uses"].startswith("OWNER/private-pypi@")
        ]
        assert set(step.get("with", {})) <= inputs
        assert all(name.startswith("AWS_PYPI_") for name in step["env"])
    assert workflows[1]["permissions"]["id-token"] == "write"
