"""A private index through the real edge function: pip and uv with a reader's token.

The index is moto's bucket behind tests/edge_emulator.py, which runs the private copy of
the viewer-request function on every request, with the store `pulumi up` would write.
"""

from __future__ import annotations

import base64
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.readers import token_digest
from private_pypi.demo import isolated_pip_environment
from private_pypi.index import Index
from private_pypi.publish import Publisher, inspect_all
from private_pypi.verify import ReaderCredentials
from tests.conftest import bucket_storage, new_bucket
from tests.edge_emulator import EdgeEmulator, edge_in_front_of
from tests.edge_runtime import EdgeFunction
from tests.installers import run_python, uv_binary
from tests.invoking import error_line, invoke

READER, TOKEN = "ci", "Q7hYx2bTmV9kLp3RzW8nJc4sFd6GaE1u"
# The variables a reader's GitHub secrets become in a workflow; verify reads the same.
READER_ENV = {"PRIVATE_PYPI_USERNAME": READER, "PRIVATE_PYPI_TOKEN": TOKEN}
HELLO = "import acme_hello, acme_greeting; print(acme_greeting.greet('CI'))"
GREETING = "Hello, CI, from the private index!"


def publish(moto_endpoint: str, bucket: str, dists: list[Path]) -> None:
    Publisher(Index(bucket_storage(moto_endpoint, bucket))).publish(inspect_all(dists))


@pytest.fixture
def edge_function() -> Iterator[EdgeFunction]:
    function = EdgeFunction(private=True, store={READER: token_digest(TOKEN)})
    yield function
    function.close()


@pytest.fixture
def edge(moto_endpoint, example_dists, edge_function) -> Iterator[EdgeEmulator]:
    """Both examples (acme-hello needs acme-greeting) in a bucket only the edge reads."""
    bucket = new_bucket(moto_endpoint, public=False)
    publish(moto_endpoint, bucket, example_dists)
    with edge_in_front_of(edge_function, moto_endpoint, bucket) as emulator:
        yield emulator


def with_credentials(index_url: str, user: str = READER, token: str = TOKEN) -> str:
    return index_url.replace("http://", f"http://{user}:{token}@", 1)


def attempt(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env={**isolated_pip_environment(), **env},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def pip(python: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return attempt(
        [str(python), "-m", "pip", "install", "--no-cache-dir", "--no-input", *args], **env
    )


def uv_pip(python: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return attempt(
        [uv_binary(), "pip", "install", "--no-cache", "--python", str(python), *args], **env
    )


def new_venv(directory: Path, *, with_pip: bool) -> Path:
    if with_pip:
        venv.create(directory, with_pip=True)
    else:
        subprocess.run([uv_binary(), "venv", "--quiet", "--no-config", str(directory)], check=True)
    return directory / "bin" / "python"


def write_requirements(directory: Path, index_url: str) -> Path:
    """A requirements.txt whose index URL takes the reader from the environment."""
    url = index_url.replace("http://", "http://${PRIVATE_PYPI_USERNAME}:${PRIVATE_PYPI_TOKEN}@")
    requirements = directory / "requirements.txt"
    requirements.write_text(f"--index-url {url}\nacme-hello==1.0.0\n")
    return requirements


def assert_refused(edge: EdgeEmulator, result: subprocess.CompletedProcess[str]) -> None:
    """The install failed with a message, and the edge gave it nothing but 401s."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert TOKEN not in output
    assert edge.answers and {status for _, status in edge.answers} == {401}, edge.answers
    edge.answers.clear()


def test_pip_is_refused_without_a_token_then_installs_with_one(edge, tmp_path):
    python = new_venv(tmp_path / "venv", with_pip=True)

    refused = pip(python, "--index-url", edge.index_url, "acme-hello")
    assert_refused(edge, refused)
    assert "No matching distribution found for acme-hello" in refused.stderr
    wrong = with_credentials(edge.index_url, token=TOKEN[:-1] + "x")
    refused = pip(python, "--index-url", wrong, "acme-hello")
    assert_refused(edge, refused)
    assert "acme" not in attempt([str(python), "-m", "pip", "list"]).stdout

    # .netrc: pip looks up the index's host there when the URL has no credentials.
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1\nlogin {READER}\npassword {TOKEN}\n")
    netrc.chmod(0o600)
    resolved = pip(
        python, "--dry-run", "--index-url", edge.index_url, "acme-hello", NETRC=str(netrc)
    )
    assert "Would install acme-greeting-1.0.0 acme-hello-1.0.0" in resolved.stdout, resolved.stderr

    # requirements.txt naming the credentials by variable, as docs/how-to/install.md shows.
    requirements = write_requirements(tmp_path, edge.index_url)
    resolved = pip(python, "--dry-run", "-r", str(requirements), **READER_ENV)
    assert "Would install acme-greeting-1.0.0 acme-hello-1.0.0" in resolved.stdout, resolved.stderr

    # Credentials in the URL: pip sends them to that host, for pages and files alike.
    installed = pip(python, "--index-url", with_credentials(edge.index_url), "acme-hello")
    assert installed.returncode == 0, installed.stderr
    assert run_python(python, HELLO) == GREETING


def test_uv_is_refused_without_a_token_then_installs_with_the_index_variables(edge, tmp_path):
    python = new_venv(tmp_path / "venv", with_pip=False)
    index = ["--no-config", "--default-index", f"acme={edge.index_url}"]

    refused = uv_pip(python, *index, "acme-hello")
    assert_refused(edge, refused)
    assert "401 Unauthorized" in refused.stderr
    assert_refused(
        edge,
        uv_pip(
            python,
            *index,
            "acme-hello",
            UV_INDEX_ACME_USERNAME=READER,
            UV_INDEX_ACME_PASSWORD="x" * 32,
        ),
    )

    installed = uv_pip(
        python, *index, "acme-hello", UV_INDEX_ACME_USERNAME=READER, UV_INDEX_ACME_PASSWORD=TOKEN
    )
    assert installed.returncode == 0, installed.stderr
    assert run_python(python, HELLO) == GREETING

    python = new_venv(tmp_path / "requirements-venv", with_pip=False)
    requirements = write_requirements(tmp_path, edge.index_url)
    installed = uv_pip(python, "--no-config", "-r", str(requirements), **READER_ENV)
    assert installed.returncode == 0, installed.stderr
    assert run_python(python, HELLO) == GREETING


@pytest.fixture
def split_indexes(moto_endpoint, example_dists, edge_function) -> Iterator[tuple[str, str]]:
    """acme-hello on the private index; acme-greeting, its dependency, only on a public one."""
    hello = [dist for dist in example_dists if dist.name.startswith("acme_hello")]
    greeting = [dist for dist in example_dists if dist.name.startswith("acme_greeting")]
    private = new_bucket(moto_endpoint, public=False)
    public = new_bucket(moto_endpoint, public=True)
    publish(moto_endpoint, private, hello)
    publish(moto_endpoint, public, greeting)
    with edge_in_front_of(edge_function, moto_endpoint, private) as emulator:
        yield emulator.index_url, f"{moto_endpoint}/{public}/simple/"


def test_a_project_the_private_index_lacks_comes_from_the_next_index(split_indexes, tmp_path):
    # An authorised reader gets 404 for a missing project, so both installers go on.
    private, public = split_indexes

    python = new_venv(tmp_path / "pip-venv", with_pip=True)
    installed = pip(
        python, "--index-url", with_credentials(private), "--extra-index-url", public, "acme-hello"
    )
    assert installed.returncode == 0, installed.stderr
    assert run_python(python, HELLO) == GREETING

    # uv as docs/how-to/install.md configures it: a named index that always authenticates.
    config = tmp_path / "uv.toml"
    config.write_text(
        f'[[index]]\nname = "acme"\nurl = "{private}"\nauthenticate = "always"\n\n'
        f'[[index]]\nname = "upstream"\nurl = "{public}"\ndefault = true\n'
    )
    python = new_venv(tmp_path / "uv-venv", with_pip=False)
    installed = uv_pip(
        python,
        "--config-file",
        str(config),
        "acme-hello",
        UV_INDEX_ACME_USERNAME=READER,
        UV_INDEX_ACME_PASSWORD=TOKEN,
    )
    assert installed.returncode == 0, installed.stderr
    assert run_python(python, HELLO) == GREETING


# --- invoke verify as a reader ------------------------------------------------------------


def test_invoke_verify_reads_a_private_index_as_a_reader(edge):
    checked = invoke("verify", "--repository", edge.index_url, env=READER_ENV)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert TOKEN not in checked.stdout + checked.stderr
    statuses = {status for _, status in edge.answers}
    assert statuses == {200}, edge.answers  # pages, files and metadata, all let in


@pytest.mark.parametrize(
    "env",
    [{}, {**READER_ENV, "PRIVATE_PYPI_TOKEN": "x" * 32}],
    ids=["no-credentials", "wrong-token"],
)
def test_invoke_verify_without_a_readers_token_says_which_variables_to_set(edge, env):
    line = error_line(invoke("verify", "--repository", edge.index_url, env=env))

    assert "HTTP 401" in line and "PRIVATE_PYPI_USERNAME" in line and "PRIVATE_PYPI_TOKEN" in line
    assert TOKEN not in line


def test_a_username_without_a_token_is_one_clear_error(edge):
    env = {"PRIVATE_PYPI_USERNAME": READER}
    line = error_line(invoke("verify", "--repository", edge.index_url, env=env))

    assert "PRIVATE_PYPI_TOKEN is not set" in line


def test_the_token_goes_only_to_the_index_origin():
    reader = ReaderCredentials(READER, TOKEN)
    index = "https://packages.acme.dev/simple/"

    expected = "Basic " + base64.b64encode(f"{READER}:{TOKEN}".encode()).decode()
    assert reader.authorization(index + "acme-hello/", index) == expected
    for elsewhere in (
        "https://files.example.com/acme_hello-1.0.0.whl",
        "http://packages.acme.dev/simple/acme-hello/",
        "https://packages.acme.dev:8443/simple/",
        "https://packages.acme.dev.evil.example/simple/",
    ):
        assert reader.authorization(elsewhere, index) is None, elsewhere
