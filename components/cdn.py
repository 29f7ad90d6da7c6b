"""CloudFront in front of the private bucket, optionally on a custom domain with its certificate.

Paths are the bucket's keys, as on the S3 REST endpoint: /simple/NAME/ serves simple/NAME/.
The viewer-request function in edge/simple_index.js picks index.html or index.json by the
Accept header; the rewritten URI is the cache key, so HTML and JSON never share an entry.
Cache lifetimes come from the objects' Cache-Control, which the library sets
(private_pypi.contract: PAGE_CACHE_CONTROL, FILE_CACHE_CONTROL); the cache policy honours it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws

from components.component import Component
from components.settings import CustomDomain
from private_pypi.contract import cdn_index_url

VIEWER_REQUEST_CODE = Path(__file__).parent / "edge" / "simple_index.js"
# AWS-managed "Managed-CachingOptimized": honours the origin's Cache-Control, gzip and brotli.
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
# CloudFront reads certificates only from ACM in this region.
CERTIFICATE_REGION = "us-east-1"
ORIGIN_ID = "package-bucket"
# The one line in which a private stack's copy of the function differs.
PUBLIC_ACCESS = "const ACCESS = 'public';"
PRIVATE_ACCESS = "const ACCESS = 'private';"


def viewer_request_code(*, private: bool) -> str:
    """The function's code as deployed; a private stack's copy refuses requests without a
    reader's token. CloudFront counts comments against a function's 10 KB, so the lines
    that are only a comment are left out (the file has no template literals or block
    comments, where such a line could be something else)."""
    code = "".join(
        line
        for line in VIEWER_REQUEST_CODE.read_text(encoding="utf-8").splitlines(keepends=True)
        if not line.lstrip().startswith("//")
    )
    if code.count(PUBLIC_ACCESS) != 1:
        raise ValueError(f"{VIEWER_REQUEST_CODE} must declare {PUBLIC_ACCESS!r} exactly once")
    return code.replace(PUBLIC_ACCESS, PRIVATE_ACCESS) if private else code


# CloudFront refuses a distribution comment over 128 characters.
COMMENT_MAX = 128
# Pages under /simple/ differ by Accept (and, compressed, by Accept-Encoding): caches
# outside CloudFront must key on both, or a pip client could get a browser's HTML.
VARY = "Accept, Accept-Encoding"


def distribution_comment(domain_name: str | None) -> str:
    """The distribution's comment: it names the domain when the domain fits in it."""
    named = f"Python package index at {domain_name}"
    return named if domain_name and len(named) <= COMMENT_MAX else "Python package index"


@dataclass(frozen=True)
class PackageCdnArgs:
    bucket_regional_domain_name: pulumi.Input[str]
    custom_domain: CustomDomain | None = None
    # Private reads when set: the KeyValueStore of reader token hashes the function checks.
    reader_store_arn: pulumi.Input[str] | None = None


class PackageCdn(Component[PackageCdnArgs]):
    """The CloudFront distribution that serves the index, on a custom domain or its own."""

    # Its name before the rename, kept: the token is in the URN of every resource below.
    TYPE = "private-pypi:index:PackageDomain"
    distribution: aws.cloudfront.Distribution
    index_url: pulumi.Output[str]
    domain_url: pulumi.Output[str] | None

    def declare(self, name: str, args: PackageCdnArgs) -> Mapping[str, Any]:
        child = self.child_options
        domain = args.custom_domain

        zone_id = self._hosted_zone_id(domain) if domain else None
        certificate_arn = (
            self._certificate_arn(name, domain, zone_id)
            if domain is not None and zone_id is not None
            else None
        )
        origin_access = aws.cloudfront.OriginAccessControl(
            f"{name}-origin-access",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            description="Signs CloudFront's reads of the package bucket",
            opts=child,
        )
        simple_index = aws.cloudfront.Function(
            f"{name}-simple-index",
            runtime="cloudfront-js-2.0",
            code=viewer_request_code(private=args.reader_store_arn is not None),
            comment="Serves index.html or index.json under /simple/ by the Accept header",
            publish=True,
            key_value_store_associations=(
                [args.reader_store_arn] if args.reader_store_arn is not None else None
            ),
            opts=child,
        )
        vary = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-vary",
            comment="Vary: Accept on the index, which serves HTML or JSON by Accept",
            custom_headers_config={"items": [{"header": "Vary", "value": VARY, "override": True}]},
            opts=child,
        )
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            enabled=True,
            comment=distribution_comment(domain.name if domain else None),
            aliases=[domain.name] if domain else None,
            origins=[
                {
                    "origin_id": ORIGIN_ID,
                    "domain_name": args.bucket_regional_domain_name,
                    "origin_access_control_id": origin_access.id,
                }
            ],
            default_cache_behavior={
                "target_origin_id": ORIGIN_ID,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "compress": True,
                "cache_policy_id": CACHING_OPTIMIZED_POLICY_ID,
                "response_headers_policy_id": vary.id,
                "function_associations": [
                    {"event_type": "viewer-request", "function_arn": simple_index.arn}
                ],
            },
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class="PriceClass_100",
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate=(
                {
                    "acm_certificate_arn": certificate_arn,
                    "ssl_support_method": "sni-only",
                    "minimum_protocol_version": "TLSv1.2_2021",
                }
                if certificate_arn is not None
                else {"cloudfront_default_certificate": True}
            ),
            opts=child,
        )

        if domain is not None and zone_id is not None:
            for record_type in ("A", "AAAA"):
                aws.route53.Record(
                    f"{name}-alias-{record_type.lower()}",
                    zone_id=zone_id,
                    name=domain.name,
                    type=record_type,
                    aliases=[
                        {
                            "name": self.distribution.domain_name,
                            "zone_id": self.distribution.hosted_zone_id,
                            "evaluate_target_health": False,
                        }
                    ],
                    opts=child,
                )
            self.domain_url = pulumi.Output.from_input(f"https://{domain.name}")
        else:
            self.domain_url = None
        host = pulumi.Output.from_input(domain.name) if domain else self.distribution.domain_name
        self.index_url = host.apply(cdn_index_url)
        return {
            "distributionId": self.distribution.id,
            "indexUrl": self.index_url,
            "domainUrl": self.domain_url,
        }

    def _hosted_zone_id(self, domain: CustomDomain) -> pulumi.Input[str]:
        if domain.hosted_zone_id is not None:
            return domain.hosted_zone_id
        zone = aws.route53.get_zone_output(
            name=domain.zone_name,
            private_zone=False,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return zone.zone_id

    def _certificate_arn(
        self, name: str, domain: CustomDomain, zone_id: pulumi.Input[str]
    ) -> pulumi.Input[str]:
        """The certificate to serve: the one given, or a new one validated through Route 53."""
        if domain.certificate_arn is not None:
            return domain.certificate_arn
        child = self.child_options
        certificate = aws.acm.Certificate(
            f"{name}-certificate",
            region=CERTIFICATE_REGION,
            domain_name=domain.name,
            validation_method="DNS",
            opts=child,
        )
        # One domain name, so ACM asks for exactly one record.
        validation = certificate.domain_validation_options.apply(
            lambda options: _ValidationRecord.of(options[0])
        )
        record = aws.route53.Record(
            f"{name}-certificate-validation-record",
            zone_id=zone_id,
            name=validation.apply(lambda record: record.name),
            type=validation.apply(lambda record: record.type),
            records=[validation.apply(lambda record: record.value)],
            ttl=300,
            allow_overwrite=True,
            opts=child,
        )
        return aws.acm.CertificateValidation(
            f"{name}-certificate-validation",
            region=CERTIFICATE_REGION,
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            opts=child,
        ).certificate_arn


class _ValidationRecord(NamedTuple):
    name: str
    type: str
    value: str

    @classmethod
    def of(cls, option: aws.acm.outputs.CertificateDomainValidationOption) -> _ValidationRecord:
        name, type_, value = (
            option.resource_record_name,
            option.resource_record_type,
            option.resource_record_value,
        )
        if name is None or type_ is None or value is None:
            raise ValueError(f"ACM gave no DNS validation record for {option.domain_name}")
        return cls(name, type_, value)
