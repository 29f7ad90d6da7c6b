"""The commands a user types, and what they print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from private_pypi.console import human_size
from tests.factory import sdist, wheel

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = (
    "AWS_PYPI_BUCKET",
    "S3_PYPI_BUCKET",
    "AWS_PYPI_ACCESS_KEY_ID",
    "AWS_PYPI_SECRET_ACCESS_KEY",
)


def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
    )


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
    dist, repository = tmp_path / "dist", tmp_path / "repository"
    wheel(dist, "acme", "1.0")
    sdist(dist, "acme", "1.0")
    result = invoke("publish", "--dist", str(dist), "--repository", str(repository), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would upload acme-1.0-py3-none-any.whl" in " ".join(result.stdout.split())
    assert "dry run: nothing was written" in result.stdout
    assert not repository.exists() or not any(repository.rglob("*.whl"))


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
        f"install: pip install --extra-index-url {index_url} acme",
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
