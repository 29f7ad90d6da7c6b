"""The main job on the embedded default: build, publish to a local repository, install."""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from collections.abc import Callable
from pathlib import Path

from .building import build_packages
from .index import Index
from .publish import Publisher, inspect_all
from .storage import LocalStorage

EXAMPLES = ("acme-greeting", "acme-hello")
APPLICATION = "acme-hello"


def isolated_pip_environment() -> dict[str, str]:
    """The environment minus any pip or uv settings, so the index given is the only one."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PIP_", "UV_", "VIRTUAL_ENV", "PYTHONPATH"))
    }
    environment["PIP_CONFIG_FILE"] = os.devnull
    environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return environment


def run_demo(project_root: Path, workdir: Path, say: Callable[[str], None]) -> str:
    """Run the whole job offline; return what the installed application printed."""
    shutil.rmtree(workdir, ignore_errors=True)
    sources = [project_root / "examples" / name for name in EXAMPLES]

    say(f"1/4 Building {', '.join(EXAMPLES)} (an sdist and a wheel each) with pypa/build")
    built = build_packages(sources, workdir / "dist", isolated=False).built
    for path in built:
        say(f"    built {path.name}")

    storage = LocalStorage(workdir / "repository")
    say(f"2/4 Publishing them into the local repository {storage.location}")
    result = Publisher(Index(storage)).publish(inspect_all(built))
    for published in result.files:
        say(f"    {published.outcome.value:9} {published.distribution.filename}")
    say(f"    index: {storage.index_url}")

    say(f"3/4 Installing {APPLICATION} into a fresh virtual environment from that index alone")
    environment = workdir / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    command = [
        str(python), "-m", "pip", "install", "--no-cache-dir",
        "--index-url", storage.index_url, APPLICATION,
    ]  # fmt: skip
    say("    pip " + " ".join(command[3:]))
    installed = subprocess.run(
        command, env=isolated_pip_environment(), capture_output=True, text=True
    )
    if installed.returncode != 0:
        raise RuntimeError(f"pip install failed:\n{installed.stdout}{installed.stderr}")
    for line in installed.stdout.splitlines():
        if line.startswith("Successfully installed"):
            say(f"    {line}")

    say(f"4/4 Importing it and running {APPLICATION}")
    ran = subprocess.run(
        [str(python), "-c", "import acme_hello; acme_hello.main()"],
        env=isolated_pip_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    say(f"    {ran.stdout.strip()}")
    return ran.stdout.strip()
