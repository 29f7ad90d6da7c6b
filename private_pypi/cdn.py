"""Tell CloudFront which pages changed, so readers see a publish at once.

Pages are cached at the edge; files never change, so only the pages a command wrote are
invalidated, in one request, with the credentials and endpoint that publishing uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import aws
from .contract import (
    ACCESS_KEY_ID_VARIABLE,
    BROWSE_PREFIX,
    BROWSE_ROOT,
    DISTRIBUTION_ID_OUTPUT,
    DISTRIBUTION_ID_VARIABLE,
    INDEX_PREFIX,
    PAGE_MAX_AGE_SECONDS,
    SECRET_ACCESS_KEY_VARIABLE,
)
from .errors import ConfigurationError, PrivatePypiError

# CloudFront refuses a batch of more paths than this; one wildcard counts as one path.
MAX_PATHS = 3000
# Every page: the simple index and the browse pages (a wildcard counts as one path).
EVERY_PAGE = (f"/{INDEX_PREFIX}*", f"/{BROWSE_PREFIX}*", f"/{BROWSE_ROOT}", "/")

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

_ALREADY_PUBLISHED = "the repository itself is up to date"
_EXPIRY = f"its cached pages expire within a minute (max-age={PAGE_MAX_AGE_SECONDS})"


class CdnError(PrivatePypiError):
    """CloudFront refused the invalidation; the repository itself was updated."""


def invalidation_paths(page_keys: Sequence[str]) -> list[str]:
    """The CloudFront paths of the changed pages: each once, in the order first written."""
    paths = list(dict.fromkeys(path for key in page_keys for path in _paths_of(key)))
    return list(EVERY_PAGE) if len(paths) > MAX_PATHS else paths


def _paths_of(key: str) -> tuple[str, ...]:
    """The paths a page is served at: the browse root page at `/` too (the distribution's
    default root object, which CloudFront caches under `/`)."""
    return (f"/{key}", "/") if key == BROWSE_ROOT else (f"/{key}",)


def invalidate(
    distribution_id: str,
    page_keys: Sequence[str],
    env: Mapping[str, str],
    *,
    config: Config = CLIENT_CONFIG,
) -> list[str]:
    """Create one invalidation of the changed pages; return the paths invalidated.

    `config`: botocore's retries and timeouts, e.g. fewer retries in tests."""
    paths = invalidation_paths(page_keys)
    if not paths:
        return []
    try:
        client = aws.cloudfront_client(aws.Access.from_env(env, "cloudfront"), config)
    except ConfigurationError as error:
        raise CdnError(f"{error}; {_ALREADY_PUBLISHED}") from None
    try:
        client.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                # CloudFront treats a repeated reference as the same request: never reuse one.
                "CallerReference": f"private-pypi-{uuid.uuid4()}",
            },
        )
    except (ClientError, BotoCoreError) as error:
        raise _failure(aws.failure(error), distribution_id) from None
    return paths


def _failure(failure: aws.Failure, distribution_id: str) -> CdnError:
    """One line that says what went wrong, what to do, and that the publish itself stands."""
    problem, then = _explain(failure, distribution_id)
    return CdnError(f"{problem}; {_ALREADY_PUBLISHED}" + (f", and {then}" if then else ""))


def _explain(failure: aws.Failure, distribution: str) -> tuple[str, str | None]:
    """What went wrong and what to do; then what else to know, if anything."""
    code, message = failure.code, failure.message
    if code == "NoSuchDistribution":
        return (
            f"CloudFront distribution {distribution} does not exist: set "
            f"{DISTRIBUTION_ID_VARIABLE} to `pulumi stack output {DISTRIBUTION_ID_OUTPUT}`",
            None,
        )
    kind = aws.Kind.THROTTLED if code == "TooManyInvalidationsInProgress" else failure.kind
    match kind:
        case aws.Kind.NO_CREDENTIALS:
            return (
                "no AWS credentials to invalidate CloudFront",
                f"set {ACCESS_KEY_ID_VARIABLE} and {SECRET_ACCESS_KEY_VARIABLE} for next time",
            )
        case aws.Kind.NETWORK:
            return f"could not reach CloudFront to invalidate {distribution} ({message})", _EXPIRY
        case aws.Kind.CLIENT:
            return (
                f"could not invalidate CloudFront distribution {distribution} ({message})",
                _EXPIRY,
            )
        case aws.Kind.THROTTLED:
            return f"CloudFront is busy with other invalidations of {distribution}", _EXPIRY
        case aws.Kind.REJECTED_CREDENTIALS:
            return (
                f"AWS rejected the credentials ({code}) when invalidating CloudFront: set "
                f"{aws.KEY_VARIABLES} to a current key",
                None,
            )
        case aws.Kind.ACCESS_DENIED:
            return (
                f"access denied to invalidate CloudFront distribution {distribution}: use the "
                "deployer's key from the stack that owns it",
                None,
            )
        case aws.Kind.REFUSED:
            return f"CloudFront refused to invalidate {distribution}: {code} {message}", None
