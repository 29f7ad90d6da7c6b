"""After `invoke publish`, pip and uv install from the index, and from nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.installers import pip_install, run_python, uv_install
from tests.invoking import invoke

HELLO = "import acme_hello, acme_greeting; print(acme_greeting.greet('CI'))"


@pytest.fixture
def published_dist(example_dists: list[Path]) -> Path:
    return example_dists[0].parent


def test_invoke_publish_to_s3_then_pip_and_uv_install_anonymously(
    s3_env: dict[str, str], published_dist: Path, moto_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    published = invoke("publish", "--dist", str(published_dist), env=s3_env)
    assert published.returncode == 0, published.stderr

    index_url = f"{moto_endpoint}/{bucket}/simple/"
    lines = published.stdout.splitlines()
    assert any(
        line.split()[:2] == ["uploaded", "acme_hello-1.0.0-py3-none-any.whl"] for line in lines
    )
    assert f"index: {index_url}" in lines
    assert f"install: pip install --index-url {index_url} acme-greeting acme-hello" in lines

    python = pip_install(tmp_path / "pip-venv", index_url, "acme-hello")
    assert run_python(python, HELLO) == "Hello, CI, from the private index!"
    python = uv_install(tmp_path / "uv-venv", index_url, "acme-hello")
    assert run_python(python, HELLO) == "Hello, CI, from the private index!"


def test_a_local_directory_repository_installs_through_a_file_url(
    published_dist: Path, tmp_path: Path
) -> None:
    repository = tmp_path / "repository"
    published = invoke(
        "publish", "--dist", str(published_dist), "--repository", str(repository), env={}
    )
    assert published.returncode == 0, published.stderr

    index_url = (repository / "simple").as_uri() + "/"
    python = pip_install(tmp_path / "pip-venv", index_url, "acme-hello")
    assert run_python(python, HELLO) == "Hello, CI, from the private index!"
    python = uv_install(tmp_path / "uv-venv", index_url, "acme-hello")
    assert run_python(python, HELLO) == "Hello, CI, from the private index!"
