"""The access policies, read statement by statement.

moto ignores Condition, so the conditional statements (TLS only, CloudFront's source ARN,
the listing prefixes) are checked here; test_conformance.py enforces the rest, the write
guards through the policy gate (policy_gate.py), whose reading of the guards' conditions
is checked here too.
"""

from __future__ import annotations

import pytest

from components.policies import (
    DELETABLE_SUFFIXES,
    IMMUTABLE_SUFFIXES,
    cloudfront_bucket_policy,
    deployer_policy,
    public_index_bucket_policy,
)
from private_pypi import layout

from .policy_gate import S3Request, denied_by

BUCKET_ARN = "arn:aws:s3:::acme-pypi-production"
DISTRIBUTION_ARN = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHEXAMPLE"
BUCKET_POLICIES = {
    "s3-only": public_index_bucket_policy(BUCKET_ARN),
    "cdn": cloudfront_bucket_policy(BUCKET_ARN, DISTRIBUTION_ARN),
}


def statements(document: dict) -> dict[str, dict]:
    return {statement["Sid"]: statement for statement in document["Statement"]}


def actions(statement: dict) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


@pytest.mark.parametrize("mode", BUCKET_POLICIES)
def test_both_modes_refuse_requests_without_tls(mode):
    deny = statements(BUCKET_POLICIES[mode])["DenyInsecureTransport"]

    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == "s3:*"
    assert deny["Resource"] == [BUCKET_ARN, f"{BUCKET_ARN}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


PUBLISHED = [
    f"{BUCKET_ARN}/simple/*",
    f"{BUCKET_ARN}/index.html",
    f"{BUCKET_ARN}/project/*",
    f"{BUCKET_ARN}/static/*",
]


@pytest.mark.parametrize("mode", BUCKET_POLICIES)
def test_readers_may_get_only_the_index_and_the_browse_pages(mode):
    read = statements(BUCKET_POLICIES[mode])["ReadIndex"]

    assert read["Effect"] == "Allow"
    assert actions(read) == {"s3:GetObject"}
    assert read["Resource"] == PUBLISHED


@pytest.mark.parametrize("mode", BUCKET_POLICIES)
def test_readers_may_list_under_simple_so_missing_projects_are_404(mode):
    listing = statements(BUCKET_POLICIES[mode])["ListIndex"]

    assert actions(listing) == {"s3:ListBucket"}
    assert listing["Resource"] == BUCKET_ARN
    assert listing["Condition"]["StringLike"] == {"s3:prefix": "simple/*"}


@pytest.mark.parametrize("mode", BUCKET_POLICIES)
def test_nothing_else_is_allowed(mode):
    allowed = [s for s in BUCKET_POLICIES[mode]["Statement"] if s["Effect"] == "Allow"]

    assert sorted(s["Sid"] for s in allowed) == ["ListIndex", "ReadIndex"]


def test_s3_only_readers_are_anonymous():
    for sid in ("ReadIndex", "ListIndex"):
        statement = statements(BUCKET_POLICIES["s3-only"])[sid]
        assert statement["Principal"] == "*"
        assert set(statement.get("Condition", {})) <= {"StringLike"}


def test_cdn_reader_is_only_this_distribution():
    for sid in ("ReadIndex", "ListIndex"):
        statement = statements(BUCKET_POLICIES["cdn"])[sid]
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"AWS:SourceArn": DISTRIBUTION_ARN}


def test_deployer_publishes_the_index_and_the_browse_pages_only():
    document = statements(deployer_policy(BUCKET_ARN, None))

    assert set(document) == {"ListPackages", "PublishPackages", "DeleteReleases"}
    assert actions(document["ListPackages"]) == {"s3:ListBucket"}
    assert document["ListPackages"]["Resource"] == BUCKET_ARN
    assert document["ListPackages"]["Condition"] == {"StringLike": {"s3:prefix": "simple/*"}}
    assert actions(document["PublishPackages"]) == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
    }
    assert document["PublishPackages"]["Resource"] == PUBLISHED
    assert all(s["Effect"] == "Allow" and "Principal" not in s for s in document.values())


def test_deployer_deletes_release_files_and_yank_markers_never_pages():
    delete = statements(deployer_policy(BUCKET_ARN, None))["DeleteReleases"]

    assert actions(delete) == {"s3:DeleteObject"}
    assert sorted(delete["Resource"]) == sorted(
        f"{BUCKET_ARN}/simple/*{suffix}"
        for suffix in (".whl", ".tar.gz", ".zip", ".metadata", ".yank")
    )


@pytest.mark.parametrize("mode", BUCKET_POLICIES)
def test_both_modes_refuse_overwriting_a_published_file(mode):
    deny = statements(BUCKET_POLICIES[mode])["DenyOverwritingFiles"]

    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Action"] == "s3:PutObject"
    assert sorted(deny["Resource"]) == sorted(
        [
            *(f"{BUCKET_ARN}/*{suffix}" for suffix in (".whl", ".tar.gz", ".zip", ".metadata")),
            f"{BUCKET_ARN}/static/*",
        ]
    )
    # AWS's "Enforce conditional writes" example: multipart steps are exempt.
    assert deny["Condition"] == {
        "Null": {"s3:if-none-match": "true"},
        "Bool": {"s3:ObjectCreationOperation": "true"},
    }


@pytest.mark.parametrize("mode", BUCKET_POLICIES)
def test_both_modes_refuse_customer_provided_encryption_keys(mode):
    deny = statements(BUCKET_POLICIES[mode])["DenyCustomerProvidedKeys"]

    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Action"] == "s3:PutObject"
    assert deny["Resource"] == f"{BUCKET_ARN}/*"
    assert deny["Condition"] == {
        "Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}
    }


WHEEL = "simple/acme/acme-1.0-py3-none-any.whl"


def request(method: str, key: str, query: str = "", **headers: str) -> S3Request:
    environ = {"REQUEST_METHOD": method, "PATH_INFO": f"/acme-pypi-production/{key}"}
    environ["QUERY_STRING"] = query
    environ |= {f"HTTP_{name.upper()}": value for name, value in headers.items()}
    parsed = S3Request.of(environ)
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(
    ("case", "method", "key", "query", "headers", "denied"),
    [
        ("put-wheel", "PUT", WHEEL, "", {}, ["DenyOverwritingFiles"]),
        ("put-wheel-if-none-match", "PUT", WHEEL, "", {"if_none_match": "*"}, []),
        ("put-page", "PUT", "simple/acme/index.html", "", {}, []),
        ("put-browse-page", "PUT", "project/acme/index.html", "", {}, []),
        ("put-stylesheet", "PUT", "static/browse.0123.css", "", {}, ["DenyOverwritingFiles"]),
        (
            "put-stylesheet-if-none-match",
            "PUT",
            "static/browse.0123.css",
            "",
            {"if_none_match": "*"},
            [],
        ),
        ("create-multipart", "POST", WHEEL, "uploads=", {}, []),
        ("upload-part", "PUT", WHEEL, "partNumber=1&uploadId=u", {}, []),
        ("complete", "POST", WHEEL, "uploadId=u", {}, ["DenyOverwritingFiles"]),
        ("complete-if-none-match", "POST", WHEEL, "uploadId=u", {"if_none_match": "*"}, []),
        (
            "sse-c",
            "PUT",
            "simple/acme/index.html",
            "",
            {"x_amz_server_side_encryption_customer_algorithm": "AES256"},
            ["DenyCustomerProvidedKeys"],
        ),
        ("abort", "DELETE", WHEEL, "uploadId=u", {}, []),
    ],
)
def test_the_guards_read_as_s3_evaluates_them(case, method, key, query, headers, denied):
    policy = BUCKET_POLICIES["s3-only"]

    assert denied_by(policy, request(method, key, query, **headers)) == denied, case


def test_deployer_invalidates_only_its_distribution():
    document = statements(deployer_policy(BUCKET_ARN, DISTRIBUTION_ARN))

    assert actions(document["RefreshIndexPages"]) == {"cloudfront:CreateInvalidation"}
    assert document["RefreshIndexPages"]["Resource"] == DISTRIBUTION_ARN
    assert all(s["Resource"] != "*" for s in document.values())


def test_the_policies_guard_the_suffixes_the_library_writes():
    assert set(IMMUTABLE_SUFFIXES) == {*layout.DISTRIBUTION_SUFFIXES, layout.METADATA_SUFFIX}
    assert set(DELETABLE_SUFFIXES) == {*IMMUTABLE_SUFFIXES, layout.YANK_SUFFIX}
