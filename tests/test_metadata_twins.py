"""A wheel can show one METADATA and install another: real pip and uv install the twin.

Each spelling below is a wheel of `NAME` 1.0 whose own METADATA says 1.0 with no
dependency, and which holds a second member that installers write over it, saying
6.6.6 and `Requires-Dist: evil-dependency`: the version and the dependency the index
would not show. Each is a case of the hostile corpus, which publish refuses, naming the
file (tests/test_hostile_publish.py runs every case through `invoke publish`).

The case and Unicode spellings (`case-metadata-twin`, `long-s-metadata-twin`,
`unicode-normalization-twin`) are one file on macOS and Windows only: on Linux, where this
runs, installers write both files and nothing shows.
"""

from __future__ import annotations

import re
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from private_pypi.demo import isolated_pip_environment
from private_pypi.distributions import inspect
from private_pypi.errors import InvalidDistribution
from tests.factory import write_wheel
from tests.hostile_corpus import TWIN_VERSION, HostileFile, build
from tests.installers import uv_binary

# The spellings whose twin an installer writes over the METADATA, and which installers do,
# as measured with pip 26.3 (the project pins it) and uv 0.13.9. uv installs the wheel's
# own METADATA for other.data and '//' (it reads NAME-1.0.data alone, and collapses '//'
# before it writes) and refuses the './' and '..' spellings as a version mismatch.
TWIN_INSTALLED_BY = {
    "data-purelib-metadata-twin": ("pip", "uv"),
    "data-platlib-metadata-twin": ("pip", "uv"),
    "data-site-packages-metadata-twin": ("pip", "uv"),
    "other-data-metadata-twin": ("pip",),
    "double-slash-metadata-twin": ("pip",),
    "leading-dot-metadata-twin": ("pip",),
    "dotdot-metadata-twin": ("pip",),
}
# The spellings whose twin an installer reads as the wheel's METADATA before it installs,
# and which do: 6.6.6 is not the 1.0 asked for, so they refuse the wheel. (uv refuses the
# NUL's zip as unreadable; of the dot-segment's two members it reads one or the other,
# seen to differ from run to run under load, so it is not named here.)
TWIN_READ_BY = {
    "dot-segment-metadata-twin": ("pip",),
    "nul-metadata-twin": ("pip",),
}
# The same wheel with no twin, installed alongside.
CONTROL = "no_twin"


def project(case: str) -> str:
    return case.replace("-", "_")


@dataclass(frozen=True)
class Installer:
    """An installer and the venv it installs into, one for the whole module."""

    command: list[str]
    options: list[str]
    venv: Path

    def install(self, find_links: Path, *projects: str) -> subprocess.CompletedProcess[str]:
        """Install each project's 1.0 from `find_links` alone."""
        requirements = [f"{name}==1.0" for name in projects]
        return subprocess.run(
            [*self.command, "install", *self.options, "--no-index", "--find-links",
             str(find_links), *requirements],
            env=isolated_pip_environment(), capture_output=True, text=True, check=False,
        )  # fmt: skip

    def installed_version(self, name: str) -> str:
        """The Version of the METADATA installed for `name` 1.0."""
        (metadata,) = self.venv.glob(f"lib/python*/site-packages/{name}-1.0.dist-info/METADATA")
        found = re.search(r"^Version: (.*)$", metadata.read_text(), re.MULTILINE)
        assert found, metadata.read_text()
        return found.group(1)


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HostileFile]:
    """Every twin above, and the control, in one directory."""
    directory = tmp_path_factory.mktemp("find-links")
    write_wheel(directory, CONTROL)
    return {case: build(directory, case) for case in [*TWIN_INSTALLED_BY, *TWIN_READ_BY]}


def find_links(twins: dict[str, HostileFile]) -> Path:
    return next(iter(twins.values())).path.parent


@pytest.fixture(scope="module")
def installers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Installer]:
    """pip (the project's own, 26.x) and uv, each with a fresh venv of this Python."""
    root = tmp_path_factory.mktemp("venvs")
    venv.create(root / "pip", with_pip=False)
    uv = uv_binary()
    made = subprocess.run(
        [uv, "venv", "--quiet", "--no-config", "--python", sys.executable, str(root / "uv")],
        env=isolated_pip_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    python = "bin/python"
    return {
        "pip": Installer(
            [sys.executable, "-m", "pip", "--python", str(root / "pip" / python)],
            ["--no-cache-dir"],
            root / "pip",
        ),
        "uv": Installer(
            [uv, "pip"],
            ["--no-config", "--no-cache", "--python", str(root / "uv" / python)],
            root / "uv",
        ),
    }


@pytest.fixture(scope="module")
def installed(
    installers: dict[str, Installer], twins: dict[str, HostileFile]
) -> dict[str, dict[str, str]]:
    """What each installer installs of the twins it installs, and the control: one run each."""
    versions: dict[str, dict[str, str]] = {}
    for name, installer in installers.items():
        cases = [case for case, by in TWIN_INSTALLED_BY.items() if name in by]
        projects = [*map(project, cases), CONTROL]
        result = installer.install(find_links(twins), *projects)
        assert result.returncode == 0, result.stderr
        versions[name] = {
            case: installer.installed_version(distribution)
            for case, distribution in zip([*cases, CONTROL], projects, strict=True)
        }
    return versions


def assert_refused_by_publish(hostile: HostileFile) -> None:
    with pytest.raises(InvalidDistribution) as refused:
        inspect(hostile.path)
    assert str(refused.value).startswith(f"{hostile.path.name}: ")
    assert hostile.reason in refused.value.reason


@pytest.mark.parametrize("case", TWIN_INSTALLED_BY)
def test_installers_write_the_twin_over_the_metadata_the_index_shows_and_publish_refuses_it(
    case: str, installed: dict[str, dict[str, str]], twins: dict[str, HostileFile]
) -> None:
    for installer in TWIN_INSTALLED_BY[case]:
        assert installed[installer][case] == TWIN_VERSION, (installer, installed[installer])
    assert_refused_by_publish(twins[case])


@pytest.mark.parametrize("case", TWIN_READ_BY)
def test_installers_take_the_twin_for_the_metadata_and_refuse_the_wheel_and_so_does_publish(
    case: str, installers: dict[str, Installer], twins: dict[str, HostileFile]
) -> None:
    for name in TWIN_READ_BY[case]:
        result = installers[name].install(find_links(twins), project(case))
        assert result.returncode != 0, (name, result.stdout)
        assert TWIN_VERSION in result.stdout + result.stderr, (name, result.stderr)
    assert_refused_by_publish(twins[case])


def test_the_same_wheel_without_a_twin_installs_the_metadata_the_index_shows(
    installed: dict[str, dict[str, str]],
) -> None:
    assert {name: versions[CONTROL] for name, versions in installed.items()} == {
        "pip": "1.0",
        "uv": "1.0",
    }
