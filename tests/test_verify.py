"""`invoke verify` reads the index as pip does and names what is broken; `invoke reindex`
repairs it, and verify passes again. Every case runs on moto S3 over HTTP (anonymous
reads, through the bucket policy) and on a local directory over file://.
"""

from __future__ import annotations

import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from hashlib import sha256
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from invoke.context import Context
from invoke.exceptions import Exit
from packaging.utils import canonicalize_name

import tasks
from private_pypi import layout
from private_pypi.advice import CHECKOUT, Text
from private_pypi.console import human_size
from private_pypi.distributions import Distribution, parse_filename
from private_pypi.index import Index
from private_pypi.pages import (
    PROJECT_PAGE,
    ProjectPage,
    Rendering,
    render_project_html,
    render_project_json,
    render_root_html,
    render_root_json,
)
from private_pypi.publish import Publisher, inspect_all
from private_pypi.reindex import Reindexer
from private_pypi.releases import Release, delete, yank
from private_pypi.storage import BUCKET_SETTINGS, LocalStorage, ObjectInfo, S3Storage, Storage
from private_pypi.verify import (
    IndexFormats,
    Limits,
    ProblemKind,
    ReaderCredentials,
    Retry,
    Verifier,
    VerifyError,
    VerifyReport,
    next_step,
    open_verifier,
)
from tests.factory import sdist, wheel
from tests.faultproxy import Drop, Fault, FaultProxy, Respond
from tests.hostile_corpus import HostileFile, build

GREETING = canonicalize_name("acme-greeting")
HELLO = canonicalize_name("acme-hello")
GREETING_WHEEL = "acme_greeting-1.0.0-py3-none-any.whl"
GREETING_SDIST = "acme_greeting-1.0.0.tar.gz"
HELLO_WHEEL = "acme_hello-1.0.0-py3-none-any.whl"

Found = set[tuple[ProblemKind, str]]


def publish(index: Index, paths: list[Path]) -> None:
    Publisher(index).publish(inspect_all(paths))


def publish_examples(index: Index, dists: Path) -> Index:
    """Two projects, three files: a wheel and an sdist of one, a wheel of the other."""
    publish(
        index,
        [
            wheel(dists, "acme-greeting", "1.0.0", requires_python=">=3.9"),
            sdist(dists, "acme-greeting", "1.0.0", requires_python=">=3.9"),
            wheel(dists, "acme-hello", "1.0.0", requires_dist=("acme-greeting>=1",)),
        ],
    )
    return index


@pytest.fixture
def published(index: Index, tmp_path: Path) -> Index:
    return publish_examples(index, tmp_path / "dists")


def verify(storage: Storage) -> VerifyReport:
    return Verifier(storage.index_url, storage).run()


def found(report: VerifyReport) -> Found:
    return {(problem.kind, problem.where) for problem in report.problems}


def url(storage: Storage, key: str) -> str:
    """The URL a client reads for a key."""
    return storage.index_url + key.removeprefix(layout.INDEX_PREFIX)


def stored(storage: Storage, key: str) -> str:
    """How verify names what only the listing shows."""
    return f"{storage.location}/{key}"


def html_urls(storage: Storage, directory: str) -> list[str]:
    """Where a client reads the HTML page of a directory: S3 stores it twice."""
    page = url(storage, directory)
    return [page, page + "index.html"] if storage.directory_keys else [page]


def overwrite(storage: Storage, key: str, body: bytes) -> None:
    """Replace an object behind the index's back, as another tool would."""
    if isinstance(storage, S3Storage):
        storage.client.put_object(Bucket=storage.bucket, Key=key, Body=body)
    else:
        assert isinstance(storage, LocalStorage)
        (storage.root / key).write_bytes(body)


def overwrite_html(storage: Storage, json_key: str, body: bytes) -> None:
    directory = json_key.removesuffix(PROJECT_PAGE.record.name)
    for key in PROJECT_PAGE.copy_keys(directory, directory_keys=storage.directory_keys):
        overwrite(storage, key, body)


# --- the breaks: each damages a published index and says what verify must report ------


@dataclass(frozen=True)
class Break:
    name: str
    damage: Callable[[Index, Path], Found]

    def __str__(self) -> str:
        return self.name


def garbage_in_project_json(index: Index, _: Path) -> Found:
    overwrite(index.storage, layout.project_json(HELLO), b'{"name": "acme-hello", "fil')
    return {(ProblemKind.PAGE_INVALID, url(index.storage, layout.project_json(HELLO)))}


def garbage_in_project_html(index: Index, _: Path) -> Found:
    overwrite_html(index.storage, layout.project_json(HELLO), b"<html><body>oops")
    return {(ProblemKind.PAGE_INVALID, url(index.storage, layout.project_dir(HELLO)))}


def garbage_in_root_json(index: Index, _: Path) -> Found:
    overwrite(index.storage, layout.ROOT_JSON, b"\x00\xff not json")
    return {(ProblemKind.PAGE_INVALID, url(index.storage, layout.ROOT_JSON))}


def empty_project_json(index: Index, _: Path) -> Found:
    overwrite(index.storage, layout.project_json(HELLO), b"")
    return {(ProblemKind.PAGE_INVALID, url(index.storage, layout.project_json(HELLO)))}


def project_pages_deleted(index: Index, _: Path) -> Found:
    storage = index.storage
    json_key = layout.project_json(HELLO)
    for rendering in PROJECT_PAGE.renderings_on(directory_keys=storage.directory_keys):
        storage.delete(rendering.key(layout.project_dir(HELLO)))
    missing = [url(storage, json_key), *html_urls(storage, layout.project_dir(HELLO))]
    return {(ProblemKind.PAGE_MISSING, where) for where in missing}


def file_deleted(index: Index, _: Path) -> Found:
    index.storage.delete(layout.file_key(GREETING, GREETING_SDIST))
    return {
        (ProblemKind.FILE_MISSING, url(index.storage, layout.file_key(GREETING, GREETING_SDIST)))
    }


def file_bytes_changed(index: Index, scratch: Path) -> Found:
    # Another valid wheel of the same name, longer, so even a coarse clock shows the change.
    other = wheel(scratch / "other", "acme-hello", "1.0.0", payload=b"changed" * 100)
    overwrite(index.storage, layout.file_key(HELLO, HELLO_WHEEL), other.read_bytes())
    return {(ProblemKind.FILE_MISMATCH, url(index.storage, layout.file_key(HELLO, HELLO_WHEEL)))}


def metadata_changed(index: Index, _: Path) -> Found:
    key = layout.metadata_key(GREETING, GREETING_WHEEL)
    overwrite(index.storage, key, b"Metadata-Version: 2.1\nName: acme-greeting\nVersion: 6.6.6\n\n")
    return {(ProblemKind.METADATA_MISMATCH, url(index.storage, key))}


def metadata_deleted(index: Index, _: Path) -> Found:
    key = layout.metadata_key(HELLO, HELLO_WHEEL)
    index.storage.delete(key)
    return {(ProblemKind.METADATA_MISSING, url(index.storage, key))}


def older_project_html(index: Index, _: Path) -> Found:
    page = index.project(GREETING)
    assert page is not None
    older = ProjectPage(GREETING, tuple(e for e in page.files if e.filename != GREETING_WHEEL))
    overwrite_html(index.storage, layout.project_json(GREETING), render_project_html(older))
    return {(ProblemKind.PAGES_DISAGREE, url(index.storage, layout.project_dir(GREETING)))}


def older_root_html(index: Index, _: Path) -> Found:
    overwrite_html(index.storage, layout.ROOT_JSON, render_root_html([GREETING]))
    return {(ProblemKind.PAGES_DISAGREE, index.storage.index_url)}


def project_missing_from_root(index: Index, _: Path) -> Found:
    overwrite(index.storage, layout.ROOT_JSON, render_root_json([GREETING]))
    overwrite_html(index.storage, layout.ROOT_JSON, render_root_html([GREETING]))
    return {(ProblemKind.PROJECT_NOT_LISTED, stored(index.storage, layout.project_dir(HELLO)))}


def file_stored_but_not_indexed(index: Index, scratch: Path) -> Found:
    # What a publish interrupted between upload and page update leaves behind.
    newer = wheel(scratch / "newer", "acme-hello", "1.1.0")
    key = layout.file_key(HELLO, newer.name)
    overwrite(index.storage, key, newer.read_bytes())
    return {(ProblemKind.FILE_NOT_INDEXED, stored(index.storage, key))}


def yank_marker_not_on_page(index: Index, _: Path) -> Found:
    key = layout.yank_key(HELLO, HELLO_WHEEL)
    overwrite(index.storage, key, b"broken on Windows")
    return {(ProblemKind.YANK_MISMATCH, stored(index.storage, key))}


def yank_on_page_without_marker(index: Index, _: Path) -> Found:
    yank(index, Release.parse("acme-hello", "1.0.0"), "broken")
    key = layout.yank_key(HELLO, HELLO_WHEEL)
    index.storage.delete(key)
    return {(ProblemKind.YANK_MISMATCH, stored(index.storage, key))}


BREAKS = [
    Break("garbage in a project's index.json", garbage_in_project_json),
    Break("garbage in a project's index.html", garbage_in_project_html),
    Break("garbage in the root index.json", garbage_in_root_json),
    Break("an empty project index.json", empty_project_json),
    Break("a project's pages deleted", project_pages_deleted),
    Break("a linked file deleted", file_deleted),
    Break("a file's bytes changed", file_bytes_changed),
    Break("a .metadata file changed", metadata_changed),
    Break("a .metadata file deleted", metadata_deleted),
    Break("an older project HTML page", older_project_html),
    Break("an older root HTML page", older_root_html),
    Break("a project missing from the root page", project_missing_from_root),
    Break("a file stored but not indexed", file_stored_but_not_indexed),
    Break("a yank marker the page does not show", yank_marker_not_on_page),
    Break("a yank on the page with no marker", yank_on_page_without_marker),
]


@pytest.mark.parametrize("broken", BREAKS, ids=str)
def test_verify_names_the_break_and_reindex_repairs_it(
    published: Index, broken: Break, tmp_path: Path
) -> None:
    storage = published.storage
    assert verify(storage).problems == []

    expected = broken.damage(published, tmp_path)
    assert found(verify(storage)) == expected

    Reindexer(published).run()
    after = verify(storage)
    assert after.problems == [], "\n".join(map(str, after.problems))


# --- what verify checks on a healthy index ---------------------------------------------


def test_verify_reads_every_page_and_file_and_counts_the_bytes(published: Index) -> None:
    storage = published.storage
    report = verify(storage)

    assert report.ok, report.problems
    assert (report.projects, report.files) == (2, 3)
    files = [
        layout.file_key(GREETING, GREETING_WHEEL),
        layout.metadata_key(GREETING, GREETING_WHEEL),
        layout.file_key(GREETING, GREETING_SDIST),
        layout.file_key(HELLO, HELLO_WHEEL),
        layout.metadata_key(HELLO, HELLO_WHEEL),
    ]
    sizes = [storage.head(key) for key in files]
    assert report.bytes == sum(info.size for info in sizes if info is not None)
    assert report.summary().startswith("2 project(s), 3 file(s), ")
    assert report.summary().endswith("checked: no problems")


def test_a_yanked_release_verifies(published: Index) -> None:
    yank(published, Release.parse("acme-hello", "1.0.0"), "broken")
    assert verify(published.storage).ok


def test_an_empty_repository_verifies_as_empty(storage: Storage) -> None:
    report = verify(storage)
    assert report.ok and report.empty
    assert report.summary().startswith("empty: nothing is published yet")


def test_over_http_alone_verify_checks_what_a_client_sees(
    s3_storage: S3Storage, tmp_path: Path
) -> None:
    index = Index(s3_storage)
    publish(index, [wheel(tmp_path, "acme-hello", "1.0.0")])
    client_only = Verifier(s3_storage.index_url)
    assert client_only.run().ok

    s3_storage.delete(layout.metadata_key(HELLO, HELLO_WHEEL))
    overwrite(s3_storage, layout.yank_key(HELLO, HELLO_WHEEL), b"")
    # The yank marker is in no page: only a listing finds it.
    assert found(client_only.run()) == {
        (ProblemKind.METADATA_MISSING, url(s3_storage, layout.metadata_key(HELLO, HELLO_WHEEL)))
    }


def test_a_page_linking_out_of_the_index_is_invalid_and_not_followed(
    published: Index,
) -> None:
    storage = published.storage
    key = layout.project_json(HELLO)
    stored_page = storage.read(key)
    assert stored_page is not None
    elsewhere = b'"url": "https://elsewhere.example/acme_hello-1.0.0-py3-none-any.whl"'
    overwrite(storage, key, stored_page.body.replace(f'"url": "{HELLO_WHEEL}"'.encode(), elsewhere))

    problems = verify(storage).problems
    assert [(p.kind, p.where) for p in problems] == [(ProblemKind.PAGE_INVALID, url(storage, key))]
    assert "links outside its directory" in problems[0].detail


def test_a_root_page_naming_no_valid_project_is_invalid(published: Index) -> None:
    storage = published.storage
    hostile = b'{"meta": {"api-version": "1.1"}, "projects": [{"name": "../../elsewhere"}]}'
    overwrite(storage, layout.ROOT_JSON, hostile)

    problems = verify(storage).problems
    assert [(p.kind, p.where) for p in problems] == [
        (ProblemKind.PAGE_INVALID, url(storage, layout.ROOT_JSON))
    ]
    assert "'../../elsewhere'" in problems[0].detail


def test_an_index_that_cannot_be_reached_is_one_error() -> None:
    with pytest.raises(VerifyError, match=r"cannot read the index at http://127\.0\.0\.1:9/"):
        Verifier("http://127.0.0.1:9/simple/", retry=Retry(attempts=1)).run()


# --- choosing what to verify ---------------------------------------------------------


def test_an_http_url_is_verified_as_a_client_and_a_repository_is_also_listed(
    tmp_path: Path, s3_env: dict[str, str], bucket: str, moto_endpoint: str
) -> None:
    index_url = f"{moto_endpoint}/{bucket}/simple/"
    as_client = open_verifier(index_url.rstrip("/"), {})
    assert (as_client.index_url, as_client.storage) == (index_url, None)

    from_env = open_verifier(None, s3_env)
    assert from_env.index_url == index_url
    assert isinstance(from_env.storage, S3Storage)

    repository = tmp_path / "repository"
    for given in (str(repository), repository.as_uri(), (repository / "simple").as_uri() + "/"):
        verifier = open_verifier(given, {})
        assert isinstance(verifier.storage, LocalStorage), given
        assert verifier.storage.root == repository
        assert verifier.index_url == (repository / "simple").as_uri() + "/"


# --- reindex writes nothing when nothing changed ---------------------------------------


def test_a_second_reindex_writes_nothing(s3_storage: S3Storage, tmp_path: Path) -> None:
    publish_examples(Index(s3_storage), tmp_path)
    overwrite_html(s3_storage, layout.project_json(HELLO), b"garbage")
    puts: list[str] = []
    s3_storage.observe_requests(lambda operation: puts.append(operation))

    Reindexer(Index(s3_storage)).run()
    assert puts.count("PutObject") == len(html_urls(s3_storage, layout.project_dir(HELLO)))

    puts.clear()
    report = Reindexer(Index(s3_storage)).run()
    assert (puts.count("PutObject"), report.written, report.inspected) == (0, [], 0)
    assert "ListObjectsV2" in puts


class OvertakenListing:
    """A storage whose listing of `simple/` is overtaken by a publish, as a slow one can be."""

    def __init__(self, storage: Storage, publish: Callable[[], object]) -> None:
        self._storage = storage
        self._publish: Callable[[], object] | None = publish

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        listing = list(self._storage.list(prefix))
        if prefix == layout.INDEX_PREFIX and self._publish is not None:
            self._publish()
            self._publish = None
        yield from listing

    def __getattr__(self, name: str) -> object:
        return getattr(self._storage, name)


def test_reindex_keeps_what_a_publish_adds_while_it_lists(published: Index, tmp_path: Path) -> None:
    storage = published.storage
    newer = [
        wheel(tmp_path / "newer", "acme-hello", "1.1.0"),
        wheel(tmp_path / "newer", "acme-new", "1.0"),
    ]
    overtaken = cast(Storage, OvertakenListing(storage, lambda: publish(published, newer)))

    Reindexer(Index(overtaken)).run()

    hello = published.project(HELLO)
    assert hello is not None and [e.version for e in hello.files] == ["1.0.0", "1.1.0"]
    assert canonicalize_name("acme-new") in published.projects()
    assert verify(storage).ok


# --- the task ----------------------------------------------------------------------


def test_invoke_verify_then_reindex_then_verify(
    local_storage: LocalStorage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = Index(local_storage)
    publish(index, [wheel(tmp_path / "dists", "acme-hello", "1.0.0")])
    repository = str(local_storage.root)
    local_storage.delete(layout.metadata_key(HELLO, HELLO_WHEEL))

    with pytest.raises(Exit) as failed:
        tasks.verify(Context(), repository=repository)
    assert failed.value.code == 1
    assert "`uv run invoke reindex`" in str(failed.value.message)
    checked = local_storage.head(layout.file_key(HELLO, HELLO_WHEEL))
    assert checked is not None
    shown = capsys.readouterr().out.splitlines()
    assert shown[1:] == [
        f"1 project(s), 1 file(s), {human_size(checked.size)} checked: 1 problem(s)",
        f"  metadata-missing: {url(local_storage, layout.metadata_key(HELLO, HELLO_WHEEL))}: "
        f"the page advertises core metadata for {HELLO_WHEEL} (no such file)",
    ]

    tasks.reindex(Context(), repository=repository)
    tasks.verify(Context(), repository=repository)
    assert capsys.readouterr().out.splitlines()[-1].endswith("checked: no problems")


def test_invoke_verify_with_no_repository_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in BUCKET_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(Exit) as failed:
        tasks.verify(Context())
    assert failed.value.code == 1
    assert str(failed.value.message).startswith("error: no repository configured")
    assert "\n" not in str(failed.value.message)


# --- problems that are not the index's ------------------------------------------------


def test_readers_refused_is_its_own_problem_and_reindex_is_not_the_advice(
    s3_storage: S3Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_env: dict[str, str]
) -> None:
    publish(Index(s3_storage), [wheel(tmp_path, "acme-hello", "1.0.0")])
    s3_storage.client.delete_bucket_policy(Bucket=s3_storage.bucket)  # readers are kept out

    report = Verifier(s3_storage.index_url).run()
    assert [problem.kind for problem in report.problems] == [ProblemKind.READERS_REFUSED]
    assert "bucket policy" in report.problems[0].detail

    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Exit) as failed:
        tasks.verify(Context())
    message = str(failed.value.message)
    assert message.startswith("error: 1 problem(s): readers cannot read the index")
    assert "reindex" not in message


def test_a_listed_bucket_that_refuses_readers_points_at_the_cdn_url(
    s3_storage: S3Storage, tmp_path: Path
) -> None:
    publish(Index(s3_storage), [wheel(tmp_path, "acme-hello", "1.0.0")])
    s3_storage.client.delete_bucket_policy(Bucket=s3_storage.bucket)  # as behind CloudFront

    report = verify(s3_storage)
    assert [problem.kind for problem in report.problems] == [ProblemKind.READERS_REFUSED]
    assert "holds 1 project(s)" in report.problems[0].detail
    assert "verify through the CDN" in report.problems[0].detail


def test_a_url_with_no_index_behind_it_fails_and_says_to_check_the_url(
    s3_storage: S3Storage, tmp_path: Path
) -> None:
    publish(Index(s3_storage), [wheel(tmp_path, "acme-hello", "1.0.0")])
    typo = s3_storage.index_url.replace("/simple/", "/simpel/")

    report = Verifier(typo).run()
    assert not report.ok and not report.empty
    assert [problem.kind for problem in report.problems] == [ProblemKind.NO_INDEX]
    assert "ends in /simple/" in report.problems[0].detail
    with pytest.raises(Exit) as failed:
        tasks.verify(Context(), repository=typo)
    message = str(failed.value.message)
    assert message.startswith("error: 1 problem(s): no index answers at that URL")
    assert "reindex" not in message


def test_an_empty_bucket_that_refuses_readers_verifies_as_empty_when_listed(
    s3_storage: S3Storage,
) -> None:
    s3_storage.client.delete_bucket_policy(Bucket=s3_storage.bucket)
    report = verify(s3_storage)
    assert report.ok and report.empty


# --- reading over HTTP: one pool of connections, retries, a reader's token ----------------


class ServedRepository(ThreadingHTTPServer):
    """A directory repository served over HTTP/1.1 with keep-alive, as S3 or a CDN serves
    one: it counts the connections clients open and the requests they make on them."""

    daemon_threads = True

    def __init__(self, root: Path) -> None:
        self.connections = self.requests = 0
        # Path -> where it moved: answered with a 302.
        self.redirects: dict[str, str] = {}
        self.authorizations: dict[str, str | None] = {}
        self._lock = threading.Lock()
        served = self

        class Handler(SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self) -> None:
                with served._lock:
                    served.requests += 1
                    served.authorizations[self.path] = self.headers.get("Authorization")
                if self.path in served.redirects:
                    self.send_response(302)
                    self.send_header("Location", served.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def index_url(self) -> str:
        return f"{self.origin}/{layout.INDEX_PREFIX}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self.connections += 1
        super().process_request(request, client_address)

    def __enter__(self) -> ServedRepository:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()


def test_verify_over_http_reads_every_page_and_file_over_a_few_connections(
    local_storage: LocalStorage, tmp_path: Path
) -> None:
    projects = [f"acme-{n}" for n in range(10)]
    publish(
        Index(local_storage),
        [make(tmp_path, p, "1.0.0") for p in projects for make in (wheel, sdist)],
    )

    with ServedRepository(local_storage.root) as served:
        report = Verifier(served.index_url, workers=4).run()

    assert report.ok, report.problems
    assert report.files == 20
    # Three root pages, three pages per project, 20 files, 10 .metadata files.
    assert served.requests == 3 + 3 * 10 + 20 + 10
    assert served.connections <= 4  # one per thread at most, kept open for the whole run


def test_a_reader_token_does_not_follow_a_redirect_to_another_origin(
    local_storage: LocalStorage, tmp_path: Path
) -> None:
    publish(Index(local_storage), [wheel(tmp_path, "acme-hello", "1.0.0")])
    file_path = "/" + layout.file_key(HELLO, HELLO_WHEEL)
    with (
        ServedRepository(local_storage.root) as elsewhere,
        ServedRepository(local_storage.root) as index,
    ):
        index.redirects[file_path] = elsewhere.origin + file_path
        reader = ReaderCredentials("ci", "a-reader-token")
        report = Verifier(index.index_url, reader=reader).run()

    assert report.ok, report.problems
    assert index.authorizations[file_path] == reader.authorization(index.index_url, index.index_url)
    assert elsewhere.authorizations == {file_path: None}


def test_a_server_error_or_a_dropped_connection_is_read_again(
    s3_storage: S3Storage, moto_endpoint: str, tmp_path: Path
) -> None:
    publish(Index(s3_storage), [wheel(tmp_path, "acme-hello", "1.0.0")])
    wheel_path = re.escape(layout.file_key(HELLO, HELLO_WHEEL)) + "$"
    with FaultProxy(moto_endpoint) as proxy:
        index_url = s3_storage.index_url.replace(moto_endpoint, proxy.url)
        proxy.inject(Fault("GET", wheel_path, Respond(503, "SlowDown"), times=2))
        proxy.inject(Fault("GET", r"/simple/index\.json$", Drop(), times=1))
        assert Verifier(index_url, retry=Retry(base_delay=0.01)).run().ok

        proxy.inject(Fault("GET", wheel_path, Respond(503, "SlowDown")))
        problems = Verifier(index_url, retry=Retry(base_delay=0.01)).run().problems

    assert [(p.kind, p.detail) for p in problems] == [
        (ProblemKind.UNREACHABLE, "HTTP 503 Service Unavailable (after 3 attempt(s))")
    ]


# --- a page's renderings are what verify reads ----------------------------------------


def test_a_rendering_added_to_a_page_format_is_read_and_checked_too(
    published: Index,
) -> None:
    storage = published.storage
    versioned = Rendering("index.v1.json", layout.JSON_TYPE, render_project_json)
    project_page = replace(PROJECT_PAGE, copies=(*PROJECT_PAGE.copies, versioned))
    verifier = Verifier(storage.index_url, storage, formats=IndexFormats(project=project_page))

    assert found(verifier.run()) == {
        (ProblemKind.PAGE_MISSING, url(storage, layout.project_dir(name) + versioned.name))
        for name in (GREETING, HELLO)
    }

    for name in (GREETING, HELLO):
        page = published.project(name)
        assert page is not None
        overwrite(storage, layout.project_dir(name) + versioned.name, render_project_json(page))
    assert verifier.run().ok

    older = ProjectPage(HELLO)
    overwrite(storage, layout.project_dir(HELLO) + versioned.name, render_project_json(older))
    problems = verifier.run().problems
    assert [(p.kind, p.where) for p in problems] == [
        (ProblemKind.PAGES_DISAGREE, url(storage, layout.project_dir(HELLO) + versioned.name))
    ]
    assert problems[0].detail.startswith(f"differs from {url(storage, layout.project_json(HELLO))}")


# --- a file that publish refuses now, published before it did ------------------------


def publish_uninspected(index: Index, hostile: HostileFile) -> str:
    """Publish a file unchecked, as a release from before inspection refused it; its URL."""
    path = hostile.path
    kind, name, version = parse_filename(path.name)
    body = path.read_bytes()
    metadata = None
    if kind == "wheel":
        with zipfile.ZipFile(path) as archive:
            metadata = archive.read(f"{path.name.split('-')[0]}-{version}.dist-info/METADATA")
    distribution = Distribution(
        path, path.name, name, version, kind, len(body), sha256(body).hexdigest(), None,
        metadata, sha256(metadata).hexdigest() if metadata else None,
    )  # fmt: skip
    Publisher(index).publish([distribution])
    return url(index.storage, layout.file_key(name, path.name))


def test_a_published_file_that_publish_now_refuses_is_reported_with_what_to_do(
    published: Index, tmp_path: Path
) -> None:
    storage = published.storage
    twins = [build(tmp_path, "data-purelib-metadata-twin"), build(tmp_path, "case-pkg-info-twin")]
    urls = {publish_uninspected(published, twin): twin for twin in twins}

    report = verify(storage)

    assert found(report) == {(ProblemKind.FILE_INVALID, where) for where in urls}
    for problem in report.problems:
        reason, _, advice = problem.detail.partition(". Publish refuses such a file now: ")
        assert urls[problem.where].reason in reason
        # As the installed command says it; the checkout's tasks say `uv run invoke delete`.
        assert advice == (
            "delete its release (`private-pypi delete NAME VERSION`; or yank it) and publish a "
            "fixed build as a new version"
        )
        assert isinstance(problem.detail, Text)
        assert "(`uv run invoke delete NAME VERSION`;" in problem.detail.render(CHECKOUT)
    assert next_step(report).startswith("for each file-invalid file, delete its release")

    Reindexer(published).run()
    assert found(verify(storage)) == {(ProblemKind.FILE_INVALID, where) for where in urls}
    for twin in twins:
        delete(published, Release.parse(twin.id.replace("-", "_"), "1.0"))
    assert verify(storage).ok


def test_verify_reads_a_file_once_and_a_long_member_list_again_alone(
    s3_storage: S3Storage, moto_endpoint: str, tmp_path: Path
) -> None:
    hostile = build(tmp_path, "data-purelib-metadata-twin")
    file_url = publish_uninspected(Index(s3_storage), hostile)
    key = file_url.removeprefix(s3_storage.index_url)
    too_long = "longer than the end verify keeps, over the 16 B it reads again"
    runs = [
        # (the end kept, the most read again), what is read, why the file is refused.
        (Limits(), 1, hostile.reason),
        (Limits(archive_tail_bytes=64), 2, hostile.reason),
        (Limits(archive_tail_bytes=64, member_list_bytes=16), 1, too_long),
    ]
    with FaultProxy(moto_endpoint) as proxy:
        index_url = s3_storage.index_url.replace(moto_endpoint, proxy.url)
        for limits, reads, reason in runs:
            proxy.clear()
            read = proxy.inject(Fault("GET", re.escape(key) + "$", Drop(), times=0))
            report = Verifier(index_url, limits=limits).run()

            assert [(p.kind, p.where) for p in report.problems] == [
                (ProblemKind.FILE_INVALID, report.index_url + key)
            ]
            assert reason in report.problems[0].detail
            assert read.seen == reads


def test_a_long_member_list_is_read_again_from_a_directory_and_from_a_server_without_ranges(
    local_storage: LocalStorage, tmp_path: Path
) -> None:
    hostile = build(tmp_path, "data-purelib-metadata-twin")
    publish_uninspected(Index(local_storage), hostile)
    limits = Limits(archive_tail_bytes=64)

    with ServedRepository(local_storage.root) as served:  # SimpleHTTPRequestHandler: no Range
        over_http = Verifier(served.index_url, limits=limits).run()
    from_directory = Verifier(local_storage.index_url, local_storage, limits=limits).run()

    for report in (over_http, from_directory):
        assert [p.kind for p in report.problems] == [ProblemKind.FILE_INVALID]
        assert hostile.reason in report.problems[0].detail
