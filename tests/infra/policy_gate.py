"""The bucket policy's conditional Deny statements, enforced in front of moto.

moto evaluates a bucket policy's Principal, Action and Resource but ignores Condition, so
the statements that guard writes (If-None-Match on immutable files, no SSE-C) would pass
unchecked. This WSGI middleware evaluates exactly those statements, from the rendered
policy document, the way S3 documents them: the request's S3 action and key, and the
condition keys s3:if-none-match, s3:ObjectCreationOperation (false for
CreateMultipartUpload and UploadPart, true for PutObject, CompleteMultipartUpload and
CopyObject) and s3:x-amz-server-side-encryption-customer-algorithm. An operator or key it
does not know raises, so a new statement cannot pass here unevaluated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qs, unquote

ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Explicitly denied by the bucket policy</Message></Error>"
)


@dataclass(frozen=True)
class S3Request:
    action: str
    resource: str
    context: dict[str, str | None]

    @classmethod
    def of(cls, environ: dict[str, Any]) -> S3Request | None:
        """The object-level request, or None for anything else (bucket calls, moto-api)."""
        path = unquote(environ.get("PATH_INFO", ""))
        bucket, _, key = path.lstrip("/").partition("/")
        if not key or bucket == "moto-api":
            return None
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        method = environ["REQUEST_METHOD"]
        if method == "DELETE":
            action = "s3:AbortMultipartUpload" if "uploadId" in query else "s3:DeleteObject"
            creates = None
        elif method in {"PUT", "POST"}:
            action = "s3:PutObject"
            part = method == "PUT" and "partNumber" in query
            creates = not (part or (method == "POST" and "uploads" in query))
        else:
            return None
        return cls(
            action=action,
            resource=f"arn:aws:s3:::{bucket}/{key}",
            context={
                "s3:if-none-match": environ.get("HTTP_IF_NONE_MATCH"),
                "s3:ObjectCreationOperation": None if creates is None else str(creates).lower(),
                "s3:x-amz-server-side-encryption-customer-algorithm": environ.get(
                    "HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_CUSTOMER_ALGORITHM"
                ),
                # The tests speak HTTP to 127.0.0.1 in place of S3's HTTPS endpoint.
                "aws:SecureTransport": "true",
            },
        )


def denied_by(policy: dict[str, Any], request: S3Request) -> list[str]:
    """The Sids of the policy's Deny statements that refuse this request."""
    return [
        statement["Sid"]
        for statement in policy["Statement"]
        if statement["Effect"] == "Deny"
        and statement["Principal"] == "*"
        and _matches(statement["Action"], request.action)
        and _matches(statement["Resource"], request.resource)
        and _holds(statement.get("Condition", {}), request.context)
    ]


def _matches(patterns: str | list[str], value: str) -> bool:
    patterns = [patterns] if isinstance(patterns, str) else patterns
    return any(fnmatchcase(value, pattern) for pattern in patterns)


def _holds(condition: dict[str, dict[str, str]], context: dict[str, str | None]) -> bool:
    """Every operator and every key must hold (IAM ANDs them)."""
    for operator, tests in condition.items():
        for key, expected in tests.items():
            if key not in context:
                raise ValueError(f"the policy gate cannot evaluate condition key {key}")
            actual = context[key]
            if operator == "Null":
                if (actual is None) != (expected == "true"):
                    return False
            elif operator == "Bool":
                if actual is None or actual != expected:
                    return False
            else:
                raise ValueError(f"the policy gate cannot evaluate operator {operator}")
    return True


class BucketPolicyGate:
    """WSGI middleware: 403 for what the bucket's Deny statements refuse, else pass on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.policies: dict[str, dict[str, Any]] = {}

    def enforce(self, bucket: str, policy: dict[str, Any]) -> None:
        self.policies[bucket] = policy

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = S3Request.of(environ)
        bucket = request.resource.split(":::", 1)[1].split("/", 1)[0] if request else None
        policy = self.policies.get(bucket or "")
        if request is not None and policy is not None and denied_by(policy, request):
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(ACCESS_DENIED)))],
            )
            return [ACCESS_DENIED]
        return self.app(environ, start_response)
