"""The bucket that holds the index: files and pages under simple/, old versions kept 90 days."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.component import Component
from components.policies import cloudfront_bucket_policy, public_index_bucket_policy
from private_pypi.contract import NONCURRENT_VERSION_DAYS

INCOMPLETE_UPLOAD_DAYS = 7


@dataclass(frozen=True)
class PackageRepositoryArgs:
    bucket_name: str
    force_destroy: bool = False
    protect: bool = False
    # CDN mode when set: the bucket is private and only this distribution reads it.
    # The distribution needs the bucket first, so this is usually a pulumi.deferred_output().
    reader_distribution_arn: pulumi.Input[str] | None = None
    # Import the existing bucket of this name (the seed's) instead of creating it, and keep
    # it on `pulumi destroy`: Pulumi didn't make it, and it holds every package.
    adopt: bool = False


class PackageRepository(Component[PackageRepositoryArgs]):
    TYPE = "private-pypi:index:PackageRepository"
    bucket: aws.s3.Bucket
    policy: aws.s3.BucketPolicy

    def declare(self, name: str, args: PackageRepositoryArgs) -> Mapping[str, Any]:
        child = self.child_options
        public = args.reader_distribution_arn is None

        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=args.bucket_name,
            force_destroy=args.force_destroy,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                import_=args.bucket_name if args.adopt else None,
                retain_on_delete=args.adopt,
            ),
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-old-versions",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
                },
                {
                    "id": "abort-incomplete-uploads",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "abort_incomplete_multipart_upload": {
                        "days_after_initiation": INCOMPLETE_UPLOAD_DAYS
                    },
                },
            ],
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        # ACLs are off either way; only S3-only mode lets a public bucket policy through.
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            ignore_public_acls=True,
            block_public_policy=not public,
            restrict_public_buckets=not public,
            opts=child,
        )
        if args.reader_distribution_arn is None:
            document = self.bucket.arn.apply(
                lambda bucket_arn: json.dumps(public_index_bucket_policy(bucket_arn))
            )
        else:
            document = pulumi.Output.all(self.bucket.arn, args.reader_distribution_arn).apply(
                lambda arns: json.dumps(cloudfront_bucket_policy(arns[0], arns[1]))
            )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=document,
            # A public policy is refused until the access block allows it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block, ownership]),
        )
        return {"bucketName": self.bucket.bucket, "bucketArn": self.bucket.arn}
