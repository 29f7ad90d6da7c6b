"""Each component alone: what it declares, under its own name, as its own children."""

from __future__ import annotations

import json

import pytest

from components.cdn import PackageCdn, PackageCdnArgs, viewer_request_code
from components.deployer import CdnRef, Deployer, DeployerArgs
from components.policies import (
    cloudfront_bucket_policy,
    deployer_policy,
    public_index_bucket_policy,
)
from components.repository import PackageRepository, PackageRepositoryArgs
from components.settings import (
    CustomDomain,
    GitHubRepository,
    KeyRotation,
    OidcPublishing,
)

from .harness import KEY_CREATED, SECRET_ACCESS_KEY, Run, resolve

BUCKET = "acme-pypi-test"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
DISTRIBUTION_ARN = "arn:aws:cloudfront::123456789012:distribution/EGIVEN"


def assert_children_of(
    run: Run, component_type: str, name: str, of_types: set[str] | None = None
) -> None:
    """Everything the run declared is the component or its child, named after it; with
    `of_types`, the children are of exactly those types."""
    (component,) = run.of_type(component_type)
    assert component.name == name
    children = [r for r in run.declared if r is not component]
    assert children
    for child in children:
        assert child.parent.endswith(f"{component_type}::{name}"), child.name
        assert child.name.startswith(f"{name}-"), child.name
    if of_types is not None:
        assert {child.type for child in children} == of_types


class TestPackageRepository:
    TYPE = "private-pypi:index:PackageRepository"

    def test_a_versioned_encrypted_bucket_that_expires_old_versions(self, run_component):
        run = run_component(
            lambda: PackageRepository("index", PackageRepositoryArgs(bucket_name=BUCKET))
        )

        assert_children_of(run, self.TYPE, "index")
        assert run.one("aws:s3/bucket:Bucket").inputs == {"bucket": BUCKET, "forceDestroy": False}
        versioning = run.one("aws:s3/bucketVersioning:BucketVersioning").inputs
        assert versioning["versioningConfiguration"] == {"status": "Enabled"}
        rules = run.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs[
            "rules"
        ]
        assert [r["noncurrentVersionExpiration"]["noncurrentDays"] for r in rules[:1]] == [90]
        assert rules[1]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
        assert all(r["status"] == "Enabled" and r["filter"] == {"prefix": ""} for r in rules)
        encryption = run.one(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        ).inputs
        assert encryption["rules"] == [
            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
        ]
        ownership = run.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
        assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}

    def test_s3_only_renders_the_public_index_policy(self, run_component):
        run = run_component(
            lambda: PackageRepository("index", PackageRepositoryArgs(bucket_name=BUCKET))
        )

        policy = run.one("aws:s3/bucketPolicy:BucketPolicy").inputs
        assert json.loads(policy["policy"]) == public_index_bucket_policy(BUCKET_ARN)
        access = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
        assert access == {
            "bucket": BUCKET,
            "blockPublicAcls": True,
            "ignorePublicAcls": True,
            "blockPublicPolicy": False,
            "restrictPublicBuckets": False,
        }

    def test_cdn_mode_renders_the_distribution_policy_and_blocks_public_access(self, run_component):
        run = run_component(
            lambda: PackageRepository(
                "index",
                PackageRepositoryArgs(bucket_name=BUCKET, reader_distribution_arn=DISTRIBUTION_ARN),
            )
        )

        policy = run.one("aws:s3/bucketPolicy:BucketPolicy").inputs
        assert json.loads(policy["policy"]) == cloudfront_bucket_policy(
            BUCKET_ARN, DISTRIBUTION_ARN
        )
        access = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
        assert all(access[key] is True for key in access if key != "bucket")

    def test_protection_and_force_destroy_apply_to_the_bucket(self, run_component):
        run = run_component(
            lambda: PackageRepository(
                "index", PackageRepositoryArgs(bucket_name=BUCKET, force_destroy=True, protect=True)
            )
        )

        bucket = run.one("aws:s3/bucket:Bucket")
        assert bucket.protect is True and bucket.inputs["forceDestroy"] is True


class TestPackageCdn:
    TYPE = "private-pypi:index:PackageDomain"  # its token from before the rename, kept
    ORIGIN = f"{BUCKET}.s3.eu-west-1.amazonaws.com"

    def test_cloudfront_without_a_domain(self, run_component):
        run = run_component(
            lambda: PackageCdn("edge", PackageCdnArgs(bucket_regional_domain_name=self.ORIGIN))
        )

        cdn: PackageCdn = run.component
        assert_children_of(
            run,
            self.TYPE,
            "edge",
            of_types={
                "aws:cloudfront/originAccessControl:OriginAccessControl",
                "aws:cloudfront/function:Function",
                "aws:cloudfront/distribution:Distribution",
                "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
            },
        )
        access = run.one("aws:cloudfront/originAccessControl:OriginAccessControl").inputs
        assert access["originAccessControlOriginType"] == "s3"
        assert access["signingBehavior"] == "always"
        assert access["signingProtocol"] == "sigv4"
        function = run.one("aws:cloudfront/function:Function").inputs
        assert function["code"] == viewer_request_code(private=False)
        assert resolve(cdn.index_url)[0] == "https://d111111abcdef8.cloudfront.net/simple/"
        assert cdn.domain_url is None

    def test_custom_domain_in_a_given_zone(self, run_component):
        domain = CustomDomain("pypi.acme.dev", hosted_zone_id="ZGIVEN", certificate_arn=None)
        run = run_component(
            lambda: PackageCdn(
                "edge",
                PackageCdnArgs(bucket_regional_domain_name=self.ORIGIN, custom_domain=domain),
            )
        )

        cdn: PackageCdn = run.component
        assert_children_of(run, self.TYPE, "edge")
        records = {r.name: r.inputs for r in run.of_type("aws:route53/record:Record")}
        assert set(records) == {
            "edge-alias-a",
            "edge-alias-aaaa",
            "edge-certificate-validation-record",
        }
        assert {r["zoneId"] for r in records.values()} == {"ZGIVEN"}
        validation_record = records["edge-certificate-validation-record"]
        assert validation_record["type"] == "CNAME"
        assert validation_record["records"] == ["_x2.acm-validations.aws."]
        assert resolve(cdn.index_url)[0] == "https://pypi.acme.dev/simple/"
        assert cdn.domain_url is not None
        assert resolve(cdn.domain_url)[0] == "https://pypi.acme.dev"


class TestDeployer:
    TYPE = "private-pypi:index:Deployer"

    @pytest.fixture(autouse=True)
    def github_token(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("GITHUB_TOKEN", "ghp_fromenvironment")

    @staticmethod
    def args(**overrides) -> DeployerArgs:
        defaults = {
            "user_name": "acme-pypi-deployer-test",
            "bucket_name": BUCKET,
            "bucket_arn": BUCKET_ARN,
            "region": "eu-west-1",
            "key_rotation": KeyRotation(token="token", every_days=30),
        }
        return DeployerArgs(**{**defaults, **overrides})

    def test_a_user_with_the_publishing_policy_and_a_rotating_key(self, run_component):
        run = run_component(lambda: Deployer("ci", self.args()))

        assert_children_of(
            run,
            self.TYPE,
            "ci",
            of_types={
                "aws:iam/user:User",
                "aws:iam/userPolicy:UserPolicy",
                "aws:iam/accessKey:AccessKey",
                "pulumi-python:dynamic:Resource",
            },
        )
        assert run.one("aws:iam/user:User").inputs["name"] == "acme-pypi-deployer-test"
        policy = run.one("aws:iam/userPolicy:UserPolicy").inputs
        assert policy["user"] == "acme-pypi-deployer-test"
        assert json.loads(policy["policy"]) == deployer_policy(BUCKET_ARN, None)
        clock = run.one("pulumi-python:dynamic:Resource")
        assert clock.name == "ci-key-clock"
        assert (clock.inputs["every_days"], clock.inputs["token"]) == (30, "token")
        key = run.one("aws:iam/accessKey:AccessKey")
        # The key is replaced exactly when the clock records a new creation time.
        assert key.replacement_trigger == KEY_CREATED
        assert key.inputs["user"] == "acme-pypi-deployer-test"
        assert not run.one("aws:iam/user:User").import_id

    def test_the_secret_key_is_a_pulumi_secret(self, run_component):
        deployer: Deployer = run_component(lambda: Deployer("ci", self.args())).component

        assert resolve(deployer.secret_access_key) == (SECRET_ACCESS_KEY, True)
        assert resolve(deployer.github_secrets["AWS_PYPI_SECRET_ACCESS_KEY"])[1] is True
        instructions, secret = resolve(deployer.secrets_by_hand())
        assert not secret and SECRET_ACCESS_KEY not in instructions

    def test_github_secrets_are_sent_as_secrets_with_the_new_key(self, run_component):
        run = run_component(
            lambda: Deployer(
                "ci",
                self.args(
                    github_repository=GitHubRepository("acme", "packages"),
                    cdn=CdnRef(id="EGIVEN", arn=DISTRIBUTION_ARN),
                ),
            )
        )

        assert_children_of(run, self.TYPE, "ci")
        secrets = {
            s.inputs["secretName"]: s
            for s in run.of_type("github:index/actionsSecret:ActionsSecret")
        }
        assert set(secrets) == {
            "AWS_PYPI_ACCESS_KEY_ID",
            "AWS_PYPI_SECRET_ACCESS_KEY",
            "AWS_PYPI_REGION",
            "AWS_PYPI_BUCKET",
            "AWS_PYPI_DISTRIBUTION_ID",
        }
        assert all("value" in s.secret_inputs for s in secrets.values())
        assert secrets["AWS_PYPI_SECRET_ACCESS_KEY"].inputs["value"] == SECRET_ACCESS_KEY
        assert secrets["AWS_PYPI_DISTRIBUTION_ID"].inputs["value"] == "EGIVEN"
        policy = json.loads(run.one("aws:iam/userPolicy:UserPolicy").inputs["policy"])
        assert policy == deployer_policy(BUCKET_ARN, DISTRIBUTION_ARN)

    def test_adopting_imports_the_seeds_user_by_name_and_keeps_it(self, run_component):
        run = run_component(lambda: Deployer("ci", self.args(adopt_user=True)))

        assert run.one("aws:iam/user:User").import_id == "acme-pypi-deployer-test"
        assert run.one("aws:iam/user:User").retain_on_delete

    def test_github_secrets_are_never_created_before_the_old_ones_go(self, run_component):
        run = run_component(
            lambda: Deployer("ci", self.args(github_repository=GitHubRepository("acme", "p")))
        )

        secrets = run.of_type("github:index/actionsSecret:ActionsSecret")
        assert secrets and all(secret.delete_before_replace for secret in secrets)

    def test_oidc_makes_a_role_for_one_repository_and_no_user_or_key(self, run_component):
        oidc = OidcPublishing(
            GitHubRepository("acme", "packages"), "acme-pypi-publisher-test", None, None
        )
        run = run_component(
            lambda: Deployer("ci", self.args(oidc=oidc, github_repository=oidc.repository))
        )

        assert_children_of(run, self.TYPE, "ci")
        assert not run.types & {"aws:iam/user:User", "aws:iam/accessKey:AccessKey"}
        provider = run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs
        assert provider["url"] == "https://token.actions.githubusercontent.com"
        assert provider["clientIdLists"] == ["sts.amazonaws.com"]
        role = run.one("aws:iam/role:Role")
        assert role.inputs["name"] == "acme-pypi-publisher-test"
        (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
        assert trust["Principal"] == {"Federated": provider_arn}
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert trust["Condition"] == {
            "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
            "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/packages:*"},
        }
        policy = run.one("aws:iam/rolePolicy:RolePolicy").inputs
        assert policy["role"] == "acme-pypi-publisher-test"
        assert json.loads(policy["policy"]) == deployer_policy(BUCKET_ARN, None)
        secrets = {
            s.inputs["secretName"]: s.inputs["value"]
            for s in run.of_type("github:index/actionsSecret:ActionsSecret")
        }
        assert secrets == {
            "AWS_PYPI_ROLE_ARN": "arn:aws:iam::123456789012:role/acme-pypi-publisher-test",
            "AWS_PYPI_REGION": "eu-west-1",
            "AWS_PYPI_BUCKET": BUCKET,
        }

    def test_oidc_reuses_the_accounts_provider_when_given(self, run_component):
        given = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
        oidc = OidcPublishing(GitHubRepository("acme", "p"), "r", given, "refs/tags/v*")
        run = run_component(lambda: Deployer("ci", self.args(oidc=oidc)))

        assert "aws:iam/openIdConnectProvider:OpenIdConnectProvider" not in run.types
        (trust,) = json.loads(run.one("aws:iam/role:Role").inputs["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"Federated": given}
        assert trust["Condition"]["StringLike"] == {
            "token.actions.githubusercontent.com:sub": "repo:acme/p:ref:refs/tags/v*"
        }
