"""Storage backends, and choosing one from a repository URL and the environment.

The S3 backend is imported when it is first used: boto3 takes most of a second to
import, which a command on a local directory (or its --help) never needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from ..advice import Command
from ..contract import BUCKET_VARIABLE, REPOSITORY_VARIABLE, SEED_BUCKET_VARIABLE
from ..errors import ConfigurationError
from .base import ObjectInfo, RetryPolicy, Storage, StoredObject
from .local import LocalStorage

if TYPE_CHECKING:
    from .s3 import S3Settings, S3Storage

__all__ = [
    "LocalStorage",
    "ObjectInfo",
    "RetryPolicy",
    "S3Settings",
    "S3Storage",
    "Storage",
    "StoredObject",
    "open_storage",
    "repository_url",
]

BUCKET_SETTINGS = (BUCKET_VARIABLE, SEED_BUCKET_VARIABLE)


def __getattr__(name: str) -> Any:
    if name in {"S3Settings", "S3Storage"}:
        from . import s3

        return getattr(s3, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def repository_url(explicit: str | None, env: Mapping[str, str]) -> str:
    """The repository to use: the one given, else the one the environment names
    (PRIVATE_PYPI_REPOSITORY, then the bucket of AWS_PYPI_BUCKET or S3_PYPI_BUCKET)."""
    if explicit:
        return explicit
    if env.get(REPOSITORY_VARIABLE):
        return env[REPOSITORY_VARIABLE]
    for name in BUCKET_SETTINGS:
        if env.get(name):
            return f"s3://{env[name]}"
    raise ConfigurationError(
        "no repository configured: pass --repository s3://BUCKET (or a directory), or set "
        f"{REPOSITORY_VARIABLE}, {BUCKET_VARIABLE} (the GitHub secret) or "
        f"{SEED_BUCKET_VARIABLE} (from ",
        Command("env", checkout_only=True),
        ")",
    )


def open_storage(url: str, env: Mapping[str, str]) -> Storage:
    """Open `s3://BUCKET`, `file:///path` or a plain path, with settings from `env`."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc or parsed.path.strip("/"):
            raise ConfigurationError(
                f"bad repository {url!r}: use s3://BUCKET, with no path after the bucket"
            )
        from ..aws import Access
        from .s3 import S3Settings, S3Storage

        return S3Storage(S3Settings(parsed.netloc, Access.from_env(env, "s3")))
    if parsed.scheme == "file":
        return LocalStorage(Path(unquote(parsed.path)))
    if parsed.scheme and len(parsed.scheme) > 1:  # not a Windows drive letter
        raise ConfigurationError(
            f"bad repository {url!r}: use s3://BUCKET, file:///path or a directory"
        )
    return LocalStorage(Path(url))
