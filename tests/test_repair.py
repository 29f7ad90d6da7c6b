"""What reindex and verify do with a repository that holds things no publish wrote:
files out of place, hostile pages, links, and a lock nobody lets go of."""

from __future__ import annotations

import fcntl
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import AWSPreparedRequest
from packaging.utils import canonicalize_name

from private_pypi.errors import StorageError
from private_pypi.index import Index
from private_pypi.publish import Publisher, inspect_all
from private_pypi.reindex import Reindexer
from private_pypi.storage import LocalStorage, S3Storage, Storage, StoredObject
from private_pypi.verify import Limits, Problem, ProblemKind, Retry, Verifier, VerifyReport
from tests.factory import sdist, wheel


def publish(index: Index, *paths: Path) -> None:
    Publisher(index).publish(inspect_all(paths))


def put(storage: Storage, key: str, source: Path) -> None:
    """Store a file behind the index's back, as another tool would."""
    if isinstance(storage, S3Storage):
        # The storage's client is botocore's, without boto3's upload_file: one PutObject.
        storage.client.put_object(Bucket=storage.bucket, Key=key, Body=source.read_bytes())
    else:
        assert isinstance(storage, LocalStorage)
        (storage.root / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, storage.root / key)


def test_reindex_puts_only_a_projects_own_direct_files_on_its_page(
    index: Index, tmp_path: Path
) -> None:
    publish(index, wheel(tmp_path / "a", "foo", "1.0"))
    put(
        index.storage,
        "simple/foo/old/foo-2.0-py3-none-any.whl",
        wheel(tmp_path / "b", "foo", "2.0"),
    )
    put(index.storage, "simple/foo/bar-9.0-py3-none-any.whl", wheel(tmp_path / "c", "bar", "9.0"))

    report = Reindexer(index).run()

    page = index.project("foo")  # type: ignore[arg-type]
    assert page is not None and [f.filename for f in page.files] == ["foo-1.0-py3-none-any.whl"]
    assert sorted(report.problems) == [
        "simple/foo/bar-9.0-py3-none-any.whl: left off the index: it is a file of bar, not "
        "foo; move it to simple/bar/ and reindex",
        "simple/foo/old/foo-2.0-py3-none-any.whl: left off the index: a project's files are "
        "stored directly in simple/foo/; move it there (or delete it) and reindex",
    ]
    problems = Verifier(index.storage.index_url, index.storage).run().problems
    assert [(p.kind, p.where.rsplit("/", 2)[-2:]) for p in problems] == [
        (ProblemKind.FILE_NOT_INDEXED, ["foo", "bar-9.0-py3-none-any.whl"]),
        (ProblemKind.FILE_MISPLACED, ["old", "foo-2.0-py3-none-any.whl"]),
    ]


class Recorded:
    """A storage that records the keys it is asked to read, write and delete."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.reads: list[str] = []
        self.writes: list[str] = []

    def read(self, key: str) -> StoredObject | None:
        self.reads.append(key)
        return self._storage.read(key)

    def write(self, key: str, body: bytes, **options: Any) -> str:
        self.writes.append(key)
        return self._storage.write(key, body, **options)

    def delete(self, key: str) -> None:
        self.writes.append(key)
        self._storage.delete(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


def test_reindex_trusts_an_etag_only_where_it_is_the_contents(
    storage: S3Storage | LocalStorage, tmp_path: Path
) -> None:
    """A settled index costs a reindex no write. A page copy is read again only where the
    storage's ETags can't tell its content: on a local directory, not on S3."""
    publish(Index(storage), wheel(tmp_path, "acme", "1.0"))
    Reindexer(Index(storage)).run()
    recorded = Recorded(storage)

    report = Reindexer(Index(cast(Storage, recorded))).run()

    assert (report.written, recorded.writes, report.inspected) == ([], [], 0)
    html = [key for key in recorded.reads if not key.endswith(".json")]
    if isinstance(storage, S3Storage):
        assert html == []
    else:
        assert sorted(html) == [
            "index.html",
            "project/acme/index.html",
            "simple/acme/index.html",
            "simple/index.html",
        ]


def test_a_rebuild_takes_the_listing_as_its_look_at_the_page_copies(
    s3_storage: S3Storage, tmp_path: Path
) -> None:
    """A page update looks at its copies' ETags before it commits; reindex listed them
    already, so it sends no HEAD for them, and its copy writes still name what it listed."""
    publish(Index(s3_storage), wheel(tmp_path, "acme", "1.0"), sdist(tmp_path, "acme", "1.0"))
    s3_storage.delete("simple/acme/index.json")  # the HTML copies stay
    sent: list[tuple[str, str]] = []

    def note(request: AWSPreparedRequest, **_: object) -> None:
        path = urlsplit(request.url).path.split("/", 2)[-1]
        sent.append((request.method, path))

    s3_storage.client.meta.events.register("before-send.s3", note)

    report = Reindexer(Index(s3_storage)).run()

    # The simple pages' copies hold the rebuilt record already: only the browse page,
    # which shows the rebuild's serial, is written.
    assert report.written == ["simple/acme/index.json", "project/acme/index.html"]
    page_keys = {"simple/acme/", "simple/acme/index.html", "project/acme/index.html"}
    assert [key for method, key in sent if method == "HEAD" and key in page_keys] == []
    assert sorted(key for method, key in sent if method == "GET" and key.startswith("simple/")) == [
        "simple/acme/acme-1.0-py3-none-any.whl",
        "simple/acme/acme-1.0.tar.gz",
        "simple/acme/index.json",
        "simple/index.json",
    ]


def test_a_local_reindex_replaces_a_wrong_metadata_file_and_keeps_a_right_one(
    local_storage: LocalStorage, tmp_path: Path
) -> None:
    right, wrong = wheel(tmp_path, "acme", "1.0"), wheel(tmp_path, "acme", "2.0")
    publish(Index(local_storage), right, wrong)
    metadata = {
        path.name: local_storage.root / "simple/acme" / f"{path.name}.metadata"
        for path in (right, wrong)
    }
    metadata[wrong.name].write_bytes(b"Metadata-Version: 2.1\nName: other\n")
    untouched = metadata[right.name].stat()
    (local_storage.root / "simple/acme/index.json").unlink()  # every file is inspected again

    report = Reindexer(Index(local_storage)).run()

    assert report.inspected == 2 and report.problems == []
    for path in (right, wrong):
        (distribution,) = inspect_all([path])
        assert metadata[path.name].read_bytes() == distribution.metadata
    kept = metadata[right.name].stat()
    assert (kept.st_ino, kept.st_mtime_ns) == (untouched.st_ino, untouched.st_mtime_ns)
    assert Verifier(local_storage.index_url, local_storage).run().ok


def test_on_s3_a_metadata_file_whose_etag_is_not_its_md5_is_read_not_trusted(
    any_s3_storage: S3Storage, tmp_path: Path
) -> None:
    plain, in_parts = wheel(tmp_path, "acme", "1.0"), wheel(tmp_path, "acme", "2.0")
    publish(Index(any_s3_storage), plain, in_parts)
    (distribution,) = inspect_all([in_parts])
    assert distribution.metadata is not None
    key = f"simple/acme/{in_parts.name}.metadata"
    # The same bytes, stored again by a multipart upload: its ETag is not their MD5.
    any_s3_storage.delete(key)
    client, bucket = any_s3_storage.client, any_s3_storage.bucket
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = client.upload_part(
        Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=distribution.metadata
    )
    client.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    info = any_s3_storage.head(key)
    assert info is not None and info.etag != any_s3_storage.etag_for(distribution.metadata)
    any_s3_storage.delete("simple/acme/index.json")  # every file is inspected again
    recorded = Recorded(any_s3_storage)

    report = Reindexer(Index(cast(Storage, recorded))).run()

    assert report.inspected == 2
    metadata_reads = [read for read in recorded.reads if read.endswith(".metadata")]
    assert metadata_reads == [key]  # the other one's ETag is its MD5: no read
    assert not [write for write in recorded.writes if write.endswith(".metadata")]
    page = Index(any_s3_storage).project(canonicalize_name("acme"))
    entry = page.file(in_parts.name) if page else None
    assert entry is not None and entry.metadata_etag == info.etag


def test_files_get_the_permissions_the_umask_allows(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        storage = LocalStorage(tmp_path / "repository")
        publish(Index(storage), wheel(tmp_path / "a", "perm", "1.0"))
    finally:
        os.umask(previous)
    modes = {
        path.relative_to(storage.root).as_posix(): path.stat().st_mode & 0o777
        for path in storage.root.rglob("*")
        if path.is_file() and path.name != ".private-pypi.lock"
    }
    assert modes and set(modes.values()) == {0o644}, modes


def test_no_symlink_under_simple_is_followed(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "repository")
    publish(Index(storage), wheel(tmp_path / "a", "victim", "1.0"))
    (storage.root / "simple" / "attacker").symlink_to(storage.root / "simple" / "victim")
    before = sorted(p.name for p in (storage.root / "simple" / "victim").iterdir())

    with pytest.raises(StorageError, match="refusing to follow the symbolic link"):
        publish(Index(storage), wheel(tmp_path / "b", "attacker", "1.0"))

    assert sorted(p.name for p in (storage.root / "simple" / "victim").iterdir()) == before


def test_a_dangling_symlink_crashes_neither_reindex_nor_verify(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "repository")
    index = Index(storage)
    publish(index, wheel(tmp_path / "a", "dangle", "1.0"))
    (storage.root / "simple" / "dangle" / "dangle-2.0-py3-none-any.whl").symlink_to(
        tmp_path / "nowhere"
    )

    assert Reindexer(index).run().problems == []
    assert Verifier(storage.index_url, storage).run().ok


def test_a_hung_lock_holder_makes_writers_give_up_with_one_clear_line(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "repository", lock_timeout=0.2)
    storage.root.mkdir(parents=True)
    with (storage.root / ".private-pypi.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(StorageError, match=r"waited 0.2 s for the lock .*a hung one does"):
            publish(Index(storage), wheel(tmp_path / "a", "locked", "1.0"))


class HostileIndex(http.server.BaseHTTPRequestHandler):
    """An index whose project page is whatever the test sets, and an endless file."""

    page = b""

    def do_GET(self) -> None:
        if self.path.endswith("/endless-1.0-py3-none-any.whl"):
            self.send_response(200)
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"\0" * 65536)
            except OSError:
                return
        if self.path in {"/simple/", "/simple/index.html"}:
            body = _html('<a href="hostile/">hostile</a>')
        elif self.path in {"/simple/hostile/", "/simple/hostile/index.html"}:
            body = self.page
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def hostile_problems(report: VerifyReport) -> list[Problem]:
    """The problems besides the JSON pages this HTML-only index does not have."""
    return [p for p in report.problems if p.kind is not ProblemKind.PAGE_MISSING]


def _html(links: str) -> bytes:
    return (
        '<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.1">'
        f"</head><body>{links}</body></html>"
    ).encode()


@pytest.fixture
def hostile_index() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HostileIndex)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    server.shutdown()
    server.server_close()


SHA = "0" * 64


@pytest.mark.parametrize(
    "href",
    [
        "//127.0.0.1:1/latest/meta-data/x-1.0-py3-none-any.whl",
        "file:///etc/hostname",
        "../other/x-1.0-py3-none-any.whl",
        "x-1.0-py3-none-any%2F..%2F..%2Fx.whl",
        "x-1.0-py3-none-any\u00e9.whl",
        "x-1.0-py3-none-any.whl?x=1",
        "x-1.0-py3-none-any.whl/",
    ],
)
def test_verify_fetches_nothing_outside_the_index_and_no_name_crashes_it(
    hostile_index: str, href: str
) -> None:
    # The link text is the file name a client sees: a valid one, so the link is what's tested.
    HostileIndex.page = _html(f'<a href="{href}#sha256={SHA}">x-1.0-py3-none-any.whl</a>')

    report = Verifier(hostile_index, retry=Retry(attempts=1)).run()

    assert [p.kind for p in hostile_problems(report)] == [ProblemKind.PAGE_INVALID], report
    assert report.files == 0 and report.bytes == 0


def test_verify_stops_reading_an_endless_file_and_an_oversized_page(hostile_index: str) -> None:
    HostileIndex.page = _html(
        f'<a href="endless-1.0-py3-none-any.whl#sha256={SHA}">endless-1.0-py3-none-any.whl</a>'
    )
    limits = Limits(file_bytes=1024 * 1024)

    report = Verifier(hostile_index, retry=Retry(attempts=1), limits=limits).run()

    (stopped,) = hostile_problems(report)
    assert stopped.kind is ProblemKind.FILE_MISMATCH and "the most verify reads" in stopped.detail

    HostileIndex.page = _html("x" * 2 * 1024 * 1024)
    report = Verifier(
        hostile_index, retry=Retry(attempts=1), limits=Limits(page_bytes=1024 * 1024)
    ).run()
    assert {p.kind for p in hostile_problems(report)} == {ProblemKind.PAGE_INVALID}
