"""s3pypi 2.x, the tool we compare with, run as its users run it.

It lives in a throwaway venv under benchmarks/.work/, never in the project's
dependencies. It finds moto through AWS_ENDPOINT_URL (boto3 reads it for S3 and DynamoDB
alike), and locks each page it updates in the DynamoDB table `<bucket>-locks`, which it
discovers by that name: the table is created as its docs say, keyed by `LockID`.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import boto3

from .measure import ProcessRun, compile_bytecode, run_process

REQUIREMENT = "s3pypi>=2,<3"
WORK = Path(__file__).resolve().parent / ".work"
VENV = WORK / "s3pypi-venv"


@dataclass(frozen=True)
class S3PyPI:
    executable: Path
    version: str

    def upload(self, files: list[Path], bucket: str, env: dict[str, str]) -> ProcessRun:
        command = [
            str(self.executable),
            "upload",
            *map(str, files),
            "--bucket",
            bucket,
            "--put-root-index",
        ]
        return run_process(command, env=env)


def install() -> S3PyPI | str:
    """s3pypi in its venv (kept between runs), or why it could not be installed."""
    uv = shutil.which("uv")
    if uv is None:
        return "uv is not installed"
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([uv, "venv", "--quiet", str(VENV)], check=True)
    installed = subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), REQUIREMENT],
        capture_output=True,
        text=True,
    )
    if installed.returncode != 0:
        return f"could not install {REQUIREMENT}: {installed.stderr.strip().splitlines()[-1:]}"
    compile_bytecode(python, VENV)
    version = subprocess.run(
        [str(VENV / "bin" / "s3pypi"), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return S3PyPI(VENV / "bin" / "s3pypi", version)


def create_lock_table(bucket: str, env: dict[str, str]) -> None:
    """The table s3pypi discovers as `<bucket>-locks`, with the key its locker writes."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    dynamodb.create_table(
        TableName=f"{bucket}-locks",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
