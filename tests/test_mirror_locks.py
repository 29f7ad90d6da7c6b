"""Reading locks: what each format pins, what it skips, and the one line for a lock that
can't be mirrored. The tools' own output is read in tests/test_mirror.py; these are the
hand-written cases, hostile and unsupported ones among them."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from private_pypi.mirror import LockError, read_lock
from private_pypi.mirror.locks import PYPI

A = "a" * 64
B = "b" * 64
E = "e" * 128
F = "f" * 32  # an md5
WIN_WHEEL = "PyYAML-6.0.1-cp311-cp311-win_amd64.whl"
PLUS_WHEEL = "internal-3.0%2Bplus-py3-none-any.whl"
ATTRS = "attrs-25.1.0-py3-none-any.whl"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_requirements_file_pins_each_hash_as_pip_reads_the_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "requirements.txt",
        f"""\
# a comment, then options pip reads and the mirror passes over
--only-binary :all:
--trusted-host example.com
requests[socks]==2.31.0 ; python_version >= "3.8" \\
    --hash=sha256:{A} \\
    --hash sha256:{B}
    # via app
PyYAML==6.0.1 --hash=sha256:{B.upper()}  # a trailing comment
-e ./src/app
./wheels/local-1.0-py3-none-any.whl
direct @ https://example.com/direct-1.0.tar.gz --hash=sha256:{A}
""",
    )
    lock = read_lock(path, {})

    assert lock.kind == "requirements"
    assert [(pin.project, pin.version, pin.sha256) for pin in lock.files] == [
        ("requests", Version("2.31.0"), A),
        ("requests", Version("2.31.0"), B),
        ("pyyaml", Version("6.0.1"), B),
    ]
    assert all(pin.filename is None and pin.indexes == (PYPI,) for pin in lock.files)
    assert [skipped.name for skipped in lock.skipped] == [
        "-e ./src/app",
        "./wheels/local-1.0-py3-none-any.whl",
        "direct",
    ]


def test_a_requirements_file_names_its_indexes_and_reads_nested_files(tmp_path: Path) -> None:
    write(tmp_path, "base.txt", f"six==1.16.0 --hash=sha256:{A}\n")
    path = write(
        tmp_path,
        "requirements.txt",
        f"""\
--index-url https://${{USER_NAME}}:${{TOKEN}}@packages.example.com/simple
--extra-index-url=https://download.example.org/whl/
-r base.txt
-c constraints.txt
attrs==25.1.0 --hash=sha256:{B}
""",
    )
    lock = read_lock(path, {"USER_NAME": "ci", "TOKEN": "s3cret"})

    assert [pin.project for pin in lock.files] == ["six", "attrs"]
    assert {pin.indexes for pin in lock.files} == {
        ("https://ci:s3cret@packages.example.com/simple/", "https://download.example.org/whl/")
    }
    assert [skipped.name for skipped in lock.skipped] == ["-c constraints.txt"]


UNMIRRORABLE_REQUIREMENTS = {
    "no hashes": ("acme==1.0\n", "line 1: acme==1.0 has no --hash: generate the file with"),
    "a range": (f"acme>=1.0 --hash=sha256:{A}\n", "line 1: acme>=1.0 is not pinned to one"),
    "a wildcard": (f"acme==1.* --hash=sha256:{A}\n", "line 1: acme==1.* is not pinned to one"),
    "sha512 only": (
        f"acme==1.0 --hash=sha512:{'c' * 128}\n",
        "line 1: acme==1.0 --hash=sha512:ccccccccccccccccc…: a requirements file's files are "
        "found on the upstream by sha256",
    ),
    "md5": (f"acme==1.0 --hash=md5:{'d' * 32}\n", "hash algorithm 'md5' is not one of"),
    "a cut hash": ("acme==1.0 --hash=sha256:abc\n", "sha256 hash 'abc' is not 64 hex digits"),
    "empty": ("# nothing\n\n", "pins no file: an empty requirements file?"),
    "prose": ("This is not a lock.\n", "line 1: 'This is not a lock.' is not a requirement"),
}


@pytest.mark.parametrize("case", UNMIRRORABLE_REQUIREMENTS, ids=str)
def test_an_unpinned_or_unsupported_requirements_file_is_one_line(
    tmp_path: Path, case: str
) -> None:
    text, message = UNMIRRORABLE_REQUIREMENTS[case]
    path = write(tmp_path, "requirements.txt", text)
    with pytest.raises(LockError) as raised:
        read_lock(path, {})
    (line,) = str(raised.value).splitlines()
    assert line.startswith(f"{path}: ") and message in line, line


UV_LOCK = f"""\
version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "app"
version = "0.1.0"
source = {{ editable = "." }}

[[package]]
name = "tool"
version = "0.1.0"
source = {{ virtual = "tools/tool" }}

[[package]]
name = "vendored"
version = "2.0"
source = {{ git = "https://github.com/acme/vendored?rev=v2#0123abcd" }}

[[package]]
name = "local-wheels"
version = "1.0"
source = {{ registry = "../wheelhouse" }}
wheels = [{{ path = "local_wheels-1.0-py3-none-any.whl", hash = "sha256:{A}" }}]

[[package]]
name = "pyyaml"
version = "6.0.1"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://f.example/PyYAML-6.0.1.tar.gz", hash = "sha256:{A}", size = 125201 }}
wheels = [
    {{ url = "https://f.example/{WIN_WHEEL}", hash = "sha256:{B}", size = 144699 }},
]

[[package]]
name = "internal"
version = "3.0"
source = {{ registry = "https://p.example/simple/" }}
wheels = [
    {{ url = "https://p.example/simple/internal/{PLUS_WHEEL}", hash = "sha512:{E}" }},
]
"""


def test_a_uv_lock_pins_every_registry_file_and_skips_the_rest_saying_why(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[[tool.uv.index]]\nname = "internal-packages"\nurl = "https://p.example/simple"\n',
    )
    lock = read_lock(write(tmp_path, "uv.lock", UV_LOCK), {})

    assert [(pin.filename, pin.hashes[0][0], pin.size, pin.indexes) for pin in lock.files] == [
        ("PyYAML-6.0.1.tar.gz", "sha256", 125201, ("https://pypi.org/simple/",)),
        (WIN_WHEEL, "sha256", 144699, ("https://pypi.org/simple/",)),
        ("internal-3.0+plus-py3-none-any.whl", "sha512", None, ("https://p.example/simple/",)),
    ]
    reasons = {skipped.name: skipped.reason for skipped in lock.skipped}
    assert reasons["app"].startswith("editable = '.': the project's own package")
    assert reasons["tool"].startswith("virtual = 'tools/tool'")
    assert reasons["vendored"].startswith("git = ")
    assert "local registry '../wheelhouse'" in reasons["local-wheels"]
    assert lock.index_names == {"https://p.example/simple/": "internal-packages"}


PYLOCK = f"""\
lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "attrs"
version = "25.1.0"
index = "https://mirror.example.com/pypi/simple"
wheels = [
  {{ url = "https://f.example/{ATTRS}", size = 63152, hashes = {{ sha256 = "{A}", md5 = "{F}" }} }},
]
sdist = {{ name = "attrs-25.1.0.tar.gz", url = "https://f/dl?1", hashes = {{ sha256 = "{B}" }} }}

[[packages]]
name = "checkout"
vcs = {{ type = "git", url = "https://github.com/acme/checkout", commit-id = "0123abcd" }}

[[packages]]
name = "here"
directory = {{ path = "./here", editable = true }}

[[packages]]
name = "tarball"
archive = {{ url = "https://example.com/tarball-1.0.tar.gz", hashes = {{ sha256 = "{A}" }} }}
"""


def test_a_pylock_pins_sdists_and_wheels_and_skips_checkouts_directories_and_archives(
    tmp_path: Path,
) -> None:
    lock = read_lock(write(tmp_path, "pylock.prod.toml", PYLOCK), {})

    assert lock.kind == "pylock.toml"
    assert [(pin.filename, pin.hashes, pin.size) for pin in lock.files] == [
        ("attrs-25.1.0.tar.gz", (("sha256", B),), None),
        ("attrs-25.1.0-py3-none-any.whl", (("sha256", A),), 63152),
    ]
    assert {pin.indexes for pin in lock.files} == {("https://mirror.example.com/pypi/simple/",)}
    assert [(s.name, s.reason.split(":")[0]) for s in lock.skipped] == [
        ("checkout", "vcs"),
        ("here", "directory"),
        ("tarball", "archive"),
    ]


def test_a_lock_is_told_by_its_content_when_its_name_says_nothing(tmp_path: Path) -> None:
    assert read_lock(write(tmp_path, "locked.toml", PYLOCK), {}).kind == "pylock.toml"
    assert read_lock(write(tmp_path, "app.lock", UV_LOCK), {}).kind == "uv.lock"


UNMIRRORABLE_FILES = {
    "poetry.lock": (
        '[[package]]\nname = "six"\n\n[metadata]\ncontent-hash = "abc"\nlock-version = "2.0"\n',
        "a Poetry lock, which this does not read: export it with `poetry export",
    ),
    "pdm.lock": (
        '[metadata]\nlock_version = "4.5"\n[[package]]\nname = "six"\n',
        "a PDM lock, which this does not read: `pdm export --format pylock` writes one",
    ),
    "pyproject.toml": (
        '[project]\nname = "app"\n',
        "a pyproject.toml, which pins nothing: lock it first (`uv lock`)",
    ),
    "uv.lock": (
        'version = 2\n[[package]]\nname = "x"\n',
        "uv.lock version 2: this reads version 1",
    ),
    "pylock.toml": (
        'lock-version = "2.0"\n',
        "lock-version '2.0': this reads pylock.toml version 1.x",
    ),
    "pylock.broken.toml": ('lock-version = "1.0\n', "not a readable pylock.toml: "),
    "pylock.unhashed.toml": (
        'lock-version = "1.0"\n[[packages]]\nname = "six"\nversion = "1"\n'
        'wheels = [{ url = "https://x/six-1-py3-none-any.whl" }]\n',
        "six-1-py3-none-any.whl of six has no hashes: it can't be checked",
    ),
    "pylock.weak.toml": (
        'lock-version = "1.0"\n[[packages]]\nname = "six"\nversion = "1"\n'
        f'wheels = [{{ url = "https://x/six-1-py3-none-any.whl", hashes = {{ md5 = "{F}" }} }}]\n',
        "has no sha256, sha384, sha512 hash",
    ),
}


@pytest.mark.parametrize("name", UNMIRRORABLE_FILES, ids=str)
def test_a_lock_of_another_format_or_version_is_one_line(tmp_path: Path, name: str) -> None:
    text, message = UNMIRRORABLE_FILES[name]
    path = write(tmp_path, name, text)
    with pytest.raises(LockError) as raised:
        read_lock(path, {})
    (line,) = str(raised.value).splitlines()
    assert line.startswith(f"{path}: ") and message in line, line


def test_a_missing_directory_or_binary_file_is_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "requirements.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    for path, message in [
        (tmp_path / "nothing.txt", "no such file: check --from"),
        (tmp_path, "is a directory: give the lock file"),
        (binary, "not a text file"),
    ]:
        with pytest.raises(LockError, match=message):
            read_lock(path, {})
