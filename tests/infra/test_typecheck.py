"""The whole tree type-checks as pyproject.toml's [tool.pyright] says: the Pulumi program
against the typed SDKs (as `pulumi up` checks it first), the library and the tasks strictly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pyright_finds_no_errors_in_the_project():
    result = subprocess.run(
        [sys.executable, "-m", "pyright"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout
