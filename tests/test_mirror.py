"""`mirror --from LOCK`: a lock, as uv and pip write it, fills the index from an upstream on
127.0.0.1; pip and uv then install from the index alone, with the upstream stopped.

The upstream (tests/upstream.py) holds the example packages, files as PyPI holds them from
before today's specs, and, where this Python bundles it, a real wheel from PyPI. Nothing
here reaches a network.
"""

from __future__ import annotations

import ensurepip
import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from private_pypi.distributions import Distribution
from private_pypi.index import Index
from private_pypi.mirror import Outcome, mirror, read_lock
from private_pypi.mirror.copying import Mirror
from private_pypi.mirror.credentials import NetrcLogins, UpstreamCredentials
from private_pypi.mirror.upstream import Upstream as UpstreamReader
from private_pypi.publish import Publisher, PublishRefused, inspect_all
from private_pypi.reindex import Reindexer
from private_pypi.storage import LocalStorage, S3Storage, Storage
from tests.conftest import environment_of
from tests.consistency import read_repository
from tests.factory import core_metadata, sdist_entries, wheel, write_tar_gz, write_wheel
from tests.faultproxy import Fault, FaultProxy, Respond
from tests.installers import pip_install, run, run_python, uv_binary, uv_install
from tests.invoking import error_line, invoke
from tests.motoserver import REGION, MotoServer, bucket_storage
from tests.racing import race
from tests.upstream import MOVED, UPLOADED, Upstream

HELLO = "import acme_hello, acme_greeting; print(acme_greeting.greet('CI'))"
GREETING = "Hello, CI, from the private index!"
LEGACY_WHEEL = "Legacy.Thing-2.0-py3-none-any.whl"
LEGACY_SDIST = "Legacy.Thing-2.0.tar.gz"


def bundled_wheels() -> list[Path]:
    """Real wheels from PyPI, on disk with no network: the pip that ensurepip bundles with
    this Python, byte for byte PyPI's. Some distributions strip them: then none."""
    return sorted((Path(ensurepip.__file__).parent / "_bundled").glob("pip-*.whl"))


def legacy_files(directory: Path) -> list[Path]:
    """Files as PyPI holds them from before today's specs: named as the project spells
    itself (as PyYAML-6.0.1.tar.gz), a wheel with Metadata-Version 2.0 (wheel < 0.31 wrote
    it: ply 3.11), an sdist with a link to a file of its own (funcsigs 1.0.2)."""
    metadata = core_metadata("Legacy.Thing", "2.0", metadata_version="2.0")
    legacy_wheel = write_wheel(directory, "Legacy.Thing", "2.0", metadata=metadata)
    link = tarfile.TarInfo("Legacy.Thing-2.0/docs/pyproject.toml")
    link.type, link.linkname = tarfile.SYMTYPE, "../pyproject.toml"
    entries = [*sdist_entries("Legacy.Thing", "2.0"), (link, b"")]
    return [legacy_wheel, write_tar_gz(directory / LEGACY_SDIST, entries)]


@pytest.fixture(scope="session")
def upstream_files(
    example_dists: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    directory = tmp_path_factory.mktemp("upstream")
    yanky = wheel(directory, "yanky", "1.0")
    return [*example_dists, *legacy_files(directory), yanky, *bundled_wheels()]


@pytest.fixture
def upstream(upstream_files: list[Path]) -> Iterator[Upstream]:
    with Upstream().add(*upstream_files) as server:
        yield server


# What the locks ask for, and what the index then holds: every file of every pinned
# release, for every platform.
REQUIRED = [
    "acme-hello",
    "legacy-thing",
    "yanky",
    *(f"pip=={w.name.split('-')[1]}" for w in bundled_wheels()),
]


def pinned_files(upstream_files: list[Path]) -> set[str]:
    return {path.name for path in upstream_files}


def uv(*args: str, cwd: Path) -> str:
    """uv as a user runs it, with a cache of this test's own and no machine settings."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "VIRTUAL_ENV"))},
        "UV_CACHE_DIR": str(cwd / ".uv-cache"),
        "XDG_CONFIG_HOME": str(cwd / ".config"),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
    }
    result = subprocess.run(
        [uv_binary(), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"uv {' '.join(args)}:\n{result.stderr}"
    return result.stdout


def uv_project(directory: Path, index_url: str) -> Path:
    """An application whose one index is the upstream, `default = true`, locked by uv."""
    directory.mkdir(parents=True, exist_ok=True)
    dependencies = ", ".join(f'"{requirement}"' for requirement in REQUIRED)
    (directory / "pyproject.toml").write_text(
        f"""\
[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [{dependencies}]

[[tool.uv.index]]
name = "upstream"
url = "{index_url}"
default = true
"""
    )
    uv("lock", cwd=directory)
    return directory / "uv.lock"


def requirements_lock(directory: Path, upstream: Upstream) -> tuple[Path, list[str]]:
    """`uv pip compile --generate-hashes`, as uv writes it by default: no --index-url line,
    so the mirror is told the upstream."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "requirements.in").write_text("\n".join(REQUIRED) + "\n")
    uv(
        "pip", "compile", "--generate-hashes", "--index-url", upstream.index_url,
        "--python-version", "3.11", "-o", "requirements.txt", "requirements.in", cwd=directory,
    )  # fmt: skip
    return directory / "requirements.txt", ["--upstream", upstream.index_url]


def uv_lock(directory: Path, upstream: Upstream) -> tuple[Path, list[str]]:
    """uv.lock: each package's registry is the upstream, which the mirror reads it from."""
    return uv_project(directory, upstream.index_url), []


def uv_exported_pylock(directory: Path, upstream: Upstream) -> tuple[Path, list[str]]:
    """`uv export --format pylock.toml`: each package names its index."""
    uv_project(directory, upstream.index_url)
    uv("export", "--frozen", "--format", "pylock.toml", "-o", "pylock.toml", cwd=directory)
    return directory / "pylock.toml", []


LOCKS: dict[str, Callable[[Path, Upstream], tuple[Path, list[str]]]] = {
    "requirements": requirements_lock,
    "uv.lock": uv_lock,
    "pylock.toml": uv_exported_pylock,
}


def copied(result: subprocess.CompletedProcess[str], outcome: str = "copied") -> set[str]:
    """The files a mirror's output names with this outcome."""
    words = outcome.split()
    return {
        line.split()[len(words)]
        for line in result.stdout.splitlines()
        if line.startswith("  ") and line.split()[: len(words)] == words
    }


@pytest.mark.parametrize("kind", LOCKS)
def test_a_lock_fills_the_index_and_pip_and_uv_install_from_it_with_the_upstream_stopped(
    kind: str, upstream: Upstream, upstream_files: list[Path], tmp_path: Path
) -> None:
    lock, flags = LOCKS[kind](tmp_path / "app", upstream)
    repository = tmp_path / "repository"

    result = invoke("mirror", "--from", str(lock), *flags, "--repository", str(repository))

    assert result.returncode == 0, result.stdout + result.stderr
    assert copied(result) == pinned_files(upstream_files)
    index_url = (repository / "simple").as_uri() + "/"
    assert result.stdout.splitlines()[-1] == f"index: {index_url}"
    read_repository(LocalStorage(repository)).assert_settled()

    upstream.stop()
    python = pip_install(tmp_path / "pip", index_url, "acme-hello", "legacy-thing")
    assert run_python(python, HELLO) == GREETING
    python = uv_install(tmp_path / "uv", index_url, "acme-hello", "legacy-thing")
    assert run_python(python, HELLO) == GREETING


def test_pip_installs_a_hashed_requirements_file_from_the_mirror_alone_requiring_hashes(
    upstream: Upstream, tmp_path: Path
) -> None:
    lock, flags = requirements_lock(tmp_path / "app", upstream)
    repository = tmp_path / "repository"
    assert invoke("mirror", "--from", str(lock), *flags, "-r", str(repository)).returncode == 0
    upstream.stop()

    index_url = (repository / "simple").as_uri() + "/"
    python = pip_install(tmp_path / "pip", index_url, "--require-hashes", "-r", str(lock))
    assert run_python(python, HELLO) == GREETING


def test_a_uv_project_moved_to_the_mirror_locks_the_same_hashes_and_syncs_without_the_upstream(
    upstream: Upstream, tmp_path: Path
) -> None:
    project = tmp_path / "app"
    lock = uv_project(project, upstream.index_url)
    repository = tmp_path / "repository"
    assert not mirror([lock], repository=str(repository), env={}).refused
    upstream.stop()

    before = locked_hashes(lock)
    pyproject = project / "pyproject.toml"
    index_url = (repository / "simple").as_uri() + "/"
    pyproject.write_text(pyproject.read_text().replace(upstream.index_url, index_url))
    uv("lock", cwd=project)
    uv("sync", "--frozen", cwd=project)

    assert locked_hashes(lock) == before
    assert run_python(project / ".venv" / "bin" / "python", "import yanky; print('ok')") == "ok"


def locked_hashes(lock: Path) -> dict[str, set[str]]:
    """Each locked package's file hashes, wherever the lock says they come from."""
    packages = tomllib.loads(lock.read_text())["package"]
    return {
        package["name"]: {
            file["hash"] for file in [package.get("sdist"), *package.get("wheels", [])] if file
        }
        for package in packages
        if "registry" in package["source"]
    }


def pip_lock(directory: Path, upstream: Upstream) -> Path:
    lock = directory / "pylock.toml"
    run([sys.executable, "-m", "pip", "lock", "--isolated", "--index-url", upstream.index_url,
         "-o", str(lock), "acme-hello", "legacy-thing"])  # fmt: skip
    return lock


def uv_compiled_pylock(directory: Path, upstream: Upstream) -> Path:
    (directory / "requirements.in").write_text("acme-hello\nlegacy-thing\n")
    uv(
        "pip", "compile", "--index-url", upstream.index_url, "--python-version", "3.11",
        "--format", "pylock.toml", "-o", "pylock.toml", "requirements.in", cwd=directory,
    )  # fmt: skip
    return directory / "pylock.toml"


@pytest.mark.parametrize(
    "write", [pip_lock, uv_compiled_pylock], ids=["pip lock", "uv pip compile"]
)
def test_a_pylock_naming_no_index_is_mirrored_from_the_upstream_it_is_told(
    upstream: Upstream, tmp_path: Path, write: Callable[[Path, Upstream], Path]
) -> None:
    lock = write(tmp_path, upstream)
    result = mirror([lock], upstream=upstream.index_url, repository=str(tmp_path / "r"), env={})

    copies = {file.filename for file in result.of(Outcome.COPIED)}
    assert not result.refused and {LEGACY_WHEEL, "acme_hello-1.0.0-py3-none-any.whl"} <= copies


def test_a_mirror_into_s3_serves_pip_and_uv_with_the_upstream_stopped(
    upstream: Upstream, tmp_path: Path, s3_env: dict[str, str], moto_endpoint: str, bucket: str
) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    result = mirror([lock], repository=f"s3://{bucket}", env=s3_env)
    assert result.of(Outcome.COPIED) and not result.refused
    upstream.stop()

    index_url = f"{moto_endpoint}/{bucket}/simple/"
    python = pip_install(tmp_path / "pip", index_url, "acme-hello", "legacy-thing")
    assert run_python(python, HELLO) == GREETING
    python = uv_install(tmp_path / "uv", index_url, "acme-hello", "legacy-thing")
    assert run_python(python, HELLO) == GREETING


# --- what a re-run costs ------------------------------------------------------------------


def test_a_second_run_downloads_nothing_and_writes_nothing(
    upstream: Upstream, upstream_files: list[Path], tmp_path: Path
) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    storage = LocalStorage(tmp_path / "repository")
    first = mirror([lock], repository=str(storage.root), env={})
    assert {f.filename for f in first.files} == pinned_files(upstream_files)

    upstream.requests.clear()
    before = {path: path.stat().st_mtime_ns for path in storage.root.rglob("*")}
    again = mirror([lock], repository=str(storage.root), env={})

    assert {f.outcome for f in again.files} == {Outcome.PRESENT}
    assert again.pages == []
    assert {path: path.stat().st_mtime_ns for path in storage.root.rglob("*")} == before
    # One read of each project's page upstream, for its yanks; no file, no metadata.
    assert upstream.counts() == {"page": len(projects(lock))}


def projects(lock: Path) -> set[str]:
    return {pin.project for pin in read_lock(lock, {}).files}


@pytest.fixture(scope="module")
def counting_moto() -> Iterator[MotoServer]:
    """A moto server of this module's own that counts the requests it is sent."""
    with MotoServer(count_requests=True, quiet=True) as server:
        yield server


def test_a_re_run_against_s3_sends_one_read_per_project_and_no_write(
    upstream: Upstream, tmp_path: Path, counting_moto: MotoServer
) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    bucket = counting_moto.create_bucket(f"mirror-{uuid.uuid4().hex[:12]}")
    env = {
        "AWS_ENDPOINT_URL": counting_moto.endpoint,
        "AWS_PYPI_BUCKET": bucket,
        "AWS_PYPI_REGION": REGION,
        "AWS_PYPI_ACCESS_KEY_ID": "testing",
        "AWS_PYPI_SECRET_ACCESS_KEY": "testing",
    }
    first = invoke("mirror", "--from", str(lock), env=env)
    assert first.returncode == 0, first.stderr
    read_repository(counting_moto.storage(bucket)).assert_settled()

    counting_moto.reset()
    again = invoke("mirror", "--from", str(lock), env=env)

    assert again.returncode == 0, again.stderr
    assert counting_moto.counts() == {"GetObject": len(projects(lock))}
    assert "copied 0 file(s), 0 B" in again.stdout


# --- what is refused ----------------------------------------------------------------------


def test_a_tampered_upstream_file_is_refused_in_one_line_and_nothing_of_it_is_written(
    upstream: Upstream, tmp_path: Path
) -> None:
    lock, flags = requirements_lock(tmp_path / "app", upstream)
    original = upstream.files[LEGACY_WHEEL].page_sha256
    upstream.tamper(LEGACY_WHEEL, b"PK\x03\x04 not the file the lock pins")
    repository = tmp_path / "repository"

    result = invoke("mirror", "--from", str(lock), *flags, "-r", str(repository))

    assert error_line(result).startswith("error: 1 file(s) refused, each named above")
    (refused,) = [line for line in result.stdout.splitlines() if "refused" in line.split()[:1]]
    assert refused.split()[1] == f"{LEGACY_WHEEL}:"
    assert f"but requirements.txt pins {original}: refused, nothing of it was written" in refused
    assert not list(repository.rglob(f"{LEGACY_WHEEL}*"))
    assert LEGACY_WHEEL not in read_repository(LocalStorage(repository)).files("legacy-thing")
    assert LEGACY_SDIST in copied(result)


def test_an_upstream_page_that_changed_a_files_hash_is_refused_before_downloading_it(
    upstream: Upstream, tmp_path: Path
) -> None:
    lock, _ = requirements_lock(tmp_path / "app", upstream)
    upstream.tamper(LEGACY_WHEEL, b"other bytes, and a page that says so", on_the_page=True)

    upstream.requests.clear()
    result = mirror([lock], upstream=upstream.index_url, repository=str(tmp_path / "r"), env={})

    # A requirements file pins by hash: no file upstream has the pinned one any more.
    (refused,) = result.refused
    assert refused.reason == f"no file on {upstream.index_url}legacy-thing/ has this sha256"
    assert not [r for r in upstream.requests if r.path.endswith(LEGACY_WHEEL)]


def test_a_download_stops_at_the_pinned_size(upstream: Upstream, tmp_path: Path) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    # An upstream serving HTML pages gives no size: the lock's alone bounds the download.
    upstream.html_only = True
    upstream.tamper("yanky-1.0-py3-none-any.whl", b"x" * 1_000_000)
    result = mirror([lock], repository=str(tmp_path / "repository"), env={})

    (refused,) = result.refused
    assert refused.filename == "yanky-1.0-py3-none-any.whl"
    assert refused.reason.startswith(
        f"the upstream sent more than {refused.size:,} bytes, the size the lock pins"
    )


def test_a_file_the_index_serves_no_kind_of_is_refused_and_the_rest_is_copied(
    upstream: Upstream, tmp_path: Path
) -> None:
    bz2 = tmp_path / "Twisted-20.3.0.tar.bz2"
    bz2.write_bytes(b"BZh91AY&SY not really")
    upstream.add(bz2)
    sha256 = upstream.files[bz2.name].page_sha256
    lock = tmp_path / "pylock.toml"
    lock.write_text(
        'lock-version = "1.0"\ncreated-by = "hand"\n[[packages]]\nname = "twisted"\n'
        f'version = "20.3.0"\nindex = "{upstream.index_url}"\n'
        f'sdist = {{ url = "x/{bz2.name}", hashes = {{ sha256 = "{sha256}" }} }}\n'
    )
    result = mirror([lock], repository=str(tmp_path / "repository"), env={})

    (refused,) = result.refused
    assert refused.reason == (
        "the index serves only .whl, .tar.gz, .zip files, so this one can't be mirrored"
    )


def test_a_local_version_is_refused_as_publish_refuses_it(
    upstream: Upstream, tmp_path: Path
) -> None:
    local = write_wheel(tmp_path, "torchlike", "2.1.0+cpu")
    upstream.add(local)
    lock = tmp_path / "requirements.txt"
    lock.write_text(
        f"torchlike==2.1.0+cpu --hash=sha256:{upstream.files[local.name].page_sha256}\n"
    )

    result = mirror([lock], upstream=upstream.index_url, repository=str(tmp_path / "r"), env={})

    (refused,) = result.refused
    assert (refused.filename, refused.reason.split(":")[0]) == (
        local.name,
        "local version 2.1.0+cpu",
    )


# --- legacy files ---------------------------------------------------------------------------


def test_legacy_files_keep_their_upstream_names_and_publish_still_refuses_them(
    upstream: Upstream, tmp_path: Path
) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    storage = LocalStorage(tmp_path / "repository")
    mirror([lock], repository=str(storage.root), env={})

    assert {LEGACY_WHEEL, LEGACY_SDIST} <= read_repository(storage).files("legacy-thing")
    assert (storage.root / "simple" / "legacy-thing" / LEGACY_WHEEL).is_file()
    # A team's own files get no such leniency.
    with pytest.raises(PublishRefused, match=r"unsupported Metadata-Version '2\.0'"):
        inspect_all([Path(upstream_file(upstream, LEGACY_WHEEL, tmp_path))])
    # Reindex keeps what the mirror stored, under the names it has.
    (storage.root / "simple" / "legacy-thing" / "index.json").unlink()
    report = Reindexer(Index(storage)).run()
    assert report.problems == []
    assert {LEGACY_WHEEL, LEGACY_SDIST} <= read_repository(storage).files("legacy-thing")


def upstream_file(upstream: Upstream, filename: str, directory: Path) -> Path:
    path = directory / "as-served" / filename
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(upstream.files[filename].body)
    return path


def test_a_copy_keeps_the_upstream_upload_time_which_exclude_newer_reads(
    upstream: Upstream, tmp_path: Path
) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    storage = LocalStorage(tmp_path / "repository")
    mirror([lock], repository=str(storage.root), env={})

    page = json.loads((storage.root / "simple" / "yanky" / "index.json").read_bytes())
    assert {file["upload-time"] for file in page["files"]} == {
        UPLOADED.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    }


# --- yanks ------------------------------------------------------------------------------


def test_an_upstream_yank_is_carried_over_with_its_reason_and_never_undone(
    upstream: Upstream, tmp_path: Path
) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    storage = LocalStorage(tmp_path / "repository")
    upstream.yank(LEGACY_WHEEL, "broken on Windows")
    first = mirror([lock], repository=str(storage.root), env={})
    upstream.yank("yanky-1.0-py3-none-any.whl", "")
    upstream.requests.clear()
    second = mirror([lock], repository=str(storage.root), env={})

    assert [(f.filename, f.outcome, f.yanked) for f in first.files if f.yanked is not None] == [
        (LEGACY_WHEEL, Outcome.COPIED, "broken on Windows")
    ]
    assert [(f.filename, f.outcome, f.yanked) for f in second.files if f.yanked is not None] == [
        ("yanky-1.0-py3-none-any.whl", Outcome.PRESENT, "")
    ]
    assert upstream.counts()["file"] == 0
    yanked = yanks(storage)
    assert yanked == {LEGACY_WHEEL: "broken on Windows", "yanky-1.0-py3-none-any.whl": ""}
    # The marker beside each file keeps the yank through a reindex.
    (storage.root / "simple" / "yanky" / "index.json").unlink()
    Reindexer(Index(storage)).run()
    assert yanks(storage) == yanked

    upstream.files[LEGACY_WHEEL].yanked = None  # an upstream unyank is not carried over
    third = mirror([lock], repository=str(storage.root), env={})
    assert third.pages == [] and yanks(storage) == yanked


def yanks(storage: Storage) -> dict[str, str | None]:
    repository = read_repository(storage)
    return {
        package.filename: package.yanked_reason or ""
        for project in repository.projects.values()
        for package in (project.json.packages if project.json else [])
        if package.is_yanked
    }


# --- dry run, JSON ----------------------------------------------------------------------


def test_a_dry_run_says_what_would_be_copied_and_its_size_and_writes_nothing(
    upstream: Upstream, upstream_files: list[Path], tmp_path: Path
) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    repository = tmp_path / "repository"

    result = invoke("mirror", "--from", str(lock), "--dry-run", "-r", str(repository))

    assert result.returncode == 0, result.stderr
    assert copied(result, "would copy") == pinned_files(upstream_files)
    total = sum(path.stat().st_size for path in upstream_files)
    from private_pypi.console import human_size

    assert f"would copy {len(upstream_files)} file(s), {human_size(total)}; " in result.stdout
    assert result.stdout.rstrip().endswith("dry run: nothing was written")
    assert not repository.exists()
    assert upstream.counts()["file"] == 0


def test_json_says_what_was_done_for_each_file(upstream: Upstream, tmp_path: Path) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    repository = tmp_path / "repository"
    first = invoke("mirror", "--from", str(lock), "--json", "-r", str(repository))
    again = invoke("mirror", "--from", str(lock), "--json", "-r", str(repository))

    document = json.loads(first.stdout)
    assert document["index_url"] == (repository / "simple").as_uri() + "/"
    assert document["locks"] == [
        {"path": str(lock), "format": "uv.lock", "files": len(document["files"])}
    ]
    assert document["skipped"] == [
        {
            "lock": str(lock),
            "name": "app",
            "reason": "virtual = '.': the project's own root, which is never installed",
        }
    ]
    legacy = next(f for f in document["files"] if f["filename"] == LEGACY_WHEEL)
    assert legacy["outcome"] == "copied" and len(legacy["sha256"]) == 64 and legacy["size"] > 0
    assert json.loads(again.stdout)["present"] == len(document["files"])
    assert json.loads(again.stdout)["copied"] == 0


# --- credentials --------------------------------------------------------------------------


@pytest.fixture
def private_upstream(upstream_files: list[Path]) -> Iterator[Upstream]:
    """An upstream whose pages need a login, with its files on another origin."""
    with Upstream(login=("ci", "s3cret"), files_host="localhost").add(*upstream_files) as server:
        yield server


def test_an_upstream_login_goes_in_the_url_and_only_to_the_upstream_origin(
    private_upstream: Upstream, tmp_path: Path
) -> None:
    lock, _ = requirements_lock_via(private_upstream, tmp_path)
    with_login = private_upstream.index_url.replace("http://", "http://ci:s3cret@")
    private_upstream.requests.clear()

    result = invoke(
        "mirror", "--from", str(lock), "--upstream", with_login, "-r", str(tmp_path / "r")
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    pages = [r for r in private_upstream.requests if r.path.startswith("/simple/")]
    files = [r for r in private_upstream.requests if r.path.startswith("/packages/")]
    assert pages and all(r.authorization for r in pages)
    assert files and not any(r.authorization for r in files)


def test_an_upstream_login_comes_from_uv_variables_for_a_named_index(
    private_upstream: Upstream, tmp_path: Path
) -> None:
    lock, _ = requirements_lock_via(private_upstream, tmp_path)
    env = {"UV_INDEX_CORP_MIRROR_USERNAME": "ci", "UV_INDEX_CORP_MIRROR_PASSWORD": "s3cret"}
    named = f"corp-mirror={private_upstream.index_url}"

    result = mirror([lock], upstream=named, repository=str(tmp_path / "r"), env=env)

    assert result.of(Outcome.COPIED) and not result.refused


def test_an_upstream_login_comes_from_netrc(private_upstream: Upstream, tmp_path: Path) -> None:
    lock, _ = requirements_lock_via(private_upstream, tmp_path)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ci password s3cret\n")
    upstream = private_upstream.index_url

    result = mirror(
        [lock], upstream=upstream, repository=str(tmp_path / "r"), env={"NETRC": str(netrc)}
    )

    assert result.of(Outcome.COPIED) and not result.refused


def test_an_upstream_that_wants_a_login_it_lacks_is_one_line(
    private_upstream: Upstream, tmp_path: Path
) -> None:
    lock, _ = requirements_lock_via(private_upstream, tmp_path)
    result = invoke(
        "mirror", "--from", str(lock), "--upstream", private_upstream.index_url,
        "-r", str(tmp_path / "r"), env={"NETRC": str(tmp_path / "none")},
    )  # fmt: skip

    line = error_line(result)
    assert line.startswith(
        f"error: cannot read {private_upstream.index_url}acme-greeting/: HTTP 401: "
    )
    assert "UV_INDEX_NAME_USERNAME" in line and str(tmp_path / "none") in line


def requirements_lock_via(private: Upstream, tmp_path: Path) -> tuple[Path, list[str]]:
    """A requirements lock of the private upstream's files, made while it answers anyone."""
    login, private.login = private.login, None
    try:
        return requirements_lock(tmp_path / "app", private)
    finally:
        private.login = login


def test_an_upstream_serving_html_alone_is_read_as_pip_reads_it(
    upstream: Upstream, upstream_files: list[Path], tmp_path: Path
) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    upstream.html_only = True
    result = mirror([lock], repository=str(tmp_path / "repository"), env={})

    assert {file.filename for file in result.of(Outcome.COPIED)} == pinned_files(upstream_files)
    assert all(file.size for file in result.files)


def test_relative_links_resolve_against_the_page_an_upstream_redirected_to(
    upstream: Upstream, upstream_files: list[Path], tmp_path: Path
) -> None:
    lock, _ = requirements_lock(tmp_path / "app", upstream)
    upstream.relative_links = True
    moved = f"{upstream.origin}{MOVED}"

    result = mirror([lock], upstream=moved, repository=str(tmp_path / "r"), env={})

    assert {file.filename for file in result.of(Outcome.COPIED)} == pinned_files(upstream_files)


def test_two_locks_pinning_other_bytes_under_one_name_copy_the_first_and_refuse_the_other(
    upstream: Upstream, tmp_path: Path
) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    other = tmp_path / "pylock.toml"
    name = "yanky-1.0-py3-none-any.whl"
    other.write_text(
        'lock-version = "1.0"\ncreated-by = "hand"\n[[packages]]\nname = "yanky"\n'
        f'wheels = [{{ name = "{name}", hashes = {{ sha256 = "{"0" * 64}" }} }}]\n'
    )
    result = mirror(
        [lock, other], upstream=upstream.index_url, repository=str(tmp_path / "r"), env={}
    )

    (refused,) = result.refused
    assert (refused.filename, refused.reason) == (name, f"{lock} pins other bytes under this name")
    assert name in {file.filename for file in result.of(Outcome.COPIED)}


def test_another_index_of_this_kind_in_a_directory_is_an_upstream_too(
    example_dists: list[Path], tmp_path: Path
) -> None:
    # Staging's index, read through file://, copied into production's by its lock.
    staging = LocalStorage(tmp_path / "staging")
    Publisher(Index(staging)).publish(inspect_all(example_dists))
    hashes = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in example_dists}
    lock = tmp_path / "requirements.txt"
    lock.write_text(
        "".join(
            f"{path.name.split('-')[0]}=={path.name.split('-')[1].removesuffix('.tar.gz')} "
            f"--hash=sha256:{digest}\n"
            for path, digest in hashes.items()
        )
    )
    result = mirror(
        [lock], upstream=staging.index_url, repository=str(tmp_path / "production"), env={}
    )

    assert {file.filename for file in result.of(Outcome.COPIED)} == {p.name for p in hashes}


# --- the team's own packages, and the upstream's metadata ---------------------------------


def test_a_teams_own_package_pinned_beside_the_upstreams_is_present_and_not_looked_for(
    upstream: Upstream, example_dists: list[Path], tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "repository")
    own = [path for path in example_dists if path.name.startswith("acme_hello")]
    Publisher(Index(storage)).publish(inspect_all(own))
    for path in own:
        del upstream.files[path.name]  # a name the upstream doesn't have
    hashes = " ".join(f"--hash=sha256:{hashlib.sha256(p.read_bytes()).hexdigest()}" for p in own)
    lock = tmp_path / "requirements.txt"
    lock.write_text(f"acme-hello==1.0.0 {hashes}\n")

    result = mirror([lock], upstream=upstream.index_url, repository=str(storage.root), env={})

    assert {(f.filename, f.outcome) for f in result.files} == {
        (path.name, Outcome.PRESENT) for path in own
    }


def test_upstream_metadata_that_is_not_the_wheels_own_is_passed_over_saying_so(
    upstream: Upstream, tmp_path: Path
) -> None:
    name = "yanky-1.0-py3-none-any.whl"
    own = upstream.files[name].metadata
    assert own is not None
    upstream.files[name].metadata = own.replace(b"\n", b"\nSummary: other than the wheel's\n", 1)
    lock, _ = uv_lock(tmp_path / "app", upstream)
    storage = LocalStorage(tmp_path / "repository")

    result = mirror([lock], repository=str(storage.root), env={})

    (copy,) = [file for file in result.files if file.filename == name]
    assert copy.outcome is Outcome.COPIED
    assert (
        copy.reason
        == "the upstream's metadata file is not the wheel's METADATA: serving the wheel's own"
    )
    assert (storage.root / "simple" / "yanky" / f"{name}.metadata").read_bytes() == own


# --- racing, failing ------------------------------------------------------------------------


@pytest.mark.parametrize("round", range(3), ids=lambda n: f"round{n}")
def test_a_mirror_racing_a_publish_of_the_same_project_loses_neither(
    storage: S3Storage | LocalStorage, upstream: Upstream, example_dists: list[Path],
    tmp_path: Path, round: int,
) -> None:  # fmt: skip
    greeting = [path for path in example_dists if path.name.startswith("acme_greeting")]
    lock = tmp_path / "requirements.txt"
    lock.write_text(
        "acme-greeting==1.0.0 "
        + " ".join(f"--hash=sha256:{hashlib.sha256(p.read_bytes()).hexdigest()}" for p in greeting)
    )
    newer = wheel(tmp_path, "acme-greeting", f"2.{round}")
    location = storage.location
    env = environment_of(storage)
    twin = next(path for path in greeting if path.name.endswith(".whl"))

    def mirrors(_: Index) -> None:
        assert not mirror([lock], upstream=upstream.index_url, repository=location, env=env).refused

    def publishes(index: Index) -> None:
        # The same wheel the mirror copies, and a newer release of the project.
        Publisher(index).publish(inspect_all([twin, newer]))

    race([storage, storage], [mirrors, publishes])

    repository = read_repository(storage)
    repository.assert_settled()
    assert repository.files("acme-greeting") == {path.name for path in greeting} | {newer.name}


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy(moto_endpoint) as proxy:
        yield proxy


def test_a_mirror_cut_short_by_s3_is_one_line_and_a_rerun_finishes_it(
    upstream: Upstream, proxy: FaultProxy, bucket: str, s3_env: dict[str, str], tmp_path: Path
) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    env = {**s3_env, "AWS_ENDPOINT_URL": proxy.url}
    page = f"^/{bucket}/simple/yanky/index.json$"
    proxy.inject(
        Fault("PUT", page, Respond(500, "InternalError", "We encountered an internal error."))
    )

    failed = invoke("mirror", "--from", str(lock), env=env)

    assert error_line(failed) == (
        f"error: S3 refused the request for s3://{bucket}/simple/yanky/index.json: "
        "InternalError We encountered an internal error."
    )
    proxy.clear()
    finished = mirror([lock], repository=f"s3://{bucket}", env=env)
    assert not finished.refused
    repository = read_repository(bucket_storage(proxy.url, bucket))
    repository.assert_settled()
    assert repository.files("yanky") == {"yanky-1.0-py3-none-any.whl"}


def test_ctrl_c_stops_a_download_at_once_and_leaves_nothing_behind(
    upstream: Upstream, tmp_path: Path
) -> None:
    big = wheel(tmp_path / "big", "bigdata", "1.0", payload=os.urandom(4 * 1024 * 1024))
    upstream.add(big)
    upstream.slow_files = 1.0  # a minute for the whole file
    lock = tmp_path / "requirements.txt"
    lock.write_text(f"bigdata==1.0 --hash=sha256:{upstream.files[big.name].page_sha256}\n")
    scratch, repository = tmp_path / "tmp", tmp_path / "repository"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PRIVATE_PYPI_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", "mirror", "--from", str(lock),
         "--upstream", upstream.index_url, "-r", str(repository)],
        cwd=Path(__file__).parent.parent, env={**env, "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not any(r.path.endswith(big.name) for r in upstream.requests):
            assert time.monotonic() < deadline and process.poll() is None, process.communicate()
            time.sleep(0.1)
        time.sleep(2)  # a few chunks in

        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()

    assert time.monotonic() - interrupted < 15, "it waited for the download to finish"
    assert process.returncode != 0 and "Traceback" not in stderr, stderr
    assert list(scratch.iterdir()) == []
    assert not list(repository.rglob("bigdata*"))


# --- the command line ---------------------------------------------------------------------


def test_mirror_explains_itself_and_a_missing_or_wrong_lock_is_one_line(tmp_path: Path) -> None:
    help_text = invoke("--help", "mirror").stdout
    for option in ("--from", "--upstream", "--repository", "--dry-run", "--json", "UV_INDEX"):
        assert option in help_text
    repository = ["--repository", str(tmp_path / "repository")]
    assert error_line(invoke("mirror", *repository)) == (
        "error: nothing to mirror: give a lock with --from (a uv.lock, a pylock.toml or a "
        "requirements file with --hash pins)"
    )
    unpinned = tmp_path / "requirements.txt"
    unpinned.write_text("acme-hello>=1\n")
    assert error_line(invoke("mirror", "--from", str(unpinned), *repository)) == (
        f"error: {unpinned}: line 1: acme-hello>=1 is not pinned to one version with ==: "
        "generate the file with `uv pip compile --generate-hashes` or `pip-compile "
        "--generate-hashes`, as pip's --require-hashes wants it"
    )
    assert error_line(invoke("mirror", "--from", "uv.lock", "--upstream", "pypi", *repository)) == (
        "error: --upstream 'pypi' is not an index URL: give one such as "
        "https://pypi.org/simple/, or NAME=URL to name it as uv does"
    )
    assert not (tmp_path / "repository").exists()


def test_a_large_release_is_copied_in_batches_that_bound_the_temporary_files(
    upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock, _ = uv_lock(tmp_path / "app", upstream)
    storage = LocalStorage(tmp_path / "repository")
    batches: list[list[str]] = []
    publish = Publisher.publish

    def recording(self: Publisher, distributions: Sequence[Distribution], **options: Any) -> Any:
        batches.append([distribution.filename for distribution in distributions])
        return publish(self, distributions, **options)

    monkeypatch.setattr(Publisher, "publish", recording)
    index = upstream.index_url
    reader = UpstreamReader(
        {index: UpstreamCredentials(index, None, NetrcLogins(Path(os.devnull)))}
    )
    # Batches of one file: each is published before the next is downloaded.
    Mirror(Index(storage), reader, batch_bytes=1).run(read_lock(lock, {}).files)

    assert sorted(map(len, batches)) == [1] * len(batches)
    assert len(batches) == len(read_lock(lock, {}).files)
    read_repository(storage).assert_settled()
