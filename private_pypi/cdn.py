"""Tell CloudFront which pages changed, so readers see a publish at once.

Pages are cached at the edge; files never change, so only the pages a command wrote are
invalidated, in one request, with the credentials and endpoint that publishing uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from .errors import PrivatePypiError
from .storage.s3 import CREDENTIAL_CODES

# CloudFront refuses a batch of more paths than this; one wildcard counts as one path.
MAX_PATHS = 3000
EVERY_PAGE = "/simple/*"

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

_ALREADY_PUBLISHED = "the repository itself is up to date"


class CdnError(PrivatePypiError):
    """CloudFront refused the invalidation; the repository itself was updated."""


def invalidation_paths(page_keys: Sequence[str]) -> list[str]:
    """The CloudFront paths of the changed pages: each once, in the order first written."""
    paths = list(dict.fromkeys(f"/{key}" for key in page_keys))
    return [EVERY_PAGE] if len(paths) > MAX_PATHS else paths


def invalidate(distribution_id: str, page_keys: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Create one invalidation of the changed pages; return the paths invalidated."""
    paths = invalidation_paths(page_keys)
    if not paths:
        return []
    try:
        _client(env).create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                # CloudFront treats a repeated reference as the same request: never reuse one.
                "CallerReference": f"private-pypi-{uuid.uuid4()}",
            },
        )
    except (ClientError, BotoCoreError) as error:
        raise _failure(error, distribution_id) from None
    return paths


def _client(env: Mapping[str, str]) -> Any:
    session = boto3.Session(
        aws_access_key_id=env.get("AWS_PYPI_ACCESS_KEY_ID") or None,
        aws_secret_access_key=env.get("AWS_PYPI_SECRET_ACCESS_KEY") or None,
        # CloudFront is global: its API lives in us-east-1 whatever the bucket's region.
        region_name="us-east-1",
    )
    endpoint = env.get("AWS_ENDPOINT_URL_CLOUDFRONT") or env.get("AWS_ENDPOINT_URL") or None
    return session.client("cloudfront", endpoint_url=endpoint, config=CLIENT_CONFIG)


def _failure(error: ClientError | BotoCoreError, distribution_id: str) -> CdnError:
    """One line that says what went wrong, what to do, and that the publish itself stands."""
    if isinstance(error, NoCredentialsError):
        return CdnError(
            f"no AWS credentials to invalidate CloudFront; {_ALREADY_PUBLISHED}, and set "
            "AWS_PYPI_ACCESS_KEY_ID and AWS_PYPI_SECRET_ACCESS_KEY for next time"
        )
    if isinstance(error, BotoCoreError):
        return CdnError(
            f"could not reach CloudFront to invalidate {distribution_id} ({error}); "
            f"{_ALREADY_PUBLISHED}, and its cached pages expire within a minute (max-age=60)"
        )
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "NoSuchDistribution":
        return CdnError(
            f"CloudFront distribution {distribution_id} does not exist: set "
            "AWS_PYPI_DISTRIBUTION_ID to `pulumi stack output distributionId`; "
            f"{_ALREADY_PUBLISHED}"
        )
    if code in CREDENTIAL_CODES:
        return CdnError(
            f"AWS rejected the credentials ({code}) when invalidating CloudFront: set "
            "AWS_PYPI_ACCESS_KEY_ID / AWS_PYPI_SECRET_ACCESS_KEY to a current key; "
            f"{_ALREADY_PUBLISHED}"
        )
    if code == "AccessDenied" or status == 403:
        return CdnError(
            f"access denied to invalidate CloudFront distribution {distribution_id}: use the "
            f"deployer's key from the stack that owns it; {_ALREADY_PUBLISHED}"
        )
    if code in {"TooManyInvalidationsInProgress", "Throttling"}:
        return CdnError(
            f"CloudFront is busy with other invalidations of {distribution_id}; "
            f"{_ALREADY_PUBLISHED}, and its cached pages expire within a minute (max-age=60)"
        )
    message = error.response.get("Error", {}).get("Message", str(error))
    return CdnError(
        f"CloudFront refused to invalidate {distribution_id}: {code} {message}; "
        f"{_ALREADY_PUBLISHED}"
    )
