"""Shared fixtures: S3 stand-ins over real HTTP (a moto server, and LocalStack's S3 for
the tests marked `localstack`), buckets, and example distributions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from private_pypi.building import build_packages
from private_pypi.index import Index
from private_pypi.storage import LocalStorage, S3Storage
from tests.localstack import LocalStack, Unavailable, environment
from tests.motoserver import REGION, MotoServer, admin_client, applicable_policy, bucket_storage

ROOT = Path(__file__).resolve().parent.parent


# A test's LocalStack variant; `-m localstack` selects the tier.
LOCALSTACK = pytest.param("localstack", marks=pytest.mark.localstack)
# The S3 stand-ins, for a test that must hold on each: moto, and LocalStack.
S3_STAND_INS = ["moto", LOCALSTACK]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with MotoServer() as server:
        yield server.endpoint


@pytest.fixture(scope="session")
def localstack_endpoint() -> Iterator[str]:
    """LocalStack's S3, started once in each worker process that runs a test of the tier
    (sharing one between pytest-xdist's workers would need an owner that outlives them,
    which a fixture is not); its tests are skipped, with the reason, where it cannot run."""
    try:
        server = LocalStack(environment())
        server.start()
    except Unavailable as why:
        pytest.skip(f"LocalStack is unavailable: {why}")
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture(params=S3_STAND_INS)
def s3_endpoint(request: pytest.FixtureRequest) -> str:
    """Each S3 stand-in's endpoint in turn."""
    return request.getfixturevalue(f"{request.param}_endpoint")


def public_read_policy(bucket: str) -> str:
    """The bucket policy of the infrastructure's S3-only mode, as far as moto can apply it.

    That is its unconditional statement, anonymous GetObject of simple/*; its conditional
    ones, the listing of simple/ and the write guards, are enforced by the conformance
    test (tests/infra/test_conformance.py), through the policy gate.
    """
    # Imported here: the components package imports the Pulumi SDKs, ~2 s, which only
    # the tests that make a public bucket need.
    from components.policies import public_index_bucket_policy

    return applicable_policy(public_index_bucket_policy(f"arn:aws:s3:::{bucket}"))


def new_bucket(moto_endpoint: str, *, public: bool = True, prefix: str = "pypi") -> str:
    """A new bucket; public, readers may get simple/* anonymously, as in S3-only mode."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    client = admin_client(moto_endpoint)
    client.create_bucket(Bucket=name)
    if public:
        client.put_bucket_policy(Bucket=name, Policy=public_read_policy(name))
    return name


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    return new_bucket(moto_endpoint)


@pytest.fixture
def s3_env(moto_endpoint: str, bucket: str) -> dict[str, str]:
    """The environment CI gives `invoke publish`: the four GitHub secrets, and an endpoint."""
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_PYPI_BUCKET": bucket,
        "AWS_PYPI_REGION": REGION,
        "AWS_PYPI_ACCESS_KEY_ID": "testing",
        "AWS_PYPI_SECRET_ACCESS_KEY": "testing",
    }


@pytest.fixture
def s3_storage(moto_endpoint: str, bucket: str) -> S3Storage:
    return bucket_storage(moto_endpoint, bucket)


@pytest.fixture
def localstack_storage(localstack_endpoint: str) -> S3Storage:
    return bucket_storage(localstack_endpoint, new_bucket(localstack_endpoint))


@pytest.fixture(params=["s3", LOCALSTACK])
def any_s3_storage(request: pytest.FixtureRequest) -> S3Storage:
    """A new bucket on each S3 stand-in in turn: moto ("s3"), then LocalStack."""
    return request.getfixturevalue(f"{request.param}_storage")


@pytest.fixture
def local_storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "repository")


@pytest.fixture(params=["s3", LOCALSTACK, "local"])
def storage(request: pytest.FixtureRequest) -> S3Storage | LocalStorage:
    """Each test that takes `storage` runs against both backends, S3 on each stand-in."""
    return request.getfixturevalue(f"{request.param}_storage")


@pytest.fixture
def index(storage: S3Storage | LocalStorage) -> Index:
    return Index(storage)


@pytest.fixture(scope="session")
def example_dists(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The two example packages, built once with pypa/build: acme-hello needs acme-greeting."""
    output = tmp_path_factory.mktemp("example-dists")
    sources = [ROOT / "examples" / "acme-greeting", ROOT / "examples" / "acme-hello"]
    return build_packages(sources, output, isolated=False).built
