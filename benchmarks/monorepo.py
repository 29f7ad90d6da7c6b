"""P3. Build and publish a monorepo of flit_core packages.

Ours: `invoke publish --package ... --no-isolation`, which builds in parallel.
Baseline, the seed's distribute.sh approach: `python -m build --no-isolation` for each
package in turn, then each file uploaded with boto3's upload_file and a hand-written
index.html per project. The baseline is given one boto3 client in this process, where
distribute.sh started the AWS CLI once per file: it is timed at its fastest.

Both use the same backend with the same SOURCE_DATE_EPOCH, and must produce the same
wheels byte for byte: otherwise the comparison would be of different work.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from private_pypi.index import Index
from tests.motoserver import MotoServer

from .measure import run_invoke, run_process
from .one_release import BenchmarkError

# Where `invoke publish` puts what it builds.
SOURCE_DATE_EPOCH = "1700000000"
VERSION = "1.0.0"


@dataclass(frozen=True)
class Monorepo:
    packages: int
    ours_seconds: list[float]
    sequential_seconds: list[float]
    same_wheels: bool
    same_sdists: bool


def make_packages(directory: Path, count: int) -> list[Path]:
    """`count` flit_core packages, each with a module of some size."""
    sources = []
    for number in range(count):
        name, module = f"bench-mono-{number}", f"bench_mono_{number}"
        source = directory / name
        (source / "src" / module).mkdir(parents=True)
        (source / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["flit_core>=3.9,<4"]\n'
            'build-backend = "flit_core.buildapi"\n\n'
            f'[project]\nname = "{name}"\nversion = "{VERSION}"\n'
            f'description = "Benchmark package {number} of a monorepo."\n'
            'requires-python = ">=3.9"\n'
        )
        functions = "\n\n".join(
            f"def function_{n}(value: int) -> int:\n    return value * {n} + {number}\n"
            for n in range(200)
        )
        (source / "src" / module / "__init__.py").write_text(
            f'"""Benchmark package {number}."""\n\n{functions}'
        )
        sources.append(source)
    return sources


def run(server: MotoServer, packages: int, runs: int) -> Monorepo:
    env = {**server.environment(), "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    ours, sequential = [], []
    same_wheels = same_sdists = True
    with tempfile.TemporaryDirectory(prefix="bench-monorepo-") as scratch:
        sources = make_packages(Path(scratch, "src"), packages)
        for number in range(runs):
            bucket = server.create_bucket(f"mono-ours-{number}")
            ours.append(_publish_ours(sources, bucket, env))
            ours_files = _published_hashes(server, bucket, sources)
            if len(ours_files) != 2 * packages:
                raise BenchmarkError(f"invoke publish built {sorted(ours_files)}")

            output = Path(scratch, f"sequential-{number}")
            bucket = server.create_bucket(f"mono-seq-{number}")
            sequential.append(_publish_sequentially(server, sources, output, bucket, env))
            sequential_files = _hashes(output, sources)
            same_wheels &= _same(ours_files, sequential_files, ".whl")
            same_sdists &= _same(ours_files, sequential_files, ".tar.gz")
    if not same_wheels:
        raise BenchmarkError("invoke publish and python -m build made different wheels")
    return Monorepo(packages, ours, sequential, same_wheels, same_sdists)


def _publish_ours(sources: list[Path], bucket: str, env: dict[str, str]) -> float:
    packages = [argument for source in sources for argument in ("--package", str(source))]
    repository = ("--repository", f"s3://{bucket}")
    return run_invoke("publish", *packages, "--no-isolation", *repository, env=env).seconds


def _publish_sequentially(
    server: MotoServer, sources: list[Path], output: Path, bucket: str, env: dict[str, str]
) -> float:
    started = time.perf_counter()
    client = server.client()
    for source in sources:
        built = output / source.name
        command = [
            sys.executable,
            "-m",
            "build",
            "--no-isolation",
            "--outdir",
            str(built),
            str(source),
        ]
        run_process(command, env=env)
        prefix = f"simple/{source.name}/"
        for path in sorted(built.iterdir()):
            client.upload_file(str(path), bucket, prefix + path.name)
        listed = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        names = [item["Key"].removeprefix(prefix) for item in listed]
        links = "\n".join(
            f'<a href="{name}">{name}</a><br>' for name in names if name != "index.html"
        )
        page = f"<!DOCTYPE html>\n<html><body>\n{links}\n</body></html>\n"
        client.put_object(
            Bucket=bucket, Key=prefix + "index.html", Body=page.encode(), ContentType="text/html"
        )
    return time.perf_counter() - started


def _hashes(directory: Path, sources: list[Path]) -> dict[str, str]:
    """sha256 of each file the packages built, by file name."""
    hashes = {}
    for source in sources:
        module = source.name.replace("-", "_")
        for path in directory.rglob(f"{module}-{VERSION}*"):
            hashes[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def _published_hashes(server: MotoServer, bucket: str, sources: list[Path]) -> dict[str, str]:
    """sha256 of each file publish stored, by file name, as its project page lists them:
    publish builds in a directory of its own and removes it."""
    index = Index(server.storage(bucket))
    hashes: dict[str, str] = {}
    for source in sources:
        page = index.project(canonicalize_name(source.name))
        hashes.update({entry.filename: entry.sha256 for entry in page.files} if page else {})
    return hashes


def _same(ours: dict[str, str], theirs: dict[str, str], suffix: str) -> bool:
    mine = {name: digest for name, digest in ours.items() if name.endswith(suffix)}
    other = {name: digest for name, digest in theirs.items() if name.endswith(suffix)}
    return bool(mine) and mine == other
