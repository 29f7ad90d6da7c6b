"""LocalStack's S3 on 127.0.0.1: a second S3 stand-in, written by none of us.

moto is the model the suite was built against; LocalStack's S3 is an implementation of its
own, so the tests that run against both check our reading of S3, not only moto's. It runs
on the host, without docker, from `localstack-core` in an environment of its own (its
pins conflict with ours), which `environment()` makes on first use:

- under `.cache/localstack/` in this checkout (git ignores it), named by the hash of
  tests/localstack-requirements.txt, so a change of pins makes a new one;
- with a Python 3.12 or 3.13 (what localstack-core supports): this one, one on PATH,
  one of pyenv's, or one uv has or downloads;
- by uv, from the pinned requirements; one process at a time (a lock file), and marked
  ready only once complete, so a killed install is made again.

`LocalStack` starts it with S3 only, bound to 127.0.0.1, with no analytics, no DNS server,
no persistence, and its files (and HOME) in a temporary directory it removes on stop.
Anything that keeps it from starting is `Unavailable`, with the reason: the tests that
need it are skipped with that reason, and `python -m tests.localstack` (which
`invoke test` runs first) prints it in one line.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "tests" / "localstack-requirements.txt"
CACHE = ROOT / ".cache" / "localstack"
# localstack-core supports these.
PYTHONS = ("3.13", "3.12")
INSTALL_TIMEOUT = 600
# It is ready in about 12 s on an idle machine. On two cores running the suite's other
# worker, and a second LocalStack, it has taken over two minutes.
START_TIMEOUT = 300
STOP_TIMEOUT = 5
HEALTH_PATH = "/_localstack/health"

# LocalStack's settings (localstack/config.py). Everything but S3 is off, and so is
# everything that would reach out or stay behind.
SETTINGS = {
    "SERVICES": "s3",
    # S3 is loaded at start, so that "ready" means S3 answers.
    "EAGER_SERVICE_LOADING": "1",
    # The default server, twisted, listens on every interface whatever GATEWAY_LISTEN
    # says; hypercorn binds the address given.
    "GATEWAY_SERVER": "hypercorn",
    # No analytics or usage events.
    "DISABLE_EVENTS": "1",
    # Its TLS certificate is made here, not downloaded.
    "SKIP_SSL_CERT_DOWNLOAD": "1",
    # No DNS server (it would listen on 0.0.0.0:53).
    "DNS_ADDRESS": "0",
    "PERSISTENCE": "0",
    "LS_LOG": "warn",
}


class Unavailable(Exception):
    """LocalStack cannot run here; str() says why, in one line."""


def environment() -> Path:
    """The Python of LocalStack's environment, made first if need be."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        raise Unavailable("uv is not on PATH, and it installs LocalStack's environment")
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = CACHE / digest
    python = venv / "bin" / "python"
    ready = venv / "ready"
    CACHE.mkdir(parents=True, exist_ok=True)
    with _locked(CACHE / ".lock"):
        if ready.is_file() and python.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        base = _base_python(uv)
        _run([uv, "venv", "--quiet", "--python", base, str(venv)], "making its environment")
        _run(
            [uv, "pip", "install", "--quiet", "--python", str(python), "-r", str(REQUIREMENTS)],
            "installing localstack-core",
        )
        ready.write_text(base + "\n")
    return python


def _base_python(uv: str) -> str:
    """A Python LocalStack supports: found here, else one uv has or can download."""
    for candidate in _local_pythons():
        if _version(candidate) in PYTHONS:
            return candidate
    for version in PYTHONS:
        found = _run([uv, "python", "find", "--managed-python", version], "", check=False)
        if found.returncode == 0:
            return found.stdout.strip()
    version = PYTHONS[-1]
    _run(
        [uv, "python", "install", version],
        f"no Python {' or '.join(PYTHONS)} is here, and installing {version} with uv",
    )
    return version


def _local_pythons() -> Iterator[str]:
    yield sys.executable
    for version in PYTHONS:
        if found := shutil.which(f"python{version}"):
            yield found
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for version in PYTHONS:
        for home in sorted((pyenv / "versions").glob(f"{version}.*"), reverse=True):
            yield str(home / "bin" / f"python{version}")


def _version(python: str) -> str:
    """The major.minor version of `python`, or "" if it does not run (a pyenv shim of a
    version not selected fails)."""
    try:
        ran = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return ran.stdout.strip() if ran.returncode == 0 else ""


def _run(command: list[str], doing: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `command`; Unavailable, saying what it was `doing`, if it cannot run or (with
    `check`) fails."""
    try:
        ran = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{doing or command[0]} took over {INSTALL_TIMEOUT} s") from None
    except OSError as error:
        raise Unavailable(f"cannot run {command[0]}: {error.strerror}") from None
    if check and ran.returncode != 0:
        raise Unavailable(f"{doing} failed: {_last_line(ran.stderr or ran.stdout)}")
    return ran


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time: the suite's workers, and `invoke test` before them."""
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class LocalStack:
    """LocalStack's S3 in a process of its own: `start()` and `stop()` it, or use `with`."""

    def __init__(self, python: Path) -> None:
        self._python = python
        self._process: subprocess.Popen[bytes] | None = None
        self._directory = Path(tempfile.mkdtemp(prefix="private-pypi-localstack-"))
        self._log = self._directory / "localstack.log"
        self.endpoint = ""

    def start(self) -> None:
        """Start it and wait until S3 answers; Unavailable, with nothing left running or
        on disk, if it does not."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        port = _free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        home = self._directory / "home"
        home.mkdir()
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "TMPDIR": str(self._directory),
            "FILESYSTEM_ROOT": str(self._directory / "filesystem"),
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "LOCALSTACK_HOST": f"127.0.0.1:{port}",
            **SETTINGS,
        }
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [str(self._python), "-m", "localstack.runtime.main"],
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise Unavailable(
                    f"LocalStack stopped as it started (exit code {self._process.returncode}): "
                    f"{_last_line(self._log.read_text(errors='replace'))}"
                )
            if self._s3_running():
                return
            time.sleep(0.2)
        raise Unavailable(
            f"LocalStack's S3 was not ready after {START_TIMEOUT} s (its last line: "
            f"{_last_line(self._log.read_text(errors='replace'))})"
        )

    def _s3_running(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint + HEALTH_PATH, timeout=2) as answer:
                health = json.load(answer)
        except (OSError, urllib.error.URLError, ValueError):
            return False
        return health.get("services", {}).get("s3") in {"running", "available"}

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    """Make LocalStack's environment if need be, and say in one line whether the tier runs."""
    started = time.monotonic()
    try:
        python = environment()
    except Unavailable as why:
        print(f"LocalStack tier: skipped, {why}", flush=True)
        return
    took = time.monotonic() - started
    print(f"LocalStack tier: runs, with {python.parent.parent} (ready in {took:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
