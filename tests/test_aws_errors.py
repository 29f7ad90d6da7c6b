"""AWS refusals become one line with the fix, and credentials never reach the output.

These run against a moto server of their own that enforces IAM, in a separate process:
moto's enforcement switch and its accounts are global to the process that runs it, and
must not leak into the shared server the other tests use. What moto cannot produce (a
region redirect, an expired session token, throttling) comes from the fault proxy.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from invoke.context import Context
from invoke.exceptions import Exit

import tasks
from private_pypi.aws import Access
from private_pypi.cdn import CdnError, invalidate
from private_pypi.errors import StorageError
from private_pypi.index import Index
from private_pypi.publish import Publisher, inspect_all
from private_pypi.storage import S3Settings, S3Storage
from tests.conftest import REGION
from tests.factory import wheel
from tests.faultproxy import Drop, Fault, FaultProxy, Respond
from tests.invoking import error_line, invoke

# Recognizable, so that any appearance in the output is found.
FAKE_SECRET = "pypi-test-SECRET-must-never-be-printed-0123456789"
UNKNOWN_KEY_ID = "AKIAPYPITESTUNKNOWN1"
QUICK = Config(retries={"mode": "standard", "total_max_attempts": 1})


@dataclass(frozen=True)
class Key:
    id: str
    secret: str


@dataclass(frozen=True)
class Account:
    """An IAM-enforcing S3 with a bucket, a deployer who may publish and a reader who may not."""

    endpoint: str
    bucket: str
    deployer: Key
    reader: Key

    def env(self, key: Key, **overrides: str) -> dict[str, str]:
        """The GitHub secrets CI gives `invoke publish`, with this key."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_PYPI_BUCKET": self.bucket,
            "AWS_PYPI_REGION": REGION,
            "AWS_PYPI_ACCESS_KEY_ID": key.id,
            "AWS_PYPI_SECRET_ACCESS_KEY": key.secret,
            **overrides,
        }

    def storage(self, key: Key, endpoint: str | None = None, config: Config = QUICK) -> S3Storage:
        settings = S3Settings(
            self.bucket, Access(key.id, key.secret, REGION, endpoint or self.endpoint)
        )
        return S3Storage(settings, config=config)

    def stored(self) -> set[str]:
        return {info.key for info in self.storage(self.deployer).list("")}


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(endpoint)
        yield _set_up(endpoint)
    finally:
        server.terminate()
        server.wait()


def _wait_for(endpoint: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _set_up(endpoint: str) -> Account:
    root = boto3.Session("root", "root", region_name=REGION)
    bucket = f"pypi-{uuid.uuid4().hex[:12]}"
    root.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    iam = root.client("iam", endpoint_url=endpoint)

    def user(name: str, actions: list[str]) -> Key:
        iam.create_user(UserName=name)
        statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
        policy = {"Version": "2012-10-17", "Statement": [statement]}
        iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
        created = iam.create_access_key(UserName=name)["AccessKey"]
        return Key(created["AccessKeyId"], created["SecretAccessKey"])

    deployer = user("deployer", ["s3:GetObject", "s3:PutObject", "s3:ListBucket"])
    reader = user("reader", ["s3:GetObject"])
    # From now on every request must be signed by a known key and allowed by its policy.
    enforce = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(enforce).close()
    return Account(endpoint, bucket, deployer, reader)


@pytest.fixture
def dist(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A dist directory with one wheel, of a project named after the test: the tests share
    a bucket, and none may see another's files."""
    project = request.function.__name__.removeprefix("test_").replace("_", "-")
    wheel(tmp_path / "dist", project, "1.0")
    return tmp_path / "dist"


def publish_task(dist: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Exit:
    """Run `invoke publish --dist DIST` in this process, where it must fail; its Exit."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Exit) as failed:
        tasks.publish(Context(), dist=str(dist))
    assert failed.value.code == 1
    return failed.value


def assert_hidden(key: Key, *outputs: str) -> None:
    for output in outputs:
        assert key.secret not in output
        assert key.id not in output


def test_an_unknown_key_is_one_line_with_the_fix_and_no_credential(
    account: Account, dist: Path
) -> None:
    key = Key(UNKNOWN_KEY_ID, FAKE_SECRET)
    failed = invoke("publish", "--dist", str(dist), env=account.env(key))

    assert error_line(failed) == (
        "error: AWS rejected the credentials (InvalidAccessKeyId): the access key is wrong, "
        "deleted or expired; set AWS_PYPI_ACCESS_KEY_ID / AWS_PYPI_SECRET_ACCESS_KEY to a "
        "current key (`uv run invoke rotate-keys` makes a new one)"
    )
    assert_hidden(key, failed.stdout, failed.stderr)


def test_a_wrong_secret_is_rejected_the_same_way(
    account: Account,
    dist: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = Key(account.deployer.id, FAKE_SECRET)
    failed = publish_task(dist, account.env(key), monkeypatch)

    assert str(failed.message).startswith(
        "error: AWS rejected the credentials (SignatureDoesNotMatch): the access key is wrong"
    )
    printed = capsys.readouterr()
    assert_hidden(key, str(failed.message), printed.out, printed.err)


def test_a_key_that_may_not_write_is_access_denied_and_nothing_is_written(
    account: Account,
    dist: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    failed = publish_task(dist, account.env(account.reader), monkeypatch)

    (wheel_path,) = dist.iterdir()
    project = wheel_path.name.split("-")[0].replace("_", "-")
    assert failed.message == (
        f"error: access denied to s3://{account.bucket}/simple/{project}/{wheel_path.name}: "
        "these credentials may not write this bucket; use the deployer's key from the stack "
        "that owns it"
    )
    printed = capsys.readouterr()
    assert_hidden(account.reader, str(failed.message), printed.out, printed.err)
    assert not {key for key in account.stored() if key.startswith(f"simple/{project}/")}


def test_a_missing_bucket_names_the_setting_to_check(
    account: Account, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = account.env(account.deployer, AWS_PYPI_BUCKET="pypi-no-such-bucket")
    failed = publish_task(dist, env, monkeypatch)

    assert failed.message == (
        "error: bucket pypi-no-such-bucket does not exist: check AWS_PYPI_BUCKET, or create it "
        "with `pulumi up`"
    )


def test_no_credentials_anywhere_is_one_line_naming_the_variables(
    account: Account, dist: Path, tmp_path: Path
) -> None:
    nowhere = str(tmp_path / "no-such-file")
    env = account.env(Key("", ""))
    env |= {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": ""}
    env |= {"AWS_SHARED_CREDENTIALS_FILE": nowhere, "AWS_CONFIG_FILE": nowhere}
    env |= {"AWS_EC2_METADATA_DISABLED": "true"}

    failed = invoke("publish", "--dist", str(dist), env=env)

    assert error_line(failed) == (
        "error: no AWS credentials found: set AWS_PYPI_ACCESS_KEY_ID and "
        "AWS_PYPI_SECRET_ACCESS_KEY (the GitHub secrets), or AWS_PROFILE"
    )


def test_a_publish_with_the_right_key_prints_no_credential(account: Account, dist: Path) -> None:
    published = invoke("publish", "--dist", str(dist), env=account.env(account.deployer))

    assert published.returncode == 0, published.stderr
    assert_hidden(account.deployer, published.stdout, published.stderr)
    (wheel_path,) = dist.iterdir()
    assert any(key.endswith(f"/{wheel_path.name}") for key in account.stored())


def test_even_debug_logs_never_hold_the_secret(
    account: Account, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = account.storage(account.deployer)
    with caplog.at_level(logging.DEBUG):
        Publisher(Index(storage)).publish(inspect_all([wheel(tmp_path, "logged", "1.0")]))
        with pytest.raises(StorageError):
            Publisher(Index(account.storage(account.reader))).publish(
                inspect_all([wheel(tmp_path, "denied", "1.0")])
            )
    assert "PutObject" in caplog.text, "botocore's debug logging was captured"
    assert account.deployer.secret not in caplog.text
    assert account.reader.secret not in caplog.text


def test_settings_never_show_a_credential() -> None:
    settings = S3Settings(
        "bucket", Access(UNKNOWN_KEY_ID, FAKE_SECRET, REGION, "http://127.0.0.1:1")
    )
    assert_hidden(Key(UNKNOWN_KEY_ID, FAKE_SECRET), repr(settings), str(settings))


def test_a_cdn_key_without_invalidation_rights_is_one_line(account: Account) -> None:
    env = account.env(account.deployer)
    with pytest.raises(CdnError) as refused:
        invalidate("E2PYPITEST", ["simple/acme/index.html"], env)

    assert str(refused.value) == (
        "access denied to invalidate CloudFront distribution E2PYPITEST: use the deployer's key "
        "from the stack that owns it; the repository itself is up to date"
    )


# What moto cannot do: the fault proxy answers as S3 would.


@pytest.fixture
def proxy(account: Account) -> Iterator[FaultProxy]:
    with FaultProxy(account.endpoint) as proxy:
        yield proxy


def s3_error(status: int, code: str, message: str, **headers: str) -> Respond:
    return Respond(status, code, message, tuple(headers.items()))


PERMANENT_REDIRECT = s3_error(
    301,
    "PermanentRedirect",
    "The bucket you are attempting to access must be addressed using the specified endpoint. "
    "Please send all future requests to this endpoint.",
    **{"x-amz-bucket-region": "eu-west-1"},
)


def refusal(account: Account, proxy: FaultProxy, tmp_path: Path, project: str) -> str:
    """Publish `project` 1.0 through the proxy, where it must fail; the line it fails with."""
    storage = account.storage(account.deployer, proxy.url)
    with pytest.raises(StorageError) as failed:
        Publisher(Index(storage)).publish(inspect_all([wheel(tmp_path, project, "1.0")]))
    return str(failed.value)


SLOW_DOWN = s3_error(503, "SlowDown", "Please reduce your request rate.")


# What each refusal says, given the bucket; the page the fault answers is the project's.
@pytest.mark.parametrize(
    ("method", "answer", "line"),
    [
        # moto serves every region's buckets from one endpoint, so it never redirects.
        (
            "GET",
            PERMANENT_REDIRECT,
            f"bucket {{bucket}} is in another region than {REGION}: set AWS_PYPI_REGION=eu-west-1",
        ),
        (
            "GET",
            s3_error(400, "ExpiredToken", "The token expired."),
            "AWS rejected the credentials (ExpiredToken): the access key is wrong, deleted or "
            "expired; set AWS_PYPI_ACCESS_KEY_ID / AWS_PYPI_SECRET_ACCESS_KEY to a current key "
            # The library's own wording, as the installed command shows it: rotate-keys is a
            # task of the checkout (the invoke face says `uv run invoke rotate-keys`).
            "(`uv run invoke rotate-keys` in the private-pypi checkout makes a new one)",
        ),
        (
            "PUT",
            SLOW_DOWN,
            "S3 kept throttling requests for s3://{bucket}/simple/{project}/index.json; "
            "wait a minute and run it again",
        ),
    ],
    ids=["region-redirect", "expired-token", "throttling-that-does-not-stop"],
)
def test_an_s3_refusal_is_one_line_with_the_fix(
    account: Account,
    proxy: FaultProxy,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    method: str,
    answer: Respond,
    line: str,
) -> None:
    project = f"refused-{request.node.callspec.id}"
    proxy.inject(Fault(method, rf"/simple/{project}/index\.json$", answer))

    expected = line.format(bucket=account.bucket, project=project)
    assert refusal(account, proxy, tmp_path, project) == expected


def test_throttling_is_retried_and_the_publish_succeeds(
    account: Account, proxy: FaultProxy, tmp_path: Path
) -> None:
    slow = proxy.inject(Fault("PUT", r"/simple/throttled/index\.json$", SLOW_DOWN, times=2))
    storage = S3Storage(
        S3Settings(
            account.bucket,
            Access(account.deployer.id, account.deployer.secret, REGION, proxy.url),
        )
    )  # botocore's own retries, as publishing configures them

    Publisher(Index(storage)).publish(inspect_all([wheel(tmp_path, "throttled", "1.0")]))

    assert (slow.hits, slow.seen) == (2, 3)
    assert storage.read("simple/throttled/index.json") is not None


def test_a_dropped_connection_is_a_network_error_to_retry(
    account: Account, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.inject(Fault("GET", r"/simple/dropped/index\.json$", Drop()))

    line = refusal(account, proxy, tmp_path, "dropped")

    where = f"s3://{account.bucket}/simple/dropped/index.json"
    assert line.startswith(f"network error talking to S3 for {where}: ")
    assert line.endswith("check the network and AWS_ENDPOINT_URL, then run the same command again")


# CloudFront's refusals, sorted by the same rules as S3's and worded for the invalidation.

INVALIDATION = r"^/2020-05-31/distribution/E2PYPITEST/invalidation$"
ALREADY_PUBLISHED = "the repository itself is up to date"
BUSY = (
    f"CloudFront is busy with other invalidations of E2PYPITEST; {ALREADY_PUBLISHED}, "
    "and its cached pages expire within a minute (max-age=60)"
)


@pytest.mark.parametrize(
    ("answer", "line"),
    [
        (
            s3_error(403, "ExpiredToken", "The security token included in the request is expired"),
            "AWS rejected the credentials (ExpiredToken) when invalidating CloudFront: set "
            f"AWS_PYPI_ACCESS_KEY_ID / AWS_PYPI_SECRET_ACCESS_KEY to a current key; "
            f"{ALREADY_PUBLISHED}",
        ),
        (s3_error(400, "TooManyInvalidationsInProgress", "Too many in progress."), BUSY),
        (s3_error(400, "Throttling", "Rate exceeded"), BUSY),
        (
            s3_error(400, "InvalidArgument", "Your request contains one or more invalid paths."),
            "CloudFront refused to invalidate E2PYPITEST: InvalidArgument Your request contains "
            f"one or more invalid paths.; {ALREADY_PUBLISHED}",
        ),
    ],
    ids=["expired-token", "too-many-invalidations", "throttling", "other"],
)
def test_a_cdn_refusal_is_one_line_that_says_the_publish_stands(
    account: Account, proxy: FaultProxy, answer: Respond, line: str
) -> None:
    proxy.inject(Fault("POST", INVALIDATION, answer))
    env = account.env(account.deployer, AWS_ENDPOINT_URL=proxy.url)

    with pytest.raises(CdnError) as refused:
        invalidate("E2PYPITEST", ["simple/acme/index.html"], env, config=QUICK)

    assert str(refused.value) == line


def test_an_unreachable_cdn_is_one_line_that_says_the_pages_expire(
    account: Account, proxy: FaultProxy
) -> None:
    proxy.inject(Fault("POST", INVALIDATION, Drop()))
    env = account.env(account.deployer, AWS_ENDPOINT_URL=proxy.url)

    with pytest.raises(CdnError) as refused:
        invalidate("E2PYPITEST", ["simple/acme/index.html"], env, config=QUICK)

    line = str(refused.value)
    assert line.startswith("could not reach CloudFront to invalidate E2PYPITEST (")
    assert line.endswith(
        f"{ALREADY_PUBLISHED}, and its cached pages expire within a minute (max-age=60)"
    )
