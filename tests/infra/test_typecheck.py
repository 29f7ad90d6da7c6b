"""The Pulumi program type-checks against the typed SDKs, as `pulumi up` checks it first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pyright_finds_no_errors_in_the_program_and_components():
    result = subprocess.run(
        [sys.executable, "-m", "pyright", "__main__.py", "components/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout
