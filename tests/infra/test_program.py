"""The whole program, as `pulumi up` runs it, under each documented configuration."""

from __future__ import annotations

import json

import pytest

from .harness import (
    ACCESS_KEY_ID,
    DISTRIBUTION_DOMAIN,
    DISTRIBUTION_ID,
    KEY_CREATED,
    LOOKED_UP_ZONE_ID,
    SECRET_ACCESS_KEY,
    Run,
)

S3_ONLY = {"projectName": "acme", "aws:region": "eu-west-1"}
CUSTOM_DOMAIN = {**S3_ONLY, "domainName": "packages.acme.dev"}
OWN_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/brought-along"
GITHUB = {"githubRepository": "acme/python-packages", "github:token": "ghp_fromconfig"}

CLOUDFRONT_TYPES = {
    "aws:cloudfront/distribution:Distribution",
    "aws:cloudfront/originAccessControl:OriginAccessControl",
    "aws:cloudfront/function:Function",
}
SECRET_NAMES = {
    "AWS_PYPI_ACCESS_KEY_ID",
    "AWS_PYPI_SECRET_ACCESS_KEY",
    "AWS_PYPI_REGION",
    "AWS_PYPI_BUCKET",
}


def bucket_policy(run: Run) -> dict:
    return json.loads(run.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])


def deployer_policy(run: Run) -> dict:
    return json.loads(run.one("aws:iam/userPolicy:UserPolicy").inputs["policy"])


def github_secrets(run: Run) -> dict[str, object]:
    return {
        secret.inputs["secretName"]: secret.inputs["value"]
        for secret in run.of_type("github:index/actionsSecret:ActionsSecret")
    }


def assert_no_output_leaks_the_secret_key(run: Run) -> None:
    assert run.secret_outputs == {"accessKeySecret"}
    for name, value in run.outputs.items():
        if name != "accessKeySecret":
            assert SECRET_ACCESS_KEY not in json.dumps(value), name


def test_s3_only_serves_the_bucket_publicly_under_simple(run_program):
    run = run_program(S3_ONLY)

    assert not run.types & CLOUDFRONT_TYPES
    assert run.one("aws:s3/bucket:Bucket").inputs["bucket"] == "acme-pypi-staging"
    access = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert access["blockPublicPolicy"] is False and access["blockPublicAcls"] is True
    assert {s["Principal"] for s in bucket_policy(run)["Statement"]} == {"*"}
    assert run.outputs["indexUrl"] == "https://acme-pypi-staging.s3.eu-west-1.amazonaws.com/simple/"
    assert run.outputs["bucketName"] == "acme-pypi-staging"
    assert run.outputs["bucketUrl"] == "s3://acme-pypi-staging"
    assert run.outputs["installationCommand"] == (
        "pip install --extra-index-url "
        "https://acme-pypi-staging.s3.eu-west-1.amazonaws.com/simple/ <package>"
    )
    assert run.outputs["requirementsLine"] == (
        "--extra-index-url https://acme-pypi-staging.s3.eu-west-1.amazonaws.com/simple/"
    )
    assert run.outputs["deploymentUserName"] == "acme-pypi-deployer-staging"
    assert run.outputs["deploymentUserArn"].endswith(":user/acme-pypi-deployer-staging")
    assert "distributionId" not in run.outputs and "domainUrl" not in run.outputs
    assert_no_output_leaks_the_secret_key(run)


def test_custom_domain_creates_and_validates_a_certificate_in_us_east_1(run_program):
    run = run_program(CUSTOM_DOMAIN)

    certificate = run.one("aws:acm/certificate:Certificate").inputs
    assert certificate["region"] == "us-east-1"
    assert certificate["domainName"] == "packages.acme.dev"
    assert certificate["validationMethod"] == "DNS"
    validation = run.one("aws:acm/certificateValidation:CertificateValidation").inputs
    assert validation["region"] == "us-east-1"
    assert validation["validationRecordFqdns"] == ["_x1.packages.acme.dev."]
    distribution = run.one("aws:cloudfront/distribution:Distribution").inputs
    assert distribution["aliases"] == ["packages.acme.dev"]
    assert distribution["viewerCertificate"] == {
        "acmCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/created",
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }
    aliases = {r.inputs["type"]: r.inputs for r in run.of_type("aws:route53/record:Record")}
    assert set(aliases) == {"A", "AAAA", "CNAME"}
    for record_type in ("A", "AAAA"):
        assert aliases[record_type]["name"] == "packages.acme.dev"
        assert aliases[record_type]["zoneId"] == LOOKED_UP_ZONE_ID
        assert aliases[record_type]["aliases"][0]["name"] == DISTRIBUTION_DOMAIN
    assert run.outputs["indexUrl"] == "https://packages.acme.dev/simple/"
    assert run.outputs["domainUrl"] == "https://packages.acme.dev"
    assert run.outputs["distributionId"] == DISTRIBUTION_ID
    assert_no_output_leaks_the_secret_key(run)


def test_custom_domain_with_own_certificate_and_zone_creates_neither(run_program):
    run = run_program(
        {**CUSTOM_DOMAIN, "certificateArn": OWN_CERTIFICATE, "hostedZoneId": "ZGIVEN"}
    )

    assert "aws:acm/certificate:Certificate" not in run.types
    assert "aws:acm/certificateValidation:CertificateValidation" not in run.types
    distribution = run.one("aws:cloudfront/distribution:Distribution").inputs
    assert distribution["viewerCertificate"]["acmCertificateArn"] == OWN_CERTIFICATE
    records = run.of_type("aws:route53/record:Record")
    assert sorted(r.inputs["type"] for r in records) == ["A", "AAAA"]
    assert {r.inputs["zoneId"] for r in records} == {"ZGIVEN"}


def test_cloudfront_reads_the_private_bucket_through_origin_access_control(run_program):
    run = run_program({**S3_ONLY, "cdn": "true"})

    access = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(access[key] is True for key in access if key != "bucket")
    principals = {json.dumps(s["Principal"]) for s in bucket_policy(run)["Statement"]}
    assert principals == {'{"Service": "cloudfront.amazonaws.com"}', '"*"'}
    for statement in bucket_policy(run)["Statement"]:
        if statement["Effect"] == "Allow":
            assert statement["Condition"]["StringEquals"] == {
                "AWS:SourceArn": f"arn:aws:cloudfront::123456789012:distribution/{DISTRIBUTION_ID}"
            }
    distribution = run.one("aws:cloudfront/distribution:Distribution").inputs
    (origin,) = distribution["origins"]
    assert origin["domainName"] == "acme-pypi-staging.s3.eu-west-1.amazonaws.com"
    assert origin["originAccessControlId"] == "cdn-origin-access-id"
    assert distribution["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert "aliases" not in distribution
    assert "aws:route53/record:Record" not in run.types
    assert run.outputs["indexUrl"] == f"https://{DISTRIBUTION_DOMAIN}/simple/"
    assert run.outputs["distributionId"] == DISTRIBUTION_ID
    assert "domainUrl" not in run.outputs


def test_cloudfront_serves_keys_as_paths_through_the_simple_index_function(run_program):
    run = run_program({**S3_ONLY, "cdn": "true"})

    function = run.one("aws:cloudfront/function:Function")
    assert function.inputs["runtime"] == "cloudfront-js-2.0"
    assert function.inputs["publish"] is True
    assert function.inputs["code"].strip()
    behaviour = run.one("aws:cloudfront/distribution:Distribution").inputs["defaultCacheBehavior"]
    assert behaviour["functionAssociations"] == [
        {"eventType": "viewer-request", "functionArn": function.state["arn"]}
    ]
    assert behaviour["viewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["allowedMethods"] == ["GET", "HEAD"]
    assert behaviour["compress"] is True
    assert behaviour["cachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    distribution = run.one("aws:cloudfront/distribution:Distribution").inputs
    assert distribution["isIpv6Enabled"] is True
    assert distribution["priceClass"] == "PriceClass_100"
    # `/` is the browse root page; everything under /simple/ is the function's.
    assert distribution["defaultRootObject"] == "index.html"


def test_github_repository_gets_the_secrets_through_an_owner_scoped_provider(run_program):
    run = run_program({**CUSTOM_DOMAIN, **GITHUB})

    provider = run.one("pulumi:providers:github")
    assert provider.inputs["owner"] == "acme"
    secrets = run.of_type("github:index/actionsSecret:ActionsSecret")
    assert {s.inputs["repository"] for s in secrets} == {"python-packages"}
    assert all(f"pulumi:providers:github::{provider.name}::" in s.provider for s in secrets)
    assert github_secrets(run) == {
        "AWS_PYPI_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_PYPI_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_PYPI_REGION": "eu-west-1",
        "AWS_PYPI_BUCKET": "acme-pypi-staging",
        "AWS_PYPI_DISTRIBUTION_ID": DISTRIBUTION_ID,
    }
    assert "plaintextValue" not in secrets[0].inputs
    assert "githubSecretsByHand" not in run.outputs
    assert_no_output_leaks_the_secret_key(run)


def test_without_github_repository_the_outputs_say_how_to_set_the_secrets(run_program):
    run = run_program(S3_ONLY)

    assert not any(t.startswith("github:") or t == "pulumi:providers:github" for t in run.types)
    instructions = run.outputs["githubSecretsByHand"]
    for name in SECRET_NAMES:
        assert f"gh secret set {name} " in instructions
    assert "AWS_PYPI_DISTRIBUTION_ID" not in instructions
    assert "pulumi stack output --show-secrets accessKeySecret" in instructions
    assert "--body acme-pypi-staging" in instructions
    assert run.outputs["accessKeyId"] == ACCESS_KEY_ID
    assert_no_output_leaks_the_secret_key(run)


def test_deployer_may_invalidate_only_its_distribution(run_program):
    s3_only = deployer_policy(run_program(S3_ONLY))
    with_cdn = deployer_policy(run_program({**S3_ONLY, "cdn": "true"}))

    assert "cloudfront" not in json.dumps(s3_only)
    (invalidation,) = [s for s in with_cdn["Statement"] if s["Sid"] == "RefreshIndexPages"]
    assert invalidation["Resource"].endswith(f":distribution/{DISTRIBUTION_ID}")


def test_the_key_is_replaced_when_its_clock_records_a_new_creation_time(run_program):
    run = run_program({**S3_ONLY, "keyRotation": "2025-06-01T00:00:00Z", "keyRotationDays": "30"})

    clock = run.one("pulumi-python:dynamic:Resource")
    assert (clock.inputs["token"], clock.inputs["every_days"]) == ("2025-06-01T00:00:00Z", 30)
    key = run.one("aws:iam/accessKey:AccessKey")
    assert key.replacement_trigger == clock.state["created_at"] == KEY_CREATED
    assert run.outputs["accessKeyCreated"] == KEY_CREATED
    # Derived by the program from the creation time and the stack's period, not kept.
    assert run.outputs["accessKeyRotatesAfter"] == "2025-01-31T00:00:00Z"
    assert "due_at" not in clock.state


@pytest.mark.parametrize(
    ("stack", "protected"), [("production", True), ("staging", False), ("prod", False)]
)
def test_only_the_production_stack_protects_its_bucket(run_program, stack, protected):
    run = run_program(S3_ONLY, stack=stack)

    bucket = run.one("aws:s3/bucket:Bucket")
    assert bucket.protect is protected
    assert bucket.inputs["bucket"] == f"acme-pypi-{stack}"
    assert not any(r.protect for r in run.declared if r is not bucket)


def test_force_destroy_and_environment_reach_the_bucket(run_program):
    run = run_program({**S3_ONLY, "forceDestroy": "true", "environment": "prod"})

    bucket = run.one("aws:s3/bucket:Bucket").inputs
    assert bucket["forceDestroy"] is True
    assert bucket["bucket"] == "acme-pypi-prod"
    assert run.one("aws:iam/user:User").inputs["name"] == "acme-pypi-deployer-prod"


def test_the_program_requires_the_engine_that_rotates_keys(run_program):
    run = run_program(S3_ONLY)

    assert run.required_versions == [">=3.226.0"]


def test_an_older_cli_stops_before_any_resource(run_program):
    with pytest.raises(Exception, match=r"3\.214\.0 does not satisfy"):
        run_program(S3_ONLY, engine_version="3.214.0")

    assert run_program.last.declared == []


def test_the_github_token_comes_from_stack_config_as_a_secret(run_program, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    run = run_program({**S3_ONLY, **GITHUB})

    provider = run.one("pulumi:providers:github")
    assert provider.inputs["token"] == "ghp_fromconfig"
    assert "token" in provider.secret_inputs


def test_the_github_token_comes_from_the_environment_otherwise(run_program, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_fromenvironment")
    config = {key: value for key, value in {**S3_ONLY, **GITHUB}.items() if key != "github:token"}

    provider = run_program(config).one("pulumi:providers:github")
    assert provider.inputs["token"] == "ghp_fromenvironment"
    assert "token" in provider.secret_inputs


def test_without_a_github_token_nothing_is_created(run_program, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    config = {key: value for key, value in {**S3_ONLY, **GITHUB}.items() if key != "github:token"}

    with pytest.raises(Exception, match=r"github:token: is not set and GITHUB_TOKEN is empty"):
        run_program(config)
    assert run_program.last.declared == []


def test_index_responses_vary_by_accept_through_a_response_headers_policy(run_program):
    run = run_program({**S3_ONLY, "cdn": "true"})

    policy = run.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    assert policy.inputs["customHeadersConfig"] == {
        "items": [{"header": "Vary", "value": "Accept, Accept-Encoding", "override": True}]
    }
    behaviour = run.one("aws:cloudfront/distribution:Distribution").inputs["defaultCacheBehavior"]
    assert behaviour["responseHeadersPolicyId"] == "cdn-vary-id"  # the mocked id


def test_the_browse_root_is_the_default_root_object_and_its_policy_a_header(run_program):
    run = run_program({**S3_ONLY, "cdn": "true"})

    distribution = run.one("aws:cloudfront/distribution:Distribution").inputs
    assert distribution["defaultRootObject"] == "index.html"
    security = run.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs[
        "securityHeadersConfig"
    ]
    policy = security["contentSecurityPolicy"]["contentSecurityPolicy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert security["contentTypeOptions"] == {"override": True}
    assert security["frameOptions"] == {"frameOption": "DENY", "override": True}


def longest_domain() -> str:
    """A 253-character name of 63-character labels: the longest domainName accepted."""
    return ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])


def test_a_long_domain_keeps_every_comment_within_cloudfronts_128(run_program):
    domain = longest_domain()
    run = run_program({**S3_ONLY, "domainName": domain, "certificateArn": OWN_CERTIFICATE})

    distribution = run.one("aws:cloudfront/distribution:Distribution").inputs
    assert distribution["aliases"] == [domain]
    comments = [r.inputs.get("comment", "") for r in run.declared]
    assert all(len(comment) <= 128 for comment in comments)
    short = run_program(CUSTOM_DOMAIN).one("aws:cloudfront/distribution:Distribution")
    assert short.inputs["comment"] == "Python package index at packages.acme.dev"


def test_a_domain_too_long_for_an_acm_certificate_asks_for_one(run_program):
    domain = "p" * 60 + ".acme.dev"

    with pytest.raises(
        Exception, match=r"domainName: .* ACM creates certificates only for names up to 64"
    ):
        run_program({**S3_ONLY, "domainName": domain})
    assert run_program.last.declared == []


OIDC = {**S3_ONLY, **GITHUB, "publishWith": "oidc"}


def test_oidc_publishing_needs_no_user_and_no_key(run_program):
    run = run_program(OIDC)

    assert not run.types & {"aws:iam/user:User", "aws:iam/accessKey:AccessKey"}
    role = run.one("aws:iam/role:Role")
    assert role.inputs["name"] == "acme-pypi-publisher-staging"
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Condition"] == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/python-packages:*"},
    }
    assert set(github_secrets(run)) == {
        "AWS_PYPI_ROLE_ARN",
        "AWS_PYPI_REGION",
        "AWS_PYPI_BUCKET",
    }
    assert run.outputs["publishRoleArn"].endswith(":role/acme-pypi-publisher-staging")
    assert not {"accessKeyId", "accessKeySecret", "deploymentUserName"} & set(run.outputs)
    assert run.secret_outputs == set()


@pytest.mark.parametrize(
    ("ref", "subject"),
    [
        ("refs/heads/main", "repo:acme/python-packages:ref:refs/heads/main"),
        ("refs/tags/v*", "repo:acme/python-packages:ref:refs/tags/v*"),
        ("environment:production", "repo:acme/python-packages:environment:production"),
    ],
)
def test_publish_ref_scopes_the_role_to_one_ref(run_program, ref, subject):
    run = run_program({**OIDC, "publishRef": ref, "cdn": "true"})

    (trust,) = json.loads(run.one("aws:iam/role:Role").inputs["assumeRolePolicy"])["Statement"]
    assert trust["Condition"]["StringLike"] == {"token.actions.githubusercontent.com:sub": subject}
    assert github_secrets(run)["AWS_PYPI_DISTRIBUTION_ID"] == DISTRIBUTION_ID


def test_an_existing_github_oidc_provider_is_reused(run_program):
    given = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    run = run_program({**OIDC, "githubOidcProviderArn": given})

    assert "aws:iam/openIdConnectProvider:OpenIdConnectProvider" not in run.types
    (trust,) = json.loads(run.one("aws:iam/role:Role").inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Federated": given}


def test_adopting_imports_the_templates_bucket_and_user(run_program):
    run = run_program({**S3_ONLY, "adoptExisting": "true"}, stack="production")

    assert run.one("aws:s3/bucket:Bucket").import_id == "acme-pypi-production"
    assert run.one("aws:iam/user:User").import_id == "acme-pypi-deployer-production"
    imported = {r.type for r in run.declared if r.import_id}
    assert imported == {"aws:s3/bucket:Bucket", "aws:iam/user:User"}


@pytest.mark.parametrize("publish_with", [{}, {**GITHUB, "publishWith": "oidc"}])
def test_pulumi_destroy_keeps_what_was_adopted(run_program, publish_with):
    run = run_program({**S3_ONLY, **publish_with, "adoptExisting": "true"})

    retained = {r.type for r in run.declared if r.retain_on_delete}
    assert retained == {r.type for r in run.declared if r.import_id}
    assert "aws:s3/bucket:Bucket" in retained


def test_without_adopting_nothing_is_imported_or_kept_on_destroy(run_program):
    declared = run_program(S3_ONLY).declared

    assert not any(r.import_id or r.retain_on_delete for r in declared)
