"""AWS as publishing meets it: clients built from the environment, and what a failure means.

Every AWS client of the library is made here, from the AWS_PYPI_* variables (or boto3's
standard chain when they are not set), so the rules for the key pair, the region and the
endpoint are written once. And every botocore error is sorted here into the few kinds a
user can act on; S3 and CloudFront each word the message for what the user was doing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, cast

import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    NoCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from .contract import ACCESS_KEY_ID_VARIABLE, REGION_VARIABLE, SECRET_ACCESS_KEY_VARIABLE
from .errors import ConfigurationError

if TYPE_CHECKING:
    from types_boto3_cloudfront import CloudFrontClient
    from types_boto3_s3 import S3Client

Service = Literal["s3", "cloudfront"]

# The variables that name the deployer's key, as messages tell the user to set them.
KEY_VARIABLES = f"{ACCESS_KEY_ID_VARIABLE} / {SECRET_ACCESS_KEY_VARIABLE}"

# A key AWS does not accept: unknown, wrong secret, or an expired session.
CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "InvalidClientTokenId",
    }
)
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "403", "AllAccessDisabled"})
THROTTLING_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"}
)
# Raised while connecting, or while the answer is still on its way.
NETWORK_ERRORS = (
    BotoConnectionError,
    ReadTimeoutError,
    ConnectionClosedError,
    ResponseStreamingError,
)


@dataclass(frozen=True)
class Access:
    """How to reach one AWS service: a key (None: boto3's standard chain), region, endpoint."""

    access_key_id: str | None = None
    secret_access_key: str | None = None
    region: str | None = None
    # From AWS_ENDPOINT_URL: an S3-compatible store, or a test server.
    endpoint_url: str | None = None

    def __repr__(self) -> str:  # never show a credential, even in a traceback
        return f"Access(region={self.region!r}, endpoint_url={self.endpoint_url!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str], service: Service) -> Access:
        """What `invoke publish` uses: the AWS_PYPI_* key when set, both halves or neither;
        AWS_PYPI_REGION, else AWS_REGION; AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL."""
        key_id = env.get(ACCESS_KEY_ID_VARIABLE) or None
        secret = env.get(SECRET_ACCESS_KEY_VARIABLE) or None
        if bool(key_id) != bool(secret):
            missing = SECRET_ACCESS_KEY_VARIABLE if key_id else ACCESS_KEY_ID_VARIABLE
            raise ConfigurationError(
                f"{missing} is not set: set both {ACCESS_KEY_ID_VARIABLE} and "
                f"{SECRET_ACCESS_KEY_VARIABLE}, or neither to use the standard AWS credentials"
            )
        endpoint_variable = f"AWS_ENDPOINT_URL_{service.upper()}"
        return cls(
            access_key_id=key_id,
            secret_access_key=secret,
            region=env.get(REGION_VARIABLE) or env.get("AWS_REGION") or None,
            endpoint_url=env.get(endpoint_variable) or env.get("AWS_ENDPOINT_URL") or None,
        )

    def client(
        self,
        service: Service,
        config: Config,
        botocore_session: botocore.session.Session | None = None,
    ) -> object:
        """A botocore client of `service`: boto3's own clients are these, and importing
        boto3 (with s3transfer, which it imports) costs a publish a third of a second."""
        session = botocore_session or botocore.session.get_session()
        return session.create_client(  # pyright: ignore[reportUnknownMemberType]
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=config,
        )


# boto3's stubs type each service's client; botocore creates the same clients untyped.


def s3_client(
    access: Access, config: Config, botocore_session: botocore.session.Session | None = None
) -> S3Client:
    return cast("S3Client", access.client("s3", config, botocore_session))


def cloudfront_client(access: Access, config: Config) -> CloudFrontClient:
    # CloudFront is global: its API lives in us-east-1 whatever the bucket's region.
    global_access = replace(access, region="us-east-1")
    return cast("CloudFrontClient", global_access.client("cloudfront", config))


class Kind(enum.Enum):
    """What a failed AWS request means to the user who made it."""

    NO_CREDENTIALS = "no credentials were found"
    NETWORK = "the service could not be reached"
    CLIENT = "botocore failed before an answer"
    REJECTED_CREDENTIALS = "the key is unknown, wrong or expired"
    ACCESS_DENIED = "the key may not do this"
    THROTTLED = "the service kept throttling"
    REFUSED = "the service refused, for a reason of its own"


@dataclass(frozen=True)
class Failure:
    """A botocore error, sorted: its kind, and the service's code and status if it answered."""

    kind: Kind
    code: str
    status: int | None
    message: str
    # The bucket's region, which S3 names in a redirect.
    bucket_region: str | None = None


def failure(error: ClientError | BotoCoreError) -> Failure:
    if isinstance(error, NoCredentialsError):
        return Failure(Kind.NO_CREDENTIALS, "", None, str(error))
    if isinstance(error, NETWORK_ERRORS):
        return Failure(Kind.NETWORK, "", None, str(error))
    if isinstance(error, BotoCoreError):
        return Failure(Kind.CLIENT, "", None, str(error))
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    metadata = error.response.get("ResponseMetadata", {})
    status = metadata.get("HTTPStatusCode")
    region = metadata.get("HTTPHeaders", {}).get("x-amz-bucket-region")
    return Failure(
        _kind(code, status),
        code,
        status,
        details.get("Message", str(error)),
        str(region) if region else None,
    )


def _kind(code: str, status: int | None) -> Kind:
    if code in CREDENTIAL_CODES:
        return Kind.REJECTED_CREDENTIALS
    if code in ACCESS_DENIED_CODES or status == 403:
        return Kind.ACCESS_DENIED
    if code in THROTTLING_CODES:
        return Kind.THROTTLED
    return Kind.REFUSED
