"""Real pip and uv, in fresh virtual environments, reading only the index they are given."""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

from private_pypi.demo import isolated_pip_environment


def uv_binary() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    assert found, "uv is not installed: run the suite with `uv run invoke test`"
    return found


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, env=isolated_pip_environment(), capture_output=True, text=True, **kwargs
    )  # type: ignore[call-overload]
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
    return result


def pip_install(directory: Path, index_url: str, *requirements: str) -> Path:
    """`pip install --index-url INDEX ...` in a new venv; returns the venv's python."""
    venv.create(directory, with_pip=True)
    python = directory / "bin" / "python"
    run(
        [str(python), "-m", "pip", "install", "--no-cache-dir", "--index-url", index_url,
         *requirements]
    )  # fmt: skip
    return python


def uv_install(directory: Path, index_url: str, *requirements: str) -> Path:
    """`uv pip install --index-url INDEX ...` in a new venv; returns the venv's python."""
    uv = uv_binary()
    run([uv, "venv", "--quiet", "--no-config", str(directory)])
    python = directory / "bin" / "python"
    run(
        [uv, "pip", "install", "--no-config", "--no-cache", "--python", str(python),
         "--index-url", index_url, *requirements]
    )  # fmt: skip
    return python


def run_python(python: Path, code: str) -> str:
    return run([str(python), "-c", code]).stdout.strip()
