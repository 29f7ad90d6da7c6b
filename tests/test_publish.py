"""Publishing, as a user sees it: files in, pages right, nothing lost or replaced."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from private_pypi import layout
from private_pypi.distributions import Distribution
from private_pypi.errors import FileConflict
from private_pypi.index import Index
from private_pypi.pages import ProjectPage, render_project_html, render_project_json
from private_pypi.publish import Outcome, PublishedFile, Publisher, PublishRefused, inspect_all
from private_pypi.storage import LocalStorage, S3Storage
from private_pypi.storage.base import Progress
from private_pypi.storage.timeline import RequestLog
from tests.factory import sdist, wheel
from tests.motoserver import MotoServer


def publish(index: Index, *paths: Path) -> list[Outcome]:
    result = Publisher(index).publish(inspect_all(paths))
    return [published.outcome for published in result.files]


def json_page(storage: S3Storage | LocalStorage, project: str) -> dict:
    stored = storage.read(f"simple/{project}/index.json")
    assert stored is not None, f"no page for {project}"
    return json.loads(stored.body)


def test_publishing_the_examples_makes_the_seed_layout(
    index: Index, example_dists: list[Path]
) -> None:
    assert publish(index, *example_dists) == [Outcome.UPLOADED] * 4
    storage = index.storage

    keys = {info.key for info in storage.list("simple/")}
    expected = {
        "simple/index.html",
        "simple/index.json",
        "simple/acme-greeting/index.html",
        "simple/acme-greeting/index.json",
        "simple/acme-greeting/acme_greeting-1.0.0.tar.gz",
        "simple/acme-greeting/acme_greeting-1.0.0-py3-none-any.whl",
        "simple/acme-greeting/acme_greeting-1.0.0-py3-none-any.whl.metadata",
        "simple/acme-hello/index.html",
        "simple/acme-hello/index.json",
        "simple/acme-hello/acme_hello-1.0.0.tar.gz",
        "simple/acme-hello/acme_hello-1.0.0-py3-none-any.whl",
        "simple/acme-hello/acme_hello-1.0.0-py3-none-any.whl.metadata",
    }
    if storage.directory_keys:  # the S3 REST endpoint serves these keys for .../simple/NAME/
        expected |= {"simple/", "simple/acme-greeting/", "simple/acme-hello/"}
    assert keys == expected
    root = storage.read("simple/index.json")
    assert root is not None
    assert [p["name"] for p in json.loads(root.body)["projects"]] == ["acme-greeting", "acme-hello"]


def test_pages_and_files_carry_their_content_types_and_cache_control(
    any_s3_storage: S3Storage, example_dists: list[Path]
) -> None:
    publish(Index(any_s3_storage), *example_dists)
    client, bucket = any_s3_storage.client, any_s3_storage.bucket

    def head(key: str) -> tuple[str, str]:
        response = client.head_object(Bucket=bucket, Key=key)
        return response["ContentType"], response["CacheControl"]

    for page in (
        "simple/",
        "simple/index.html",
        "simple/acme-hello/",
        "simple/acme-hello/index.html",
    ):
        assert head(page) == ("text/html; charset=utf-8", "public, max-age=60")
    assert head("simple/acme-hello/index.json") == (
        "application/vnd.pypi.simple.v1+json",
        "public, max-age=60",
    )
    immutable = "public, max-age=31536000, immutable"
    assert head("simple/acme-hello/acme_hello-1.0.0-py3-none-any.whl") == (
        "application/zip",
        immutable,
    )
    assert head("simple/acme-hello/acme_hello-1.0.0.tar.gz")[1] == immutable
    assert head("simple/acme-hello/acme_hello-1.0.0-py3-none-any.whl.metadata")[1] == immutable


def test_the_metadata_file_is_the_wheels_metadata_byte_for_byte(
    index: Index, example_dists: list[Path]
) -> None:
    publish(index, *example_dists)
    wheel_path = next(
        p for p in example_dists if p.name.startswith("acme_hello") and p.suffix == ".whl"
    )
    (distribution,) = inspect_all([wheel_path])
    stored = index.storage.read(layout.metadata_key(distribution.project, distribution.filename))
    assert stored is not None and stored.body == distribution.metadata


def test_publishing_the_same_files_again_changes_nothing(
    index: Index, example_dists: list[Path]
) -> None:
    publish(index, *example_dists)
    before = {info.key: index.storage.read(info.key) for info in index.storage.list("simple/")}

    assert publish(index, *example_dists) == [Outcome.UNCHANGED] * 4

    after = {info.key: index.storage.read(info.key) for info in index.storage.list("simple/")}
    assert {k: v.body for k, v in after.items() if v} == {k: v.body for k, v in before.items() if v}


def test_a_different_file_under_a_published_name_is_refused_and_nothing_changes(
    index: Index, tmp_path: Path
) -> None:
    publish(index, wheel(tmp_path / "first", "acme", "1.0"))
    snapshot = {info.key: info.etag for info in index.storage.list("simple/")}

    rebuilt = wheel(tmp_path / "second", "acme", "1.0", payload=b"different")
    with pytest.raises(FileConflict, match=r"acme-1.0-py3-none-any\.whl.*immutable"):
        publish(index, rebuilt, sdist(tmp_path / "second", "acme", "1.0"))

    assert {info.key: info.etag for info in index.storage.list("simple/")} == snapshot


def test_a_bad_file_among_good_ones_means_nothing_is_written(index: Index, tmp_path: Path) -> None:
    good = wheel(tmp_path, "acme", "1.0")
    bad = tmp_path / "acme-1.1.tar.gz"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(PublishRefused, match="nothing was written") as refused:
        publish(index, good, bad)
    assert "acme-1.1.tar.gz" in str(refused.value)
    assert list(index.storage.list("simple/")) == []


def test_new_versions_join_the_page_and_keep_the_old_ones(index: Index, tmp_path: Path) -> None:
    publish(index, wheel(tmp_path, "acme", "1.0"))
    first = json_page(index.storage, "acme")["files"][0]
    publish(index, wheel(tmp_path, "acme", "1.1"), sdist(tmp_path, "acme", "1.1"))

    page = json_page(index.storage, "acme")
    assert page["versions"] == ["1.0", "1.1"]
    assert len(page["files"]) == 3
    assert page["files"][0]["upload-time"] == first["upload-time"]


def test_files_are_stored_before_any_page_links_them(s3_storage: S3Storage, tmp_path: Path) -> None:
    operations: list[str] = []
    s3_storage.observe_requests(operations.append)
    publish(Index(s3_storage), wheel(tmp_path, "acme", "1.0"), sdist(tmp_path, "acme", "1.0"))

    writes = [op for op in operations if op in {"PutObject", "CompleteMultipartUpload"}]
    # Two files and a metadata file, then the root page (a new project), then its page.
    assert len(writes) >= 3 + 3 + 2
    assert operations.index("GetObject") == 0
    puts_before_first_page = 3
    assert writes[:puts_before_first_page] == ["PutObject"] * 3


def prefill(storage: S3Storage | LocalStorage, projects: int) -> None:
    """A repository of `projects` projects, by raw page writes: fast, and honest enough."""
    names = [canonicalize_name(f"filler-{n:05d}") for n in range(projects)]

    def write(name: str) -> None:
        page = ProjectPage(name)
        index_keys = [(f"simple/{name}/index.json", render_project_json(page), layout.JSON_TYPE)]
        index_keys.append(
            (f"simple/{name}/index.html", render_project_html(page), layout.HTML_TYPE)
        )
        for key, body, content_type in index_keys:
            storage.write(key, body, content_type=content_type, cache_control="")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(write, names))
    Index(storage).update_root(lambda _: frozenset(names))


@pytest.mark.parametrize("existing", [10, 500])
def test_one_release_costs_the_same_requests_however_big_the_repository(
    s3_storage: S3Storage, tmp_path: Path, existing: int
) -> None:
    prefill(s3_storage, existing)
    index = Index(s3_storage)
    publish(index, wheel(tmp_path, "acme", "1.0"))

    operations: Counter[str] = Counter()
    s3_storage.observe_requests(lambda name: operations.update([name]))
    publish(index, wheel(tmp_path, "acme", "1.1"), sdist(tmp_path, "acme", "1.1"))

    assert "ListObjectsV2" not in operations
    # Read the record; two files and a metadata file; a look at each HTML twin and the
    # browse page, so that no newer one is overwritten; the record, its two HTML twins and
    # its browse page. The new release is the project's line on the browse root: read the
    # catalog, look at the root page, write both.
    assert operations == Counter(PutObject=9, GetObject=2, HeadObject=4), operations


def test_a_large_file_goes_up_in_parts_and_is_still_never_replaced(
    any_s3_storage: S3Storage, tmp_path: Path
) -> None:
    index = Index(any_s3_storage)
    big = wheel(tmp_path / "first", "bigdata", "1.0", payload=os.urandom(18 * 1024 * 1024))
    assert publish(index, big) == [Outcome.UPLOADED]

    key = "simple/bigdata/bigdata-1.0-py3-none-any.whl"
    stored = any_s3_storage.head(key)
    assert stored is not None and "-" in stored.etag  # a multipart upload's ETag
    (distribution,) = inspect_all([big])
    assert any_s3_storage.sha256(key) == distribution.sha256
    assert publish(index, big) == [Outcome.UNCHANGED]

    # Not indexed yet, but there: the create-only upload still refuses other bytes.
    any_s3_storage.delete("simple/bigdata/index.json")
    other = wheel(tmp_path / "second", "bigdata", "1.0", payload=os.urandom(18 * 1024 * 1024))
    with pytest.raises(FileConflict):
        publish(index, other)
    assert any_s3_storage.sha256(key) == distribution.sha256


def test_a_publish_reports_only_the_pages_it_wrote(index: Index, tmp_path: Path) -> None:
    publisher = Publisher(index)
    publisher.publish(inspect_all([wheel(tmp_path, "acme", "1.0")]))
    second = publisher.publish(inspect_all([wheel(tmp_path, "other", "1.0")]))
    assert second.pages
    assert not [page for page in second.pages if "/acme/" in page]


# Long beside a request's own CPU, even on a busy machine: round trips are counted from
# when each request was sent and answered, so a request sent late would be one more.
LATENCY = 0.1


@pytest.fixture(scope="module")
def slow_s3() -> Iterator[MotoServer]:
    """A moto server that holds every request LATENCY seconds, as S3's tens of ms do."""
    with MotoServer(latency=LATENCY, quiet=True) as server:
        yield server


def timed_publish(server: MotoServer, bucket: str, *paths: Path) -> RequestLog:
    storage = server.storage(bucket)
    index = Index(storage)
    log = RequestLog()
    storage.log_requests(log)
    Publisher(index).publish(inspect_all(paths))
    return log


def test_a_release_takes_six_round_trips_and_a_new_project_seven(
    slow_s3: MotoServer, tmp_path: Path
) -> None:
    bucket = slow_s3.create_bucket("round-trips-one")
    first = timed_publish(
        slow_s3, bucket, wheel(tmp_path, "acme", "1.0"), sdist(tmp_path, "acme", "1.0")
    )
    # The page read, beside the catalog's; the files, with the looks at the pages' copies,
    # the root page's read and the browse pages' assets; the metadata file, beside the
    # root page's JSON; the root's copies; the project's JSON; its copies, beside the
    # catalog's line; the browse root page.
    assert first.round_trips() == 7, first.requests

    release = timed_publish(
        slow_s3, bucket, wheel(tmp_path, "acme", "1.1"), sdist(tmp_path, "acme", "1.1")
    )
    # The page and the catalog read; the files and the looks; the metadata file; the
    # JSON; its copies and the catalog's line; the browse root page.
    assert release.round_trips() == 6, release.requests
    assert release.counts() == Counter(PutObject=9, GetObject=2, HeadObject=4)


def test_twelve_new_packages_take_a_dozen_round_trips_not_a_hundred(
    slow_s3: MotoServer, tmp_path: Path
) -> None:
    bucket = slow_s3.create_bucket("round-trips-twelve")
    files = [
        made
        for number in range(12)
        for made in (
            wheel(tmp_path, f"pkg-{number}", "1.0"),
            sdist(tmp_path, f"pkg-{number}", "1.0"),
        )
    ]
    log = timed_publish(slow_s3, bucket, *files)
    requests = sum(log.counts().values())
    # 108 requests: each project's page read, its two files, its metadata file, its JSON
    # and three copies (no look at the copies of a page that is new); the catalog's and
    # the root page's reads, looks and writes; the browse pages' stylesheet and script.
    assert requests == 108, log.counts()
    # Sixteen at a time: the 29 of the round of files take two, the 36 copies three.
    assert 7 <= log.round_trips() <= 12, log.round_trips()


def test_files_are_reported_in_the_order_given_once_every_one_is_stored(
    index: Index, tmp_path: Path
) -> None:
    distributions = inspect_all(
        [
            wheel(tmp_path, "zeta", "1.0"),
            sdist(tmp_path, "alpha", "1.0"),
            wheel(tmp_path, "alpha", "1.0"),
            sdist(tmp_path, "zeta", "1.0"),
        ]
    )
    keys = [layout.file_key(d.project, d.filename) for d in distributions]
    reported: list[str] = []
    unstored: set[str] = set()

    def on_file(published: PublishedFile) -> None:
        reported.append(published.distribution.filename)
        unstored.update(key for key in keys if index.storage.head(key) is None)

    Publisher(index).publish(distributions, on_file=on_file)
    # Grouped by project, as their pages are written, whichever upload ended first.
    zeta_wheel, alpha_sdist, alpha_wheel, zeta_sdist = (d.filename for d in distributions)
    assert reported == [zeta_wheel, zeta_sdist, alpha_sdist, alpha_wheel]
    assert not unstored


def test_uploads_that_show_progress_go_one_at_a_time_in_the_order_given(
    index: Index, tmp_path: Path
) -> None:
    paths = [wheel(tmp_path, f"pkg-{number}", "1.0") for number in range(6)]
    shown = {path.name for path in paths[1::2]}
    lock, events = threading.Lock(), list[str]()

    def progress(distribution: Distribution) -> Progress | None:
        if distribution.filename not in shown:
            return None

        def advance(_: int) -> None:
            with lock:
                events.append(distribution.filename)

        return advance

    Publisher(index).publish(inspect_all(paths), progress=progress)
    assert events == [path.name for path in paths[1::2]]
