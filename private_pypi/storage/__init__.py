"""Storage backends, and choosing one from a repository URL and the environment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..aws import Access
from ..contract import BUCKET_VARIABLE, SEED_BUCKET_VARIABLE
from ..errors import ConfigurationError
from .base import ObjectInfo, RetryPolicy, Storage, StoredObject
from .local import LocalStorage
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


def repository_url(explicit: str | None, env: Mapping[str, str]) -> str:
    """The repository to use: the one given, else the bucket the environment names."""
    if explicit:
        return explicit
    for name in BUCKET_SETTINGS:
        if env.get(name):
            return f"s3://{env[name]}"
    raise ConfigurationError(
        "no repository configured: pass --repository s3://BUCKET (or a directory), or set "
        f"{BUCKET_VARIABLE} (the GitHub secret) or {SEED_BUCKET_VARIABLE} "
        "(from `uv run invoke env`)"
    )


def open_storage(url: str, env: Mapping[str, str]) -> Storage:
    """Open `s3://BUCKET`, `file:///path` or a plain path, with settings from `env`."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc or parsed.path.strip("/"):
            raise ConfigurationError(
                f"bad repository {url!r}: use s3://BUCKET, with no path after the bucket"
            )
        return S3Storage(S3Settings(parsed.netloc, Access.from_env(env, "s3")))
    if parsed.scheme == "file":
        return LocalStorage(Path(unquote(parsed.path)))
    if parsed.scheme and len(parsed.scheme) > 1:  # not a Windows drive letter
        raise ConfigurationError(
            f"bad repository {url!r}: use s3://BUCKET, file:///path or a directory"
        )
    return LocalStorage(Path(url))
