"""Both backends keep the same promises: create-only files, conditional page writes; S3
on each stand-in (moto, LocalStack)."""

from __future__ import annotations

from pathlib import Path

import pytest

from private_pypi.errors import ConfigurationError, PreconditionFailed
from private_pypi.storage import LocalStorage, S3Storage, open_storage, repository_url

PAGE = {"content_type": "text/html; charset=utf-8", "cache_control": "public, max-age=60"}


def test_a_page_is_created_once_and_updated_only_from_the_version_read(
    storage: S3Storage | LocalStorage,
) -> None:
    first = storage.write("simple/a/index.json", b"one", create_only=True, **PAGE)
    with pytest.raises(PreconditionFailed):
        storage.write("simple/a/index.json", b"two", create_only=True, **PAGE)

    second = storage.write("simple/a/index.json", b"two", if_match=first, **PAGE)
    with pytest.raises(PreconditionFailed):
        storage.write("simple/a/index.json", b"lost update", if_match=first, **PAGE)

    stored = storage.read("simple/a/index.json")
    assert stored is not None
    assert (stored.body, stored.etag) == (b"two", second)


def test_a_page_deleted_since_it_was_read_is_a_lost_race_too(
    storage: S3Storage | LocalStorage,
) -> None:
    # S3 answers If-Match on a key that is gone with 404, not 412 (as moto and LocalStack
    # do): to the index, both mean "read it again".
    etag = storage.write("simple/a/index.json", b"one", create_only=True, **PAGE)
    storage.delete("simple/a/index.json")
    with pytest.raises(PreconditionFailed):
        storage.write("simple/a/index.json", b"two", if_match=etag, **PAGE)
    assert storage.read("simple/a/index.json") is None


def test_deleting_what_is_not_there_is_no_error(storage: S3Storage | LocalStorage) -> None:
    storage.delete("simple/nothing/x.whl")
    assert storage.head("simple/nothing/x.whl") is None


def test_an_upload_never_replaces_a_file(storage: S3Storage | LocalStorage, tmp_path: Path) -> None:
    original, other = tmp_path / "original", tmp_path / "other"
    original.write_bytes(b"original bytes")
    other.write_bytes(b"other bytes")
    upload = {"content_type": "application/zip", "cache_control": "immutable", "metadata": {}}

    assert storage.upload("simple/a/a-1.0.tar.gz", original, **upload) is not None
    assert storage.upload("simple/a/a-1.0.tar.gz", other, **upload) is None

    stored = storage.read("simple/a/a-1.0.tar.gz")
    assert stored is not None and stored.body == b"original bytes"


def test_missing_objects_read_as_none(storage: S3Storage | LocalStorage) -> None:
    assert storage.read("simple/nothing/index.json") is None
    assert storage.head("simple/nothing/index.json") is None
    assert storage.sha256("simple/nothing/x.whl") is None


def test_listing_yields_keys_under_a_prefix_in_order(storage: S3Storage | LocalStorage) -> None:
    for key in ("simple/b/index.json", "simple/a/index.json", "simple/a-b/index.json"):
        storage.write(key, b"{}", **PAGE)
    keys = [info.key for info in storage.list("simple/")]
    assert sorted(keys) == ["simple/a-b/index.json", "simple/a/index.json", "simple/b/index.json"]


def test_repository_defaults_to_the_bucket_the_ci_secrets_name() -> None:
    assert repository_url(None, {"AWS_PYPI_BUCKET": "acme-pypi"}) == "s3://acme-pypi"
    assert repository_url(None, {"S3_PYPI_BUCKET": "seed-bucket"}) == "s3://seed-bucket"
    assert repository_url("/srv/pypi", {"AWS_PYPI_BUCKET": "acme-pypi"}) == "/srv/pypi"


def test_with_nothing_configured_the_error_names_the_settings() -> None:
    with pytest.raises(ConfigurationError, match=r"AWS_PYPI_BUCKET.*S3_PYPI_BUCKET"):
        repository_url(None, {})


def test_half_a_key_pair_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="AWS_PYPI_SECRET_ACCESS_KEY is not set"):
        open_storage("s3://acme-pypi", {"AWS_PYPI_ACCESS_KEY_ID": "AKIA"})


def test_repository_urls(tmp_path: Path) -> None:
    env = {"AWS_PYPI_REGION": "eu-west-1"}
    s3 = open_storage("s3://acme-pypi", env)
    assert isinstance(s3, S3Storage)
    assert s3.index_url == "https://acme-pypi.s3.eu-west-1.amazonaws.com/simple/"
    local = open_storage(tmp_path.as_uri(), env)
    assert isinstance(local, LocalStorage) and local.root == tmp_path
    assert open_storage(str(tmp_path), env).index_url == (tmp_path / "simple").as_uri() + "/"
    with pytest.raises(ConfigurationError, match="s3://BUCKET"):
        open_storage("s3://acme-pypi/some/prefix", env)
    with pytest.raises(ConfigurationError, match="file:///path"):
        open_storage("https://example.com/simple/", env)
