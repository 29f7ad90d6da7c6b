"""CDN freshness: every command that changes pages invalidates exactly those pages, at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from invoke.exceptions import Exit

from private_pypi.aws import Access, cloudfront_client
from private_pypi.cdn import CLIENT_CONFIG, EVERY_PAGE, MAX_PATHS, invalidate, invalidation_paths
from private_pypi.storage import S3Storage
from tests.conftest import REGION
from tests.factory import sdist, wheel
from tests.invoking import error_line, invoke, run_in_process

if TYPE_CHECKING:
    from types_boto3_cloudfront import CloudFrontClient
    from types_boto3_cloudfront.type_defs import InvalidationBatchOutputTypeDef


def cloudfront(moto_endpoint: str) -> CloudFrontClient:
    """A CloudFront client with the account's own credentials, as an administrator has."""
    return cloudfront_client(
        Access("testing", "testing", endpoint_url=moto_endpoint), CLIENT_CONFIG
    )


@pytest.fixture
def distribution_id(moto_endpoint: str, bucket: str) -> str:
    origin = f"{bucket}.s3.{REGION}.amazonaws.com"
    created = cloudfront(moto_endpoint).create_distribution(
        DistributionConfig={
            "CallerReference": uuid.uuid4().hex,
            "Comment": "private-pypi tests",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "bucket",
                        "DomainName": origin,
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "bucket",
                "ViewerProtocolPolicy": "redirect-to-https",
                "MinTTL": 0,
            },
        }
    )
    return created["Distribution"]["Id"]


@pytest.fixture
def cdn_env(s3_env: dict[str, str], distribution_id: str) -> dict[str, str]:
    """The publish environment of a stack with a CDN: the fifth GitHub secret is set."""
    return {**s3_env, "AWS_PYPI_DISTRIBUTION_ID": distribution_id}


@pytest.fixture
def run(cdn_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Run a task in this process (a subprocess costs seconds), in the CDN environment."""
    for name, value in cdn_env.items():
        monkeypatch.setenv(name, value)
    return run_in_process


def invalidations(moto_endpoint: str, distribution_id: str) -> list[InvalidationBatchOutputTypeDef]:
    """Every invalidation batch of the distribution, oldest first."""
    client = cloudfront(moto_endpoint)
    listed = client.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    batches = [
        client.get_invalidation(DistributionId=distribution_id, Id=item["Id"])["Invalidation"]
        for item in listed.get("Items", [])
    ]
    return [batch["InvalidationBatch"] for batch in batches]


def invalidated_paths(moto_endpoint: str, distribution_id: str) -> list[list[str]]:
    return [
        batch["Paths"].get("Items", []) for batch in invalidations(moto_endpoint, distribution_id)
    ]


def project_pages(project: str) -> list[str]:
    return [
        f"/simple/{project}/index.json",
        f"/simple/{project}/index.html",
        f"/simple/{project}/",
        f"/project/{project}/index.html",
    ]


ROOT_PAGES = ["/simple/index.json", "/simple/index.html", "/simple/"]
# The catalog and the browse root page, served at / too: written when a project's line
# (its shown release, summary or status) changes.
BROWSE_ROOT_PAGES = ["/project/index.json", "/index.html", "/"]


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    """A dist directory with acme 1.0, a wheel and an sdist."""
    dist = tmp_path / "dist-1.0"
    wheel(dist, "acme", "1.0")
    sdist(dist, "acme", "1.0")
    return dist


def test_a_first_publish_invalidates_the_root_and_project_pages_and_no_files(
    cdn_env: dict[str, str], moto_endpoint: str, distribution_id: str, acme: Path
) -> None:
    published = invoke("publish", "--dist", str(acme), env=cdn_env)
    assert published.returncode == 0, published.stderr

    assert invalidated_paths(moto_endpoint, distribution_id) == [
        ROOT_PAGES + project_pages("acme") + BROWSE_ROOT_PAGES
    ]
    assert f"cdn: invalidated 10 page path(s) on {distribution_id}" in published.stdout.splitlines()


def test_a_new_version_invalidates_only_its_projects_pages_and_its_line(
    run: Callable[..., None], moto_endpoint: str, distribution_id: str, acme: Path, tmp_path: Path
) -> None:
    run("publish", dist=str(acme))
    newer = tmp_path / "dist-1.1"
    wheel(newer, "acme", "1.1")

    run("publish", dist=str(newer))

    assert invalidated_paths(moto_endpoint, distribution_id)[1:] == [
        project_pages("acme") + BROWSE_ROOT_PAGES
    ]


def test_yank_unyank_and_delete_each_invalidate_the_projects_pages(
    run: Callable[..., None], moto_endpoint: str, distribution_id: str, acme: Path
) -> None:
    run("publish", dist=str(acme))
    run("yank", "acme", "1.0", reason="broken")
    run("unyank", "acme", "1.0")
    run("delete", "acme", "1.0", yes=True)

    # A yank of the only release leaves it the shown one; its delete leaves none to show.
    assert invalidated_paths(moto_endpoint, distribution_id)[1:] == [
        project_pages("acme"),
        project_pages("acme"),
        project_pages("acme") + BROWSE_ROOT_PAGES,
    ]
    batches = invalidations(moto_endpoint, distribution_id)
    assert len({batch["CallerReference"] for batch in batches}) == 4


def test_a_publish_yank_or_unyank_that_changes_nothing_invalidates_nothing(
    run: Callable[..., None], moto_endpoint: str, distribution_id: str, acme: Path
) -> None:
    run("publish", dist=str(acme))
    run("publish", dist=str(acme))
    run("unyank", "acme", "1.0")
    run("yank", "acme", "1.0", reason="broken")
    run("yank", "acme", "1.0", reason="broken")
    assert len(invalidations(moto_endpoint, distribution_id)) == 2  # the first publish, a yank


def test_a_reindex_that_changes_nothing_invalidates_nothing(
    run: Callable[..., None], moto_endpoint: str, distribution_id: str, acme: Path
) -> None:
    run("publish", dist=str(acme))
    run("reindex")
    assert len(invalidations(moto_endpoint, distribution_id)) == 1


def test_a_reindex_invalidates_the_pages_it_repairs(
    run: Callable[..., None],
    moto_endpoint: str,
    distribution_id: str,
    acme: Path,
    s3_storage: S3Storage,
) -> None:
    run("publish", dist=str(acme))
    s3_storage.delete("simple/acme/index.html")

    run("reindex")

    (repair,) = invalidated_paths(moto_endpoint, distribution_id)[1:]
    assert "/simple/acme/index.html" in repair
    assert set(repair) <= set(project_pages("acme"))


def test_an_unknown_distribution_is_one_line_after_the_publish_completed(
    run: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    acme: Path,
    s3_storage: S3Storage,
) -> None:
    monkeypatch.setenv("AWS_PYPI_DISTRIBUTION_ID", "E0NOSUCH")
    with pytest.raises(Exit) as failed:
        run("publish", dist=str(acme))

    line = str(failed.value.message)
    assert line.startswith("error: CloudFront distribution E0NOSUCH does not exist")
    assert "\n" not in line and failed.value.code == 1
    assert "AWS_PYPI_DISTRIBUTION_ID" in line and "repository itself is up to date" in line
    assert s3_storage.head("simple/acme/index.html") is not None


@pytest.mark.parametrize("repository", ["s3", "directory"])
def test_half_a_key_pair_is_one_line_for_the_cdn_as_for_the_bucket(
    cdn_env: dict[str, str], acme: Path, tmp_path: Path, repository: str
) -> None:
    env = {**cdn_env, "AWS_PYPI_SECRET_ACCESS_KEY": ""}
    where = ["--repository", str(tmp_path / "repo")] if repository == "directory" else []

    failed = invoke("publish", "--dist", str(acme), *where, env=env)

    missing = (
        "error: AWS_PYPI_SECRET_ACCESS_KEY is not set: set both AWS_PYPI_ACCESS_KEY_ID and "
        "AWS_PYPI_SECRET_ACCESS_KEY, or neither to use the standard AWS credentials"
    )
    if repository == "s3":  # refused before anything is written
        assert error_line(failed) == missing
    else:  # the directory has the release; only its CDN is left to invalidate
        assert error_line(failed) == f"{missing}; the repository itself is up to date"
        assert (tmp_path / "repo" / "simple" / "acme" / "index.html").is_file()


def test_paths_are_the_page_keys_with_a_slash_each_once_in_order() -> None:
    keys = [
        "simple/acme/index.json",
        "simple/acme/index.html",
        "simple/acme/",
        "simple/acme/index.json",
        "project/acme/index.html",
    ]
    assert invalidation_paths(keys) == project_pages("acme")
    assert invalidation_paths(["index.html"]) == ["/index.html", "/"]


def test_more_pages_than_one_batch_may_hold_become_one_wildcard() -> None:
    keys = [f"simple/p{n}/index.json" for n in range(MAX_PATHS + 1)]
    assert invalidation_paths(keys) == ["/simple/*", "/project/*", "/index.html", "/"]
    assert invalidation_paths(keys) == list(EVERY_PAGE)
    assert len(invalidation_paths(keys[:MAX_PATHS])) == MAX_PATHS


def test_nothing_changed_means_no_request() -> None:
    # An unreachable endpoint: any request would fail.
    assert invalidate("E0NOSUCH", [], {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}) == []
