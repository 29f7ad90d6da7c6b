"""The rendered policies, enforced over real HTTP: CI publishes, anyone installs.

moto enforces the deployer's IAM policy and the bucket policy's `Principal: "*"` statements,
but ignores Condition, so the bucket gets the policy's unconditional statements and the
policy gate in front of moto (policy_gate.py) evaluates the conditional Deny statements
that guard writes; test_policies.py reads the rest (TLS, prefixes, CloudFront's source).
With IAM enforced moto refuses anonymous requests, so enforcement is switched off
(`/moto-api/reset-auth`) before the anonymous reads. moto's settings and backends are
global to the process: buckets and users here get unique names, and enforcement is always
switched back off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from components.policies import deployer_policy, public_index_bucket_policy
from tests.invoking import invoke
from tests.motoserver import MotoServer, applicable_policy

from .policy_gate import BucketPolicyGate

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ADMIN = {"aws_access_key_id": "admin", "aws_secret_access_key": "admin"}


@dataclass(frozen=True)
class Moto:
    """The server, and the gate in front of it that evaluates the conditional Denys."""

    server: MotoServer
    gate: BucketPolicyGate

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def client(self, service: str, **credentials: str):
        config = Config(retries={"max_attempts": 1})
        return self.server.client(service, config=config, **(credentials or ADMIN))

    def enforce_iam(self, enforced: bool) -> None:
        self.server.enforce_iam(enforced)

    def put_bucket_policy(self, s3, bucket: str, policy: dict) -> None:
        """What moto can evaluate of the policy to moto (with `s3`), the rest to the gate."""
        s3.put_bucket_policy(Bucket=bucket, Policy=applicable_policy(policy))
        self.gate.enforce(bucket, policy)


@dataclass(frozen=True)
class Deployment:
    """What `pulumi up` makes in S3-only mode, rebuilt in moto from the rendered policies."""

    moto: Moto
    bucket: str
    other_bucket: str
    credentials: dict[str, str]
    admin_credentials: dict[str, str]

    def s3(self):
        return self.moto.client("s3", **self.credentials)

    def admin_s3(self):
        return self.moto.client("s3", **self.admin_credentials)

    def anonymous_get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"{self.moto.endpoint}/{self.bucket}/{path}") as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    gates: list[BucketPolicyGate] = []
    with MotoServer(wrap=lambda app: gates.append(BucketPolicyGate(app)) or gates[0]) as server:
        moto = Moto(server, gates[0])
        try:
            yield moto
        finally:
            moto.enforce_iam(False)


@pytest.fixture(scope="module")
def deployment(moto: Moto) -> Iterator[Deployment]:
    suffix = uuid.uuid4().hex[:8]
    bucket, other_bucket = f"acme-pypi-{suffix}", f"other-{suffix}"
    s3, iam = moto.client("s3"), moto.client("iam")
    for name in (bucket, other_bucket):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    moto.put_bucket_policy(s3, bucket, public_index_bucket_policy(f"arn:aws:s3:::{bucket}"))
    s3.put_object(Bucket=bucket, Key="notes/private.txt", Body=b"not for the public")

    user = f"acme-pypi-deployer-{suffix}"
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="publish",
        PolicyDocument=json.dumps(deployer_policy(f"arn:aws:s3:::{bucket}", None)),
    )
    administrator = f"admin-{suffix}"
    iam.create_user(UserName=administrator)
    iam.put_user_policy(
        UserName=administrator,
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    credentials, admin_credentials = (
        {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }
        for key in (
            iam.create_access_key(UserName=name)["AccessKey"] for name in (user, administrator)
        )
    )
    moto.enforce_iam(True)
    try:
        yield Deployment(moto, bucket, other_bucket, credentials, admin_credentials)
    finally:
        moto.enforce_iam(False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("hello-acme")
    (project / "hello_acme.py").write_text('"""Says hello."""\n\n__version__ = "1.0.0"\n')
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [build-system]
            requires = ["flit_core>=3.9,<4"]
            build-backend = "flit_core.buildapi"

            [project]
            name = "hello-acme"
            dynamic = ["version", "description"]
            """
        )
    )
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", dist, project],
        check=True,
        capture_output=True,
    )
    (built,) = dist.glob("*.whl")
    return built


def clean_environment() -> dict[str, str]:
    """This process's environment without any AWS, pip or uv settings of the machine."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "PIP_", "UV_"))
    }


@pytest.fixture(scope="module")
def published(deployment: Deployment, wheel: Path) -> Deployment:
    """`invoke publish` as CI runs it, with the deployer's key and nothing else."""
    result = run_task(
        *("publish", "--dist", str(wheel.parent), "--repository", f"s3://{deployment.bucket}"),
        credentials=deployment.credentials,
        endpoint=deployment.moto.endpoint,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return deployment


def assert_denied(call, *args, **kwargs) -> None:
    with pytest.raises(ClientError) as error:
        call(*args, **kwargs)
    assert error.value.response["Error"]["Code"] in {"AccessDenied", "403"}, error.value.response


def test_the_deployer_publishes_with_its_key(published: Deployment, wheel: Path):
    keys = {o["Key"] for o in published.s3().list_objects_v2(Bucket=published.bucket)["Contents"]}

    project = "simple/hello-acme/"
    assert {f"{project}{wheel.name}", f"{project}{wheel.name}.metadata"} <= keys
    assert {project, f"{project}index.html", f"{project}index.json"} <= keys
    assert {"simple/", "simple/index.html", "simple/index.json"} <= keys


def test_the_deployer_cannot_touch_another_bucket(published: Deployment):
    s3 = published.s3()

    assert_denied(s3.put_object, Bucket=published.other_bucket, Key="x", Body=b"x")
    assert_denied(s3.list_objects_v2, Bucket=published.other_bucket)
    assert_denied(s3.create_bucket, Bucket=f"{published.other_bucket}-new")


def test_the_deployer_cannot_change_the_bucket_policy(published: Deployment):
    s3 = published.s3()

    assert_denied(s3.get_bucket_policy, Bucket=published.bucket)
    assert_denied(s3.put_bucket_policy, Bucket=published.bucket, Policy="{}")
    assert_denied(s3.delete_bucket_policy, Bucket=published.bucket)


def test_the_deployer_cannot_use_iam(published: Deployment):
    iam = published.moto.client("iam", **published.credentials)

    assert_denied(iam.list_users)
    assert_denied(iam.create_access_key, UserName="acme-pypi-deployer-anyone")
    assert_denied(iam.create_user, UserName="intruder")


@pytest.fixture
def anonymous(published: Deployment) -> Iterator[Deployment]:
    published.moto.enforce_iam(False)
    try:
        yield published
    finally:
        published.moto.enforce_iam(True)


def test_anyone_reads_the_index_and_nothing_else(anonymous: Deployment):
    assert anonymous.anonymous_get("simple/") == 200
    assert anonymous.anonymous_get("simple/hello-acme/") == 200
    assert anonymous.anonymous_get("simple/hello-acme/index.json") == 200
    assert anonymous.anonymous_get("notes/private.txt") == 403


def test_anyone_reads_the_browse_pages_the_deployer_wrote(anonymous: Deployment):
    keys = {
        o["Key"] for o in anonymous.admin_s3().list_objects_v2(Bucket=anonymous.bucket)["Contents"]
    }
    assets = sorted(key for key in keys if key.startswith("static/"))

    assert {"index.html", "project/index.json", "project/hello-acme/index.html"} <= keys
    assert sorted(asset.rsplit(".", 1)[1] for asset in assets) == ["css", "js"]
    for key in ("index.html", "project/hello-acme/index.html", *assets):
        assert anonymous.anonymous_get(key) == 200, key


def test_anyone_pip_installs_from_the_index(anonymous: Deployment, tmp_path: Path):
    target = tmp_path / "site"
    index_url = f"{anonymous.moto.endpoint}/{anonymous.bucket}/simple/"

    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--no-cache-dir", "--no-deps"),
            *("--index-url", index_url, "--target", str(target), "hello-acme==1.0.0"),
        ],
        env={
            **clean_environment(),
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "hello_acme.py").exists()


def published_key(deployment: Deployment, suffix: str) -> str:
    keys = [
        o["Key"]
        for o in deployment.s3().list_objects_v2(Bucket=deployment.bucket, Prefix="simple/")[
            "Contents"
        ]
    ]
    (key,) = [key for key in keys if key.endswith(suffix)]
    return key


def test_a_stolen_key_cannot_overwrite_a_published_file(published: Deployment):
    s3 = published.s3()
    wheel = published_key(published, ".whl")

    assert_denied(s3.put_object, Bucket=published.bucket, Key=wheel, Body=b"malware")
    assert_denied(s3.put_object, Bucket=published.bucket, Key=f"{wheel}.metadata", Body=b"x")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=published.bucket, Key=wheel, Body=b"malware", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"


def test_a_stolen_key_cannot_write_outside_the_index_or_with_its_own_encryption_key(
    published: Deployment,
):
    s3 = published.s3()

    assert_denied(s3.put_object, Bucket=published.bucket, Key="notes/x", Body=b"x")
    assert_denied(
        s3.put_object,
        Bucket=published.bucket,
        Key="simple/x.html.gz",
        Body=b"x",
        SSECustomerAlgorithm="AES256",
        SSECustomerKey="k" * 32,
    )
    assert_denied(s3.get_object, Bucket=published.bucket, Key="notes/private.txt")


def test_a_stolen_key_deletes_only_release_files_and_versioning_brings_them_back(
    published: Deployment,
):
    s3, admin = published.s3(), published.admin_s3()
    wheel = published_key(published, ".whl")

    assert_denied(s3.delete_object, Bucket=published.bucket, Key="simple/index.html")
    assert_denied(s3.delete_object, Bucket=published.bucket, Key="notes/private.txt")
    s3.delete_object(Bucket=published.bucket, Key=wheel)
    versions = s3_versions = admin.list_object_versions(Bucket=published.bucket, Prefix=wheel)
    (marker,) = versions["DeleteMarkers"]
    assert_denied(
        s3.delete_object,
        Bucket=published.bucket,
        Key=wheel,
        VersionId=s3_versions["Versions"][0]["VersionId"],
    )

    # The documented recovery (docs/how-to/yank-and-delete.md): remove the delete marker,
    # and the wheel is back as it was.
    admin.delete_object(Bucket=published.bucket, Key=wheel, VersionId=marker["VersionId"])
    assert admin.head_object(Bucket=published.bucket, Key=wheel)["ContentLength"] > 0


def test_a_large_upload_passes_the_guards_and_can_abort_its_parts(
    published: Deployment, tmp_path: Path
):
    from private_pypi.aws import Access
    from private_pypi.storage import S3Settings, S3Storage
    from private_pypi.storage.s3 import MULTIPART_THRESHOLD

    storage = S3Storage(
        S3Settings(
            published.bucket,
            Access(
                published.credentials["aws_access_key_id"],
                published.credentials["aws_secret_access_key"],
                REGION,
                published.moto.endpoint,
            ),
        )
    )
    big = tmp_path / "big-1.0-py3-none-any.whl"
    big.write_bytes(os.urandom(MULTIPART_THRESHOLD + 1024))
    key = "simple/big/big-1.0-py3-none-any.whl"

    assert storage.upload(key, big, content_type="x", cache_control="x", metadata={})
    assert storage.upload(key, big, content_type="x", cache_control="x", metadata={}) is None

    s3 = published.s3()
    upload = s3.create_multipart_upload(Bucket=published.bucket, Key="simple/big/part.whl")
    s3.upload_part(
        Bucket=published.bucket,
        Key="simple/big/part.whl",
        PartNumber=1,
        UploadId=upload["UploadId"],
        Body=b"x" * 1024,
    )
    s3.abort_multipart_upload(
        Bucket=published.bucket, Key="simple/big/part.whl", UploadId=upload["UploadId"]
    )


def test_a_github_actions_run_publishes_with_the_oidc_role_and_no_key(
    deployment: Deployment, wheel: Path
):
    """publishWith oidc, as the workflow runs it: configure-aws-credentials calls
    AssumeRoleWithWebIdentity and exports the session; `invoke publish` runs unchanged.

    moto does not check the token's signature or the trust policy's conditions (those are
    read in test_policies.py and test_program.py); it does enforce the role's policy."""
    from components.policies import github_oidc_trust_policy

    admin_iam = deployment.moto.client("iam", **deployment.admin_credentials)
    bucket = f"acme-pypi-oidc-{uuid.uuid4().hex[:8]}"
    deployment.admin_s3().create_bucket(Bucket=bucket)
    deployment.moto.gate.enforce(bucket, public_index_bucket_policy(f"arn:aws:s3:::{bucket}"))
    provider = admin_iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["0" * 40],
    )["OpenIDConnectProviderArn"]
    role_name = f"acme-pypi-publisher-{uuid.uuid4().hex[:8]}"
    role = admin_iam.create_role(
        RoleName=role_name,
        AssumeRolePolicyDocument=json.dumps(
            github_oidc_trust_policy(provider, "repo:acme/python-packages:*")
        ),
    )["Role"]
    admin_iam.put_role_policy(
        RoleName=role_name,
        PolicyName="publish",
        PolicyDocument=json.dumps(deployer_policy(f"arn:aws:s3:::{bucket}", None)),
    )
    # AssumeRoleWithWebIdentity is an unsigned call, which moto's enforcement cannot take.
    deployment.moto.enforce_iam(False)
    try:
        credentials = deployment.moto.client("sts").assume_role_with_web_identity(
            RoleArn=role["Arn"],
            RoleSessionName="GitHubActions",
            WebIdentityToken="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvcGFja2FnZXMifQ.x",
        )["Credentials"]
    finally:
        deployment.moto.enforce_iam(True)
    role_environment = {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }
    result = invoke(
        *("publish", "--dist", str(wheel.parent)),
        env={
            **role_environment,
            "AWS_ENDPOINT_URL": deployment.moto.endpoint,
            "AWS_PYPI_BUCKET": bucket,
            "AWS_PYPI_REGION": REGION,
            # The workflow passes the absent key secrets as empty strings.
            "AWS_PYPI_ACCESS_KEY_ID": "",
            "AWS_PYPI_SECRET_ACCESS_KEY": "",
        },
    )

    assert result.returncode == 0, result.stdout + result.stderr
    as_role = deployment.moto.client("s3", **{k.lower(): v for k, v in role_environment.items()})
    listed = as_role.list_objects_v2(Bucket=bucket, Prefix="simple/hello-acme/")
    assert f"simple/hello-acme/{wheel.name}" in {o["Key"] for o in listed["Contents"]}
    assert_denied(as_role.put_object, Bucket=bucket, Key="notes/x", Body=b"x")
    assert_denied(as_role.list_objects_v2, Bucket=deployment.bucket)


def seed_page(files: list[str]) -> bytes:
    """A project page as the seed's scripts/distribute.sh wrote it: plain links, no hashes."""
    links = "".join(f'<a href="{name}">{name}</a><br/>\n' for name in files)
    return f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n".encode()


def run_task(*args: str, credentials: dict[str, str], endpoint: str) -> subprocess.CompletedProcess:
    """`invoke ARGS` with these keys as the AWS_PYPI_* secrets, and nothing else of AWS."""
    return invoke(
        *args,
        env={
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_PYPI_ACCESS_KEY_ID": credentials["aws_access_key_id"],
            "AWS_PYPI_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
            "AWS_PYPI_REGION": REGION,
        },
    )


def test_reindex_adopts_the_templates_bucket_under_the_new_policy(
    deployment: Deployment, example_dists: list[Path]
):
    """docs/how-to/migrate.md, "Moving from CloudFormation", step 3: the bucket as
    distribute.sh left it (simple/NAME/index.html beside the files; no directory keys, no
    JSON, no metadata), then our bucket policy, then `invoke reindex` and `invoke verify`."""
    admin = deployment.admin_s3()
    bucket = f"my-company-pypi-{uuid.uuid4().hex[:8]}"
    admin.create_bucket(Bucket=bucket)
    admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    by_project: dict[str, list[Path]] = {}
    for dist in example_dists:
        project = dist.name.split("-")[0].replace("_", "-")
        by_project.setdefault(project, []).append(dist)
    for project, dists in by_project.items():
        for dist in dists:
            admin.put_object(
                Bucket=bucket, Key=f"simple/{project}/{dist.name}", Body=dist.read_bytes()
            )
        admin.put_object(
            Bucket=bucket,
            Key=f"simple/{project}/index.html",
            Body=seed_page([dist.name for dist in dists]),
            ContentType="text/html",
        )
    before = {o["Key"]: o["ETag"] for o in admin.list_objects_v2(Bucket=bucket)["Contents"]}
    assert not any(key.endswith(("/", ".json", ".metadata")) for key in before)
    # One wrong metadata file too, as a hand-made copy might have left: reindex replaces it
    # although the policy refuses overwriting it.
    (hello_wheel,) = [d for d in by_project["acme-hello"] if d.suffix == ".whl"]
    wrong_metadata = f"simple/acme-hello/{hello_wheel.name}.metadata"
    admin.put_object(Bucket=bucket, Key=wrong_metadata, Body=b"Metadata-Version: 2.1\nName: x\n")
    policy = public_index_bucket_policy(f"arn:aws:s3:::{bucket}")
    deployment.moto.put_bucket_policy(admin, bucket, policy)

    def on_the_bucket(task: str) -> subprocess.CompletedProcess:
        """`invoke TASK --repository s3://BUCKET`, as the seed's owner."""
        return run_task(
            task,
            "--repository",
            f"s3://{bucket}",
            credentials=deployment.admin_credentials,
            endpoint=deployment.moto.endpoint,
        )

    reindexed = on_the_bucket("reindex")

    assert reindexed.returncode == 0, reindexed.stdout + reindexed.stderr
    after = {o["Key"]: o["ETag"] for o in admin.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {"simple/", "simple/index.html", "simple/index.json"} <= set(after)
    for project, dists in by_project.items():
        assert {f"simple/{project}/", f"simple/{project}/index.json"} <= set(after)
        for dist in dists:
            key = f"simple/{project}/{dist.name}"
            assert after[key] == before[key], "a published file was rewritten"
            if dist.suffix == ".whl":
                assert f"{key}.metadata" in after
    metadata = admin.get_object(Bucket=bucket, Key=wrong_metadata)["Body"].read().decode()
    assert "Name: acme-hello" in metadata
    page = json.loads(
        admin.get_object(Bucket=bucket, Key="simple/acme-hello/index.json")["Body"].read()
    )
    assert {f["filename"] for f in page["files"]} == {d.name for d in by_project["acme-hello"]}
    assert all(f["hashes"]["sha256"] for f in page["files"])

    # verify reads the pages anonymously, as pip does: moto takes no anonymous reads
    # while it enforces IAM.
    deployment.moto.enforce_iam(False)
    try:
        verified = on_the_bucket("verify")
    finally:
        deployment.moto.enforce_iam(True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
