"""The access policies, read statement by statement.

moto ignores Condition, so the conditional statements (TLS only, CloudFront's source ARN,
the listing prefix) are checked here; test_conformance.py enforces the rest.
"""

from __future__ import annotations

import pytest

from components.policies import (
    cloudfront_bucket_policy,
    deployer_policy,
    public_index_bucket_policy,
)

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


@pytest.mark.parametrize("mode", BUCKET_POLICIES)
def test_readers_may_get_only_index_keys(mode):
    read = statements(BUCKET_POLICIES[mode])["ReadIndex"]

    assert read["Effect"] == "Allow"
    assert actions(read) == {"s3:GetObject"}
    assert read["Resource"] == f"{BUCKET_ARN}/simple/*"


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


def test_deployer_publishes_to_this_bucket_only():
    document = statements(deployer_policy(BUCKET_ARN, None))

    assert set(document) == {"ListPackages", "PublishPackages"}
    assert actions(document["ListPackages"]) == {"s3:ListBucket"}
    assert document["ListPackages"]["Resource"] == BUCKET_ARN
    assert actions(document["PublishPackages"]) == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
    }
    assert document["PublishPackages"]["Resource"] == f"{BUCKET_ARN}/*"
    assert all(s["Effect"] == "Allow" and "Principal" not in s for s in document.values())


def test_deployer_invalidates_only_its_distribution():
    document = statements(deployer_policy(BUCKET_ARN, DISTRIBUTION_ARN))

    assert actions(document["RefreshIndexPages"]) == {"cloudfront:CreateInvalidation"}
    assert document["RefreshIndexPages"]["Resource"] == DISTRIBUTION_ARN
    assert "*" not in {s["Resource"] for s in document.values()}
