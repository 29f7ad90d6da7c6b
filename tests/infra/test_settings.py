"""Bad configuration stops `pulumi up` before any resource, naming the key and the fix."""

from __future__ import annotations

import pytest

from components.settings import CustomDomain, InvalidSetting

VALID = {"projectName": "acme", "aws:region": "eu-west-1"}


US_EAST_1_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/x"
DOMAIN = {"domainName": "packages.acme.dev"}
OIDC = {"publishWith": "oidc", "githubRepository": "acme/packages", "github:token": "t"}


def bad(case_id: str, changes: dict[str, str | None], key: str, fix: str, stack: str = "staging"):
    """A config that fails: VALID with `changes` (None removes a key), the key, the fix."""
    config = {k: v for k, v in {**VALID, **changes}.items() if v is not None}
    return pytest.param(config, stack, key, fix, id=case_id)


@pytest.mark.parametrize(
    ("config", "stack", "key", "fix"),
    [
        bad("no-project", {"projectName": None}, "projectName", "config set projectName"),
        bad("no-region", {"aws:region": None}, "aws:region", "config set aws:region"),
        bad("scheme", {"domainName": "https://packages.acme.dev"}, "domainName", "without scheme"),
        bad("path", {"domainName": "packages.acme.dev/simple"}, "domainName", "path"),
        bad("uppercase-domain", {"domainName": "Packages.Acme.dev"}, "domainName", "lowercase"),
        bad("one-label", {"domainName": "localhost"}, "domainName", "packages.example.com"),
        bad("label-hyphen", {"domainName": "-x.acme.dev"}, "domainName", "not a domain name"),
        bad("zone-alone", {"hostedZoneId": "Z123"}, "hostedZoneId", "config set domainName"),
        bad(
            "certificate-alone",
            {"certificateArn": US_EAST_1_CERTIFICATE},
            "certificateArn",
            "config rm certificateArn",
        ),
        bad(
            "certificate-region",
            {**DOMAIN, "certificateArn": US_EAST_1_CERTIFICATE.replace("us-east-1", "eu-west-1")},
            "certificateArn",
            "arn:aws:acm:us-east-1:",
        ),
        bad("no-owner", {"githubRepository": "acme"}, "githubRepository", "my-org/my-repo"),
        bad("path-repo", {"githubRepository": "acme/a/b"}, "githubRepository", "owner/name"),
        bad(
            "url-repo",
            {"githubRepository": "https://github.com/acme/packages"},
            "githubRepository",
            "owner/name",
        ),
        bad("zero-days", {"keyRotationDays": "0"}, "keyRotationDays", "keyRotationDays 90"),
        bad("negative-days", {"keyRotationDays": "-7"}, "keyRotationDays", "at least 1"),
        bad("uppercase-project", {"projectName": "Acme"}, "projectName", "lowercase"),
        bad("underscore", {"projectName": "acme_corp"}, "projectName", "hyphens"),
        bad("dot", {"projectName": "acme.corp"}, "projectName", "over HTTPS"),
        bad("leading-hyphen", {"projectName": "-acme"}, "projectName", "starting with a letter"),
        bad("reserved-prefix", {"projectName": "xn--acme"}, "projectName", "lowercase"),
        bad("bucket-over-63", {"projectName": "a" * 51}, "projectName", "S3's 63"),
        bad("user-over-64", {"projectName": "a" * 45}, "projectName", "IAM's 64"),
        bad("environment", {"environment": "prod_1"}, "environment", "config set environment"),
        bad("publish-with", {"publishWith": "keys"}, "publishWith", "publishWith oidc"),
        bad("oidc-no-repo", {"publishWith": "oidc"}, "githubRepository", "my-org/my-repo"),
        bad(
            "provider-without-oidc",
            {"githubOidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/x"},
            "githubOidcProviderArn",
            "config rm githubOidcProviderArn",
        ),
        bad(
            "provider-arn",
            {**OIDC, "githubOidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/x"},
            "githubOidcProviderArn",
            "oidc-provider/token.actions.githubusercontent.com",
        ),
        bad("ref-without-oidc", {"publishRef": "refs/heads/main"}, "publishRef", "oidc"),
        bad("ref-branch-name", {**OIDC, "publishRef": "main"}, "publishRef", "refs/heads/main"),
        bad("ref-any", {**OIDC, "publishRef": "*"}, "publishRef", "environment:production"),
        bad(
            "role-over-64",
            {**OIDC, "projectName": "a" * 38, "environment": "e" * 11},
            "projectName",
            "IAM role name",
        ),
        bad(
            "stack-name",
            {},
            "environment (the stack name 'Staging' by default)",
            "config set environment",
            stack="Staging",
        ),
    ],
)
def test_bad_config_fails_before_any_resource(run_program, config, stack, key, fix):
    with pytest.raises(InvalidSetting) as failure:
        run_program(config, stack=stack)

    message = str(failure.value)
    assert message.startswith(f"{key}: ")
    assert fix in message
    assert run_program.last.declared == []


def test_a_value_of_the_wrong_type_names_its_key(run_program):
    with pytest.raises(Exception, match="keyRotationDays"):
        run_program({**VALID, "keyRotationDays": "ninety"})

    assert run_program.last.declared == []


def test_empty_strings_mean_unset_as_pulumi_yaml_defaults_them(run_program):
    run = run_program(
        {
            **VALID,
            "environment": "",
            "domainName": "",
            "hostedZoneId": "",
            "certificateArn": "",
            "githubRepository": "",
            "keyRotation": "",
        }
    )

    assert run.outputs["bucketName"] == "acme-pypi-staging"
    assert "distributionId" not in run.outputs


def test_longest_accepted_names_fit_s3_and_iam(run_program):
    # 38 + len("-pypi-deployer-") + 11 = 64, IAM's limit; the bucket name is 55.
    run = run_program({**VALID, "projectName": "a" * 38, "environment": "e" * 11})

    assert len(run.outputs["deploymentUserName"]) == 64


@pytest.mark.parametrize(
    ("domain", "zone"),
    [
        ("packages.acme.dev", "acme.dev"),
        ("acme.dev", "acme.dev"),
        ("pypi.eu.acme.co.uk", "eu.acme.co.uk"),
    ],
)
def test_the_zone_looked_up_is_the_domains_parent(domain, zone):
    assert CustomDomain(domain, None, None).zone_name == zone
