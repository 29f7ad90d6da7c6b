"""The stack's configuration, read and checked before any resource is declared.

Every setting is one `pulumi config set KEY VALUE` (see Pulumi.yaml for types and defaults).
A bad value raises InvalidSetting, whose message names the key and how to fix it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

import pulumi

from private_pypi.contract import KEY_ROTATION_SETTING

# S3 general purpose bucket naming rules, minus dots: virtual-hosted HTTPS URLs
# (https://BUCKET.s3.REGION.amazonaws.com/) fail certificate checks for dotted names,
# and that is the URL pip reads in S3-only mode.
_BUCKET_NAME_PART = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_BUCKET_NAME_MAX = 63
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")
_IAM_USER_NAME_MAX = 64
_DOMAIN_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# CloudFront only accepts certificates from ACM in us-east-1.
_CLOUDFRONT_CERTIFICATE_ARN = re.compile(
    r"^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[\w-]+$"
)
# A reader's name is its Basic-auth username and its key in CloudFront's KeyValueStore
# (keys up to 512 bytes). No ':' (RFC 7617 usernames), nothing a URL or .netrc must escape.
_READER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
_READER_KEYS = frozenset({"name", "githubRepository"})
DEFAULT_KEY_ROTATION_DAYS = 90  # as in Pulumi.yaml


class InvalidSetting(pulumi.RunError):
    """A setting is missing or malformed. RunError makes Pulumi print only the message."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        super().__init__(f"{key}: {problem}. {fix}")
        self.key = key


@dataclass(frozen=True)
class GitHubRepository:
    owner: str
    name: str

    def __str__(self) -> str:
        """As GitHub writes it, and as githubRepository is set: owner/name."""
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class CustomDomain:
    name: str
    hosted_zone_id: str | None
    certificate_arn: str | None

    @property
    def zone_name(self) -> str:
        """The hosted zone to look up when no id is given: the parent of a subdomain."""
        labels = self.name.split(".")
        return self.name if len(labels) <= 2 else ".".join(labels[1:])


@dataclass(frozen=True)
class KeyRotation:
    """When the deployer's access key is replaced: `every_days` after it was created, or
    when `token` changes (components/key_clock.py keeps the creation time)."""

    token: str
    every_days: int


class Access(enum.StrEnum):
    """Who may read the index: anyone, or only the configured readers (behind CloudFront)."""

    PUBLIC = "public"
    PRIVATE = "private"


@dataclass(frozen=True)
class Reader:
    """A reader of a private index: its name (the username), and the repository for its token."""

    name: str
    github_repository: GitHubRepository | None = None


@dataclass(frozen=True)
class Settings:
    project_name: str
    environment: str
    region: str
    custom_domain: CustomDomain | None
    cdn: bool
    github_repository: GitHubRepository | None
    key_rotation: KeyRotation
    force_destroy: bool
    protect_bucket: bool
    access: Access = Access.PUBLIC
    readers: tuple[Reader, ...] = ()

    @property
    def bucket_name(self) -> str:
        return f"{self.project_name}-pypi-{self.environment}"

    @property
    def deployer_name(self) -> str:
        return f"{self.project_name}-pypi-deployer-{self.environment}"

    @property
    def serves_through_cloudfront(self) -> bool:
        return self.cdn or self.custom_domain is not None

    @classmethod
    def from_config(cls, config: pulumi.Config, stack: str, region: str | None) -> Settings:
        """Read the project's settings; `region` is `aws:region`, which the AWS provider owns."""
        project_name = _required(config, "projectName")
        explicit_environment = _optional(config, "environment")
        environment = explicit_environment or stack
        _check_bucket_name(
            project_name,
            environment,
            environment_key="environment"
            if explicit_environment
            else f"environment (the stack name {stack!r} by default)",
        )
        settings = cls(
            project_name=project_name,
            environment=environment,
            region=_region(region),
            custom_domain=_custom_domain(config),
            cdn=config.get_bool("cdn") or False,
            github_repository=_github_repository(_optional(config, "githubRepository")),
            key_rotation=KeyRotation(
                token=_optional(config, KEY_ROTATION_SETTING) or "",
                every_days=_rotation_days(config),
            ),
            force_destroy=config.get_bool("forceDestroy") or False,
            protect_bucket=stack == "production",
            access=_access(config),
            readers=_readers(config),
        )
        _check_user_name(settings.deployer_name)
        _check_private_reads(settings)
        return settings


def _optional(config: pulumi.Config, key: str) -> str | None:
    """Pulumi.yaml defaults optional strings to "": both mean unset."""
    value = (config.get(key) or "").strip()
    return value or None


def _required(config: pulumi.Config, key: str) -> str:
    value = _optional(config, key)
    if value is None:
        raise InvalidSetting(
            key, "is not set", f"Run `pulumi config set {key} <value>`, e.g. `acme`"
        )
    return value


def _region(region: str | None) -> str:
    if not region:
        raise InvalidSetting(
            "aws:region", "is not set", "Run `pulumi config set aws:region us-east-1`"
        )
    return region


def _rotation_days(config: pulumi.Config) -> int:
    days = config.get_int("keyRotationDays")
    if days is None:
        return DEFAULT_KEY_ROTATION_DAYS
    if days < 1:
        raise InvalidSetting(
            "keyRotationDays",
            f"must be at least 1 day, not {days}",
            "Run `pulumi config set keyRotationDays 90`",
        )
    return days


def _custom_domain(config: pulumi.Config) -> CustomDomain | None:
    name = _optional(config, "domainName")
    hosted_zone_id = _optional(config, "hostedZoneId")
    certificate_arn = _optional(config, "certificateArn")
    if name is None:
        for key, value in (("hostedZoneId", hosted_zone_id), ("certificateArn", certificate_arn)):
            if value is not None:
                raise InvalidSetting(
                    key,
                    "is only used with a custom domain, and domainName is not set",
                    "Run `pulumi config set domainName packages.example.com`, "
                    f"or `pulumi config rm {key}`",
                )
        return None
    _check_domain_name(name)
    if certificate_arn is not None and not _CLOUDFRONT_CERTIFICATE_ARN.match(certificate_arn):
        raise InvalidSetting(
            "certificateArn",
            f"{certificate_arn!r} is not an ACM certificate ARN in us-east-1, "
            "the only region CloudFront reads certificates from",
            "Give an arn:aws:acm:us-east-1:ACCOUNT:certificate/ID, "
            "or `pulumi config rm certificateArn` to have one created",
        )
    return CustomDomain(name, hosted_zone_id, certificate_arn)


def _check_domain_name(name: str) -> None:
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(map(_DOMAIN_LABEL.match, labels)):
        raise InvalidSetting(
            "domainName",
            f"{name!r} is not a domain name",
            "Give a lowercase host name without scheme, path or trailing dot, "
            "e.g. `pulumi config set domainName packages.example.com`",
        )


def _as_github_repository(value: str) -> GitHubRepository | None:
    """`owner/name` as a repository, or None if it is not one."""
    owner, _, name = value.partition("/")
    if not (_GITHUB_OWNER.match(owner) and _GITHUB_NAME.match(name)) or name in (".", ".."):
        return None
    return GitHubRepository(owner, name)


def _github_repository(value: str | None) -> GitHubRepository | None:
    if value is None:
        return None
    repository = _as_github_repository(value)
    if repository is None:
        raise InvalidSetting(
            "githubRepository",
            f"{value!r} is not of the form owner/name",
            "Run `pulumi config set githubRepository my-org/my-repo`, "
            "or `pulumi config rm githubRepository` to set the secrets by hand",
        )
    return repository


def _check_bucket_name(project_name: str, environment: str, *, environment_key: str) -> None:
    bucket = f"{project_name}-pypi-{environment}"
    if not _BUCKET_NAME_PART.match(project_name) or project_name.startswith(
        _BUCKET_RESERVED_PREFIXES
    ):
        raise InvalidSetting(
            "projectName",
            f"{project_name!r} would make the bucket name {bucket!r}, which S3 refuses "
            "or pip cannot read over HTTPS",
            "Use lowercase letters, digits and hyphens, starting with a letter or digit, "
            "e.g. `pulumi config set projectName acme`",
        )
    if not _BUCKET_NAME_PART.match(environment) or bucket.endswith(_BUCKET_RESERVED_SUFFIXES):
        raise InvalidSetting(
            environment_key,
            f"{environment!r} would make the bucket name {bucket!r}, which S3 refuses "
            "or pip cannot read over HTTPS",
            "Use lowercase letters, digits and hyphens, "
            "e.g. `pulumi config set environment production`",
        )
    if len(bucket) > _BUCKET_NAME_MAX:
        raise InvalidSetting(
            "projectName",
            f"{project_name!r} makes the bucket name {bucket!r} {len(bucket)} characters long, "
            f"over S3's {_BUCKET_NAME_MAX}",
            "Choose a shorter projectName (or environment)",
        )


def _check_user_name(user: str) -> None:
    if len(user) > _IAM_USER_NAME_MAX:
        raise InvalidSetting(
            "projectName",
            f"makes the IAM user name {user!r} {len(user)} characters long, over IAM's 64",
            "Choose a shorter projectName or environment",
        )


def _access(config: pulumi.Config) -> Access:
    value = _optional(config, "access") or Access.PUBLIC
    try:
        return Access(value)
    except ValueError:
        raise InvalidSetting(
            "access",
            f"{value!r} is neither public nor private",
            "Run `pulumi config set access private` (readers need a token) "
            "or `pulumi config set access public`",
        ) from None


def _readers(config: pulumi.Config) -> tuple[Reader, ...]:
    """`readers`: a list of {name, githubRepository?}, set with `pulumi config set --path`."""
    example = "Run `pulumi config set --path 'readers[0].name' ci`"
    try:
        value = config.get_object("readers")
    except pulumi.ConfigTypeError:
        raise InvalidSetting("readers", "is not a list", example) from None
    if value is None or value == "":
        return ()
    if not isinstance(value, list):
        raise InvalidSetting("readers", "is not a list of {name, githubRepository}", example)
    readers: list[Reader] = []
    owners: dict[GitHubRepository, str] = {}
    for position, entry in enumerate(value):
        key = f"readers[{position}]"
        reader = _reader(entry, key)
        if any(reader.name == earlier.name for earlier in readers):
            raise InvalidSetting(
                f"{key}.name", f"{reader.name!r} is named twice", "Give every reader its own name"
            )
        repository = reader.github_repository
        if repository is not None and repository in owners:
            raise InvalidSetting(
                f"{key}.githubRepository",
                f"{repository} already holds reader "
                f"{owners[repository]!r}'s secrets, and they have the same names",
                "Give each repository at most one reader",
            )
        if repository is not None:
            owners[repository] = reader.name
        readers.append(reader)
    return tuple(readers)


def _reader(entry: object, key: str) -> Reader:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise InvalidSetting(
            f"{key}.name", "is not set", f"Run `pulumi config set --path '{key}.name' ci`"
        )
    unknown = sorted(set(entry) - _READER_KEYS)
    if unknown:
        raise InvalidSetting(
            f"{key}.{unknown[0]}",
            "is not a reader setting (a reader has a name and a githubRepository)",
            f"Run `pulumi config rm --path '{key}.{unknown[0]}'`",
        )
    name = entry["name"]
    if not _READER_NAME.match(name):
        raise InvalidSetting(
            f"{key}.name",
            f"{name!r} is not a reader name: it becomes the username readers send",
            "Use 1 to 64 lowercase letters, digits, '.', '_' or '-', starting and ending "
            f"with a letter or digit, e.g. `pulumi config set --path '{key}.name' ci`",
        )
    value = entry.get("githubRepository")
    if value is None or value == "":
        return Reader(name)
    repository = _as_github_repository(value) if isinstance(value, str) else None
    if repository is None:
        raise InvalidSetting(
            f"{key}.githubRepository",
            f"{value!r} is not of the form owner/name",
            f"Run `pulumi config set --path '{key}.githubRepository' my-org/my-repo`, "
            f"or `pulumi config rm --path '{key}.githubRepository'`",
        )
    return Reader(name, repository)


def _check_private_reads(settings: Settings) -> None:
    if settings.access is Access.PRIVATE and not settings.serves_through_cloudfront:
        raise InvalidSetting(
            "access",
            "private reads are checked by CloudFront, and neither cdn nor domainName is set",
            "Run `pulumi config set cdn true` (or set domainName), "
            "or `pulumi config set access public`",
        )
    if settings.readers and settings.access is Access.PUBLIC:
        raise InvalidSetting(
            "readers",
            "are only used by a private index, and access is public",
            "Run `pulumi config set access private`, or `pulumi config rm readers`",
        )


# How CI reaches AWS, and adopting the seed's deployment. Read after Settings, by their own
# functions, so each stays one `pulumi config set` with one clear error.
ACCESS_KEY, OIDC = "access-key", "oidc"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
_OIDC_PROVIDER_ARN = re.compile(
    rf"^arn:aws[a-z-]*:iam::\d{{12}}:oidc-provider/{re.escape(GITHUB_OIDC_HOST)}$"
)
# A branch, a tag (glob allowed, e.g. refs/tags/v*) or a deployment environment.
_PUBLISH_REF = re.compile(r"^(?:refs/(?:heads|tags)/[A-Za-z0-9._/*-]+|environment:[\w.-]+)$")
_IAM_ROLE_NAME_MAX = 64
# RFC 5280: an ACM certificate's domain name, its Common Name, is at most 64 characters.
_ACM_DOMAIN_NAME_MAX = 64


@dataclass(frozen=True)
class OidcPublishing:
    """CI assumes a role through GitHub's OIDC provider: no long-lived key anywhere."""

    repository: GitHubRepository
    role_name: str
    # Reuse the account's provider (one per URL); None creates it.
    provider_arn: str | None
    ref: str | None

    @property
    def subject(self) -> str:
        """The `sub` claim the role trusts: this repository, and with publishRef one ref."""
        scope = f"repo:{self.repository}"
        if self.ref is None:
            return f"{scope}:*"
        if self.ref.startswith("environment:"):
            return f"{scope}:{self.ref}"
        return f"{scope}:ref:{self.ref}"


def publish_with(config: pulumi.Config, settings: Settings) -> OidcPublishing | None:
    """publishWith: `access-key` (the default) or `oidc`, with its settings."""
    mode = _optional(config, "publishWith") or ACCESS_KEY
    provider_arn = _optional(config, "githubOidcProviderArn")
    ref = _optional(config, "publishRef")
    if mode not in (ACCESS_KEY, OIDC):
        raise InvalidSetting(
            "publishWith",
            f"{mode!r} is neither {ACCESS_KEY} nor {OIDC}",
            f"Run `pulumi config set publishWith {OIDC}`, or `pulumi config rm publishWith`",
        )
    if mode == ACCESS_KEY:
        for key, value in (("githubOidcProviderArn", provider_arn), ("publishRef", ref)):
            if value is not None:
                raise InvalidSetting(
                    key,
                    f"is only used with publishWith {OIDC}",
                    f"Run `pulumi config set publishWith {OIDC}`, or `pulumi config rm {key}`",
                )
        return None
    if settings.github_repository is None:
        raise InvalidSetting(
            "githubRepository",
            f"is required with publishWith {OIDC}: the role trusts only that repository",
            "Run `pulumi config set githubRepository my-org/my-repo`",
        )
    if provider_arn is not None and not _OIDC_PROVIDER_ARN.match(provider_arn):
        raise InvalidSetting(
            "githubOidcProviderArn",
            f"{provider_arn!r} is not the ARN of an IAM OIDC provider for {GITHUB_OIDC_HOST}",
            f"Give arn:aws:iam::ACCOUNT:oidc-provider/{GITHUB_OIDC_HOST} (IAM console, "
            "Identity providers), or `pulumi config rm githubOidcProviderArn` to create it",
        )
    if ref is not None and not _PUBLISH_REF.match(ref):
        raise InvalidSetting(
            "publishRef",
            f"{ref!r} is not a branch, tag or environment",
            "Give refs/heads/main, refs/tags/v* or environment:production, "
            "or `pulumi config rm publishRef` to trust every ref of the repository",
        )
    role_name = f"{settings.project_name}-pypi-publisher-{settings.environment}"
    if len(role_name) > _IAM_ROLE_NAME_MAX:
        raise InvalidSetting(
            "projectName",
            f"makes the IAM role name {role_name!r} {len(role_name)} characters long, "
            f"over IAM's {_IAM_ROLE_NAME_MAX}",
            "Choose a shorter projectName or environment",
        )
    return OidcPublishing(settings.github_repository, role_name, provider_arn, ref)


def adopt_existing(config: pulumi.Config) -> bool:
    """adoptExisting: import the seed's bucket and deployer user instead of creating them."""
    return config.get_bool("adoptExisting") or False


def check_certificate_domain(domain: CustomDomain | None) -> None:
    """ACM refuses to create a certificate for a name over 64 characters."""
    if domain is None or domain.certificate_arn is not None:
        return
    if len(domain.name) > _ACM_DOMAIN_NAME_MAX:
        raise InvalidSetting(
            "domainName",
            f"{domain.name!r} is {len(domain.name)} characters long; ACM creates certificates "
            f"only for names up to {_ACM_DOMAIN_NAME_MAX}",
            "Bring a certificate that covers it: `pulumi config set certificateArn "
            "arn:aws:acm:us-east-1:ACCOUNT:certificate/ID`",
        )
