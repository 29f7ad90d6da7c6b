"""What the infrastructure and the publishing library agree on, in one place.

The Pulumi program creates the bucket, the CDN and the GitHub secrets; the library reads
them back. Both sides import these names from here, so a rename cannot leave one behind.
This module imports nothing, so components/ can import it without the library's
dependencies, and the library never imports Pulumi.
"""

from __future__ import annotations

# Every page and file lives under this key prefix, and is served under /simple/.
INDEX_PREFIX = "simple/"
# The browse pages for people, beside simple/: the root page (CloudFront's default root
# object), a page per project under project/, and their stylesheet and script under
# static/, which never change once stored (their names carry their content's hash).
BROWSE_ROOT = "index.html"
BROWSE_PREFIX = "project/"
STATIC_PREFIX = "static/"

# Pages change on every publish and must be seen straight after it; files never change.
PAGE_MAX_AGE_SECONDS = 60
PAGE_CACHE_CONTROL = f"public, max-age={PAGE_MAX_AGE_SECONDS}"
FILE_CACHE_CONTROL = "public, max-age=31536000, immutable"

# The bucket is versioned: a deleted or replaced object's old version is kept this long.
NONCURRENT_VERSION_DAYS = 90

# What the browse pages may load and run: their own stylesheet and script, and nothing a
# project's description brings (no script, no inline style, no image from elsewhere).
# The pages carry it in a <meta> tag; CloudFront sends it as a header too, with what
# only a header can say (frame-ancestors).
BROWSE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'"
)

# A release's files, which never change once published (the bucket policy refuses to
# overwrite them), and the yank marker beside them: all a deployer may delete.
DISTRIBUTION_SUFFIXES = (".whl", ".tar.gz", ".zip")
METADATA_SUFFIX = ".metadata"  # PEP 658: the wheel's METADATA beside it
YANK_SUFFIX = ".yank"  # its body is the yank reason, so yanks survive reindex

# The deployer's credentials and the repository's coordinates, as GitHub Actions secrets
# (set by components/deployer.py) and as the variables `invoke publish` reads.
BUCKET_VARIABLE = "AWS_PYPI_BUCKET"
REGION_VARIABLE = "AWS_PYPI_REGION"
ACCESS_KEY_ID_VARIABLE = "AWS_PYPI_ACCESS_KEY_ID"
SECRET_ACCESS_KEY_VARIABLE = "AWS_PYPI_SECRET_ACCESS_KEY"
ROLE_ARN_VARIABLE = "AWS_PYPI_ROLE_ARN"
DISTRIBUTION_ID_VARIABLE = "AWS_PYPI_DISTRIBUTION_ID"
# The seed's name for the bucket, as `invoke env` prints it for a shell.
SEED_BUCKET_VARIABLE = "S3_PYPI_BUCKET"

# The repository a command uses, before the bucket variables above: what the GitHub Action
# sets from its `repository` input (the command's other options have variables too).
REPOSITORY_VARIABLE = "PRIVATE_PYPI_REPOSITORY"

# A reader of a private index (components/readers.py sets them; verify reads them).
READER_INDEX_URL_VARIABLE = "PRIVATE_PYPI_INDEX_URL"
READER_USERNAME_VARIABLE = "PRIVATE_PYPI_USERNAME"
READER_TOKEN_VARIABLE = "PRIVATE_PYPI_TOKEN"

# Stack outputs (`pulumi stack output NAME`) that the library and the docs name.
BUCKET_NAME_OUTPUT = "bucketName"
REGION_OUTPUT = "region"
INDEX_URL_OUTPUT = "indexUrl"
DISTRIBUTION_ID_OUTPUT = "distributionId"
DEPLOYMENT_USER_OUTPUT = "deploymentUserName"
PUBLISH_ROLE_ARN_OUTPUT = "publishRoleArn"
ACCESS_KEY_ID_OUTPUT = "accessKeyId"
SECRET_ACCESS_KEY_OUTPUT = "accessKeySecret"
# Without githubRepository: the `gh secret set` commands; `invoke rotate-keys` points at it.
GITHUB_SECRETS_BY_HAND_OUTPUT = "githubSecretsByHand"

# The stack setting whose change replaces the deployer's key (`invoke rotate-keys` sets it).
KEY_ROTATION_SETTING = "keyRotation"


def s3_index_url(bucket: str, region: str) -> str:
    """The index on the bucket's S3 REST endpoint, which pip reads without a CDN."""
    return f"https://{bucket}.s3.{region}.amazonaws.com/{INDEX_PREFIX}"


def cdn_index_url(host: str) -> str:
    """The index behind CloudFront, on its own name or a custom domain."""
    return f"https://{host}/{INDEX_PREFIX}"
