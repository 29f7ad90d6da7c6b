"""The index's access policies, as pure functions from ARNs to JSON-able documents.

The components render these into the bucket and user policies; the tests read the same
documents, and the moto conformance test enforces them.
"""

from __future__ import annotations

from typing import Any

from private_pypi.contract import (
    BROWSE_PREFIX,
    BROWSE_ROOT,
    DISTRIBUTION_SUFFIXES,
    INDEX_PREFIX,
    METADATA_SUFFIX,
    STATIC_PREFIX,
    YANK_SUFFIX,
)

# Files that never change once published.
IMMUTABLE_SUFFIXES = (*DISTRIBUTION_SUFFIXES, METADATA_SUFFIX)
# What `invoke delete` and `invoke unyank` remove: a release's files, metadata and yank marker.
DELETABLE_SUFFIXES = (*IMMUTABLE_SUFFIXES, YANK_SUFFIX)

Statement = dict[str, Any]
PolicyDocument = dict[str, Any]


def published_keys(bucket_arn: str) -> list[str]:
    """Every key the commands write and readers read: the simple index, and beside it the
    browse pages and their stylesheet and script."""
    return [
        f"{bucket_arn}/{INDEX_PREFIX}*",
        f"{bucket_arn}/{BROWSE_ROOT}",
        f"{bucket_arn}/{BROWSE_PREFIX}*",
        f"{bucket_arn}/{STATIC_PREFIX}*",
    ]


def public_index_bucket_policy(bucket_arn: str) -> PolicyDocument:
    """S3-only mode: anyone may read the index under simple/ and the browse pages beside
    it; nothing else is public."""
    return _document(
        _read_index("*", bucket_arn, condition={}),
        _list_index("*", bucket_arn, condition={}),
        *_write_guards(bucket_arn),
    )


def cloudfront_bucket_policy(bucket_arn: str, distribution_arn: str) -> PolicyDocument:
    """CDN mode: the bucket is private; only this distribution reads it, through OAC."""
    from_distribution = {"StringEquals": {"AWS:SourceArn": distribution_arn}}
    cloudfront = {"Service": "cloudfront.amazonaws.com"}
    return _document(
        _read_index(cloudfront, bucket_arn, condition=from_distribution),
        _list_index(cloudfront, bucket_arn, condition=from_distribution),
        *_write_guards(bucket_arn),
    )


def deployer_policy(bucket_arn: str, distribution_arn: str | None) -> PolicyDocument:
    """What `invoke publish`, `yank`, `delete` and `reindex` need, and nothing else.

    Everything is under simple/, or is a browse page beside it (`published_keys`).
    Conditional writes (If-Match / If-None-Match) need only s3:PutObject;
    AbortMultipartUpload lets a failed large upload clean up its parts. Deletes reach only a
    release's files, metadata and yank markers, never a page.
    """
    index = f"{bucket_arn}/{INDEX_PREFIX}"
    statements: list[Statement] = [
        {
            "Sid": "ListPackages",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": f"{INDEX_PREFIX}*"}},
        },
        {
            "Sid": "PublishPackages",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": published_keys(bucket_arn),
        },
        {
            "Sid": "DeleteReleases",
            "Effect": "Allow",
            "Action": "s3:DeleteObject",
            "Resource": [f"{index}*{suffix}" for suffix in DELETABLE_SUFFIXES],
        },
    ]
    if distribution_arn is not None:
        statements.append(
            {
                "Sid": "RefreshIndexPages",
                "Effect": "Allow",
                "Action": "cloudfront:CreateInvalidation",
                "Resource": distribution_arn,
            }
        )
    return _document(*statements)


def _document(*statements: Statement) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _read_index(principal: Any, bucket_arn: str, *, condition: dict[str, Any]) -> Statement:
    return _with_condition(
        {
            "Sid": "ReadIndex",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:GetObject",
            "Resource": published_keys(bucket_arn),
        },
        condition,
    )


def _list_index(principal: Any, bucket_arn: str, *, condition: dict[str, Any]) -> Statement:
    """Lets S3 answer 404, not 403, for a key that is not there.

    S3 hides whether a key exists from readers who may not list the bucket, and answers
    them 403; uv stops at a 403 from a higher-priority index instead of trying the next
    one. So readers may list, but only under simple/: when S3 decides between 403 and
    404 it evaluates s3:ListBucket with the requested key as s3:prefix, so this prefix
    condition still yields a 404 for simple/missing-project/ (see
    docs/concepts/security.md, "Why readers may list simple/").
    """
    return _with_condition(
        {
            "Sid": "ListIndex",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
        },
        {**condition, "StringLike": {"s3:prefix": f"{INDEX_PREFIX}*"}},
    )


def _deny(sid: str, action: str, resource: str | list[str], condition: dict[str, Any]) -> Statement:
    """A statement that denies every principal, whatever else allows it."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": condition,
    }


def _deny_insecure_transport(bucket_arn: str) -> Statement:
    return _deny(
        "DenyInsecureTransport",
        "s3:*",
        [bucket_arn, f"{bucket_arn}/*"],
        {"Bool": {"aws:SecureTransport": "false"}},
    )


def _write_guards(bucket_arn: str) -> tuple[Statement, ...]:
    """Deny statements that hold for every principal, a stolen deployer key included."""
    return (
        _deny_insecure_transport(bucket_arn),
        _deny_overwriting_files(bucket_arn),
        _deny_customer_keys(bucket_arn),
    )


def _deny_overwriting_files(bucket_arn: str) -> Statement:
    """A published file is never replaced: writing one needs If-None-Match. Nor is the
    browse pages' stylesheet or script (their names carry their content's hash), so a
    stolen key cannot put a script of its own into every browse page through them.

    As AWS's "Enforce conditional writes" guide shows, s3:ObjectCreationOperation is false
    for CreateMultipartUpload and UploadPart, which take no conditional headers, so only
    PutObject and CompleteMultipartUpload (and CopyObject) must carry If-None-Match.
    """
    return _deny(
        "DenyOverwritingFiles",
        "s3:PutObject",
        [
            *(f"{bucket_arn}/*{suffix}" for suffix in IMMUTABLE_SUFFIXES),
            f"{bucket_arn}/{STATIC_PREFIX}*",
        ],
        {
            "Null": {"s3:if-none-match": "true"},
            "Bool": {"s3:ObjectCreationOperation": "true"},
        },
    )


def _deny_customer_keys(bucket_arn: str) -> Statement:
    """No SSE-C: an object encrypted with a key only the writer holds is unreadable to all."""
    return _deny(
        "DenyCustomerProvidedKeys",
        "s3:PutObject",
        f"{bucket_arn}/*",
        {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
    )


def _with_condition(statement: Statement, condition: dict[str, Any]) -> Statement:
    return {**statement, "Condition": condition} if condition else statement


def github_oidc_trust_policy(provider_arn: str, subject: str) -> PolicyDocument:
    """Who may assume the publishing role: GitHub Actions runs whose token says `subject`.

    `aud` must be sts.amazonaws.com (what aws-actions/configure-aws-credentials asks for),
    and `sub` names the repository (`repo:OWNER/NAME:*`), or one of its refs or environments.
    """
    host = provider_arn.rsplit("oidc-provider/", 1)[1]
    return _document(
        {
            "Sid": "GitHubActionsOfOneRepository",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{host}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{host}:sub": subject},
            },
        }
    )
