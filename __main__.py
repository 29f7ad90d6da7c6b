"""The private package index: read the stack's settings, wire the components, export the URLs."""

from dataclasses import replace

import pulumi

from components import (
    CdnRef,
    Deployer,
    DeployerArgs,
    PackageCdn,
    PackageCdnArgs,
    PackageRepository,
    PackageRepositoryArgs,
    Settings,
)
from components.github_access import github_token
from components.readers import IndexReaders, IndexReadersArgs
from components.settings import Access, adopt_existing, check_certificate_domain, publish_with
from private_pypi.contract import (
    ACCESS_KEY_ID_OUTPUT,
    BUCKET_NAME_OUTPUT,
    DEPLOYMENT_USER_OUTPUT,
    DISTRIBUTION_ID_OUTPUT,
    GITHUB_SECRETS_BY_HAND_OUTPUT,
    INDEX_URL_OUTPUT,
    PUBLISH_ROLE_ARN_OUTPUT,
    REGION_OUTPUT,
    SECRET_ACCESS_KEY_OUTPUT,
    s3_index_url,
)

# Key rotation needs replacement_trigger; older engines drop it silently (README, Deploying).
pulumi.require_pulumi_version(">=3.226.0")

settings = Settings.from_config(
    pulumi.Config(), pulumi.get_stack(), region=pulumi.Config("aws").get("region")
)
oidc = publish_with(pulumi.Config(), settings)
adopt = adopt_existing(pulumi.Config())
check_certificate_domain(settings.custom_domain)
if settings.github_repository is not None or any(
    reader.github_repository is not None for reader in settings.readers
):
    github_token()  # fails here, before any resource, when there is no token

repository_args = PackageRepositoryArgs(
    bucket_name=settings.bucket_name,
    force_destroy=settings.force_destroy,
    protect=settings.protect_bucket,
    adopt=adopt,
)
cdn: PackageCdn | None = None
readers: IndexReaders | None = None
if settings.serves_through_cloudfront:
    # The bucket policy names the distribution, and the distribution reads the bucket:
    # the policy takes the distribution's ARN as a deferred output, resolved right after.
    distribution_arn, resolve_distribution_arn = pulumi.deferred_output()
    repository = PackageRepository(
        "packages", replace(repository_args, reader_distribution_arn=distribution_arn)
    )
    # Private reads (Settings requires CloudFront): the function reads the readers' store,
    # and their GitHub secrets hold the index URL, which is deferred the same way.
    reader_index_url, resolve_reader_index_url = pulumi.deferred_output()
    if settings.access is Access.PRIVATE:
        readers = IndexReaders(
            "readers",
            IndexReadersArgs(
                store_name=settings.bucket_name,
                readers=settings.readers,
                index_url=reader_index_url,
                key_rotation=settings.key_rotation,
            ),
        )
    cdn = PackageCdn(
        "cdn",
        PackageCdnArgs(
            bucket_regional_domain_name=repository.bucket.bucket_regional_domain_name,
            custom_domain=settings.custom_domain,
            reader_store_arn=readers.store.arn if readers is not None else None,
        ),
    )
    resolve_distribution_arn(cdn.distribution.arn)
    resolve_reader_index_url(cdn.index_url)
else:
    repository = PackageRepository("packages", repository_args)
bucket_name = repository.bucket.bucket

deployer = Deployer(
    "deployer",
    DeployerArgs(
        user_name=settings.deployer_name,
        bucket_name=bucket_name,
        bucket_arn=repository.bucket.arn,
        region=settings.region,
        key_rotation=settings.key_rotation,
        cdn=CdnRef(id=cdn.distribution.id, arn=cdn.distribution.arn) if cdn is not None else None,
        github_repository=settings.github_repository,
        oidc=oidc,
        adopt_user=adopt,
    ),
)

index_url = (
    cdn.index_url
    if cdn is not None
    else bucket_name.apply(lambda bucket: s3_index_url(bucket, settings.region))
)
pulumi.export(BUCKET_NAME_OUTPUT, bucket_name)
pulumi.export("bucketUrl", pulumi.Output.concat("s3://", bucket_name))
pulumi.export(REGION_OUTPUT, settings.region)
pulumi.export(INDEX_URL_OUTPUT, index_url)
pulumi.export(
    "installationCommand",
    pulumi.Output.format("pip install --extra-index-url {0} <package>", index_url),
)
pulumi.export("requirementsLine", pulumi.Output.concat("--extra-index-url ", index_url))
if deployer.user is not None and deployer.key_clock is not None:
    pulumi.export(DEPLOYMENT_USER_OUTPUT, deployer.user.name)
    pulumi.export("deploymentUserArn", deployer.user.arn)
    pulumi.export(ACCESS_KEY_ID_OUTPUT, deployer.access_key_id)
    pulumi.export(SECRET_ACCESS_KEY_OUTPUT, deployer.secret_access_key)
    pulumi.export("accessKeyCreated", deployer.key_clock.created_at)
    pulumi.export("accessKeyRotatesAfter", deployer.key_clock.due_at)
if deployer.role is not None:
    pulumi.export(PUBLISH_ROLE_ARN_OUTPUT, deployer.role.arn)
if cdn is not None:
    pulumi.export(DISTRIBUTION_ID_OUTPUT, cdn.distribution.id)
    if cdn.domain_url is not None:
        pulumi.export("domainUrl", cdn.domain_url)
if settings.github_repository is None:
    pulumi.export(GITHUB_SECRETS_BY_HAND_OUTPUT, deployer.secrets_by_hand())
if readers is not None:
    pulumi.export("readerTokens", readers.reader_tokens)
