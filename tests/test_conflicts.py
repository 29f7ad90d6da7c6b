"""S3's 409 ConditionalRequestConflict: a write that did not take effect is sent again.

S3 answers 409 to a conditional write (If-None-Match: * or If-Match) that meets another
request on the same key in flight, and to a delete racing one; the request did not take
effect, and botocore does not retry it. Create-only files, metadata files, plain writes
and deletes are sent again; a page written If-Match is read again first, as after a 412;
a multipart upload whose completion got the 409 is started again. Each is bounded, and
past the bound the command fails in one line that says nothing was lost.

Neither stand-in answers these 409s by itself (moto never does; LocalStack only to a
multipart completion whose upload began with a condition, which ours never do), so the
fault proxy answers them as S3 does, without passing the request on. The tests run on
each stand-in behind the proxy.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.config import Config
from packaging.utils import canonicalize_name

from private_pypi import layout
from private_pypi.aws import Access
from private_pypi.errors import PrivatePypiError
from private_pypi.index import ConcurrentUpdateError, Index
from private_pypi.publish import Outcome, Publisher, inspect_all
from private_pypi.reindex import Reindexer
from private_pypi.releases import Release, delete, unyank, yank
from private_pypi.storage import RetryPolicy, S3Settings, S3Storage, Storage
from private_pypi.verify import Retry, Verifier
from tests.conftest import REGION, new_bucket
from tests.consistency import read_repository
from tests.factory import sdist, wheel
from tests.faultproxy import CONFLICT, Fault, FaultProxy, conflicts
from tests.invoking import invoke

FAST = RetryPolicy(attempts=8, base_delay=0.002, max_delay=0.02)
QUICK = Config(retries={"mode": "standard", "max_attempts": 2}, read_timeout=30)
WHEEL = "acme-1.0-py3-none-any.whl"
SDIST = "acme-1.0.tar.gz"
BIG_WHEEL = "bigdata-1.0-py3-none-any.whl"
# Above the multipart threshold (MULTIPART_THRESHOLD): two parts.
BIG = 18 * 1024 * 1024

# The conditional writes of a publish of a new project, by the key they write.
CONDITIONAL_WRITES = {
    "the wheel": f"simple/acme/{WHEEL}",
    "the sdist": f"simple/acme/{SDIST}",
    "the metadata file": f"simple/acme/{WHEEL}.metadata",
    "the root JSON page": "simple/index.json",
    "the root HTML page": "simple/index.html",
    "the project JSON page": "simple/acme/index.json",
    "the project HTML page": "simple/acme/index.html",
    "the project directory page": "simple/acme/",
}


@pytest.fixture
def proxy(s3_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy(s3_endpoint) as proxy:
        yield proxy


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    return new_bucket(s3_endpoint)


@pytest.fixture
def storage(proxy: FaultProxy, bucket: str) -> S3Storage:
    """The bucket through the proxy, with a short back-off after a 409."""
    settings = S3Settings(bucket, Access("testing", "testing", REGION, proxy.url))
    return S3Storage(settings, config=QUICK, retry=FAST)


def key_path(bucket: str, key: str) -> str:
    return f"^/{re.escape(bucket)}/{re.escape(key)}$"


def publish(storage: Storage, *paths: Path) -> list[Outcome]:
    result = Publisher(Index(storage, FAST)).publish(inspect_all(paths))
    return [published.outcome for published in result.files]


def verified(storage: S3Storage) -> None:
    report = Verifier(storage.index_url, storage, retry=Retry(1, 0)).run()
    assert report.ok, [str(problem) for problem in report.problems]
    read_repository(storage).assert_settled()


@pytest.mark.parametrize("write", CONDITIONAL_WRITES)
def test_a_conditional_write_answered_409_is_tried_again_and_the_publish_completes(
    proxy: FaultProxy, storage: S3Storage, tmp_path: Path, write: str
) -> None:
    fault = proxy.inject(conflicts(key_path(storage.bucket, CONDITIONAL_WRITES[write]), times=2))

    outcomes = publish(storage, wheel(tmp_path, "acme", "1.0"), sdist(tmp_path, "acme", "1.0"))

    assert outcomes == [Outcome.UPLOADED, Outcome.UPLOADED]
    assert fault.hits == 2 and fault.seen == 3, "tried again until S3 took it"
    assert read_repository(storage).files("acme") == {WHEEL, SDIST}
    verified(storage)


def test_a_create_only_upload_after_409s_still_never_replaces_a_file(
    proxy: FaultProxy, storage: S3Storage, tmp_path: Path
) -> None:
    original, other = tmp_path / "original", tmp_path / "other"
    original.write_bytes(b"original bytes")
    other.write_bytes(b"other bytes")
    upload = {"content_type": "application/zip", "cache_control": "immutable", "metadata": {}}
    proxy.inject(conflicts(key_path(storage.bucket, "simple/a/a-1.0.tar.gz"), times=2))

    assert storage.upload("simple/a/a-1.0.tar.gz", original, **upload) is not None
    proxy.inject(conflicts(key_path(storage.bucket, "simple/a/a-1.0.tar.gz"), times=2))
    # A 412 after the 409s: it is stored already, and not replaced.
    assert storage.upload("simple/a/a-1.0.tar.gz", other, **upload) is None

    stored = storage.read("simple/a/a-1.0.tar.gz")
    assert stored is not None and stored.body == b"original bytes"


def test_a_multipart_upload_whose_completion_is_answered_409_is_started_again(
    proxy: FaultProxy, storage: S3Storage, tmp_path: Path
) -> None:
    big = wheel(tmp_path, "bigdata", "1.0", payload=os.urandom(BIG))
    key = f"simple/bigdata/{BIG_WHEEL}"
    completion = proxy.inject(conflicts(key_path(storage.bucket, key), method="POST", times=1))
    requests: Counter[str] = Counter()
    storage.observe_requests(lambda name: requests.update([name]))

    assert publish(storage, big) == [Outcome.UPLOADED]

    assert completion.hits == 1
    assert requests["CreateMultipartUpload"] == 2, "the whole upload, from its first part"
    assert requests["AbortMultipartUpload"] == 1, "the first one's parts are not left behind"
    (distribution,) = inspect_all([big])
    assert storage.sha256(key) == distribution.sha256
    assert not storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads")
    verified(storage)


def test_yank_unyank_delete_and_reindex_get_through_409s(
    proxy: FaultProxy, storage: S3Storage, tmp_path: Path
) -> None:
    publish(storage, wheel(tmp_path, "acme", "1.0"), sdist(tmp_path, "acme", "1.0"))
    publish(storage, wheel(tmp_path, "acme", "2.0"))
    # A third of the conditional writes and of the deletes, pages, markers and files alike.
    proxy.inject(conflicts(f"^/{storage.bucket}/simple/", share=1 / 3))
    proxy.inject(Fault("DELETE", f"^/{storage.bucket}/simple/", CONFLICT, share=1 / 3))
    index = Index(storage, FAST)
    acme = canonicalize_name("acme")

    yank(index, Release.parse("acme", "1.0"), "broken")
    unyank(index, Release.parse("acme", "1.0"))
    yank(index, Release.parse("acme", "2.0"), "use 3.0")
    deleted = delete(index, Release.parse("acme", "1.0"))
    # An HTML copy that lags its record, as a killed writer leaves it: reindex repairs it.
    storage.write(
        "simple/acme/index.html", b"<html></html>", content_type="text/html", cache_control=""
    )
    Reindexer(index, workers=4).run()

    assert {entry.filename for entry in deleted.files} == {WHEEL, SDIST}
    page = index.project(acme)
    assert page is not None
    assert [(entry.filename, entry.yanked) for entry in page.files] == [
        ("acme-2.0-py3-none-any.whl", "use 3.0")
    ]
    for filename in (WHEEL, SDIST):
        assert storage.head(layout.file_key(acme, filename)) is None
        assert storage.head(layout.yank_key(acme, filename)) is None
    assert storage.head(layout.yank_key(acme, "acme-2.0-py3-none-any.whl")) is not None
    proxy.clear()
    verified(storage)


def test_a_page_that_keeps_getting_409s_fails_in_one_line_and_loses_nothing(
    proxy: FaultProxy, storage: S3Storage, tmp_path: Path
) -> None:
    publish(storage, wheel(tmp_path, "acme", "1.0"))
    proxy.inject(conflicts(key_path(storage.bucket, "simple/acme/index.json")))

    with pytest.raises(ConcurrentUpdateError) as failed:
        publish(storage, wheel(tmp_path, "acme", "2.0"))

    assert str(failed.value) == gave_up(storage, "simple/acme/index.json", 8)
    assert read_repository(storage).files("acme") == {WHEEL}
    proxy.clear()
    publish(storage, wheel(tmp_path, "acme", "2.0"))
    assert read_repository(storage).files("acme") == {WHEEL, "acme-2.0-py3-none-any.whl"}


def test_an_upload_that_keeps_getting_409s_fails_in_one_line_and_a_rerun_completes_it(
    proxy: FaultProxy, storage: S3Storage, tmp_path: Path
) -> None:
    publish(storage, wheel(tmp_path, "acme", "1.0"))
    key = "simple/acme/acme-2.0-py3-none-any.whl"
    proxy.inject(conflicts(key_path(storage.bucket, key)))

    with pytest.raises(PrivatePypiError) as failed:
        publish(storage, wheel(tmp_path, "acme", "2.0"))

    assert str(failed.value) == gave_up(storage, key, 8)
    assert read_repository(storage).files("acme") == {WHEEL}
    proxy.clear()
    publish(storage, wheel(tmp_path, "acme", "2.0"))
    assert read_repository(storage).files("acme") == {WHEEL, "acme-2.0-py3-none-any.whl"}
    verified(storage)


def test_an_unyank_whose_marker_keeps_getting_409s_fails_in_one_line_and_a_rerun_completes_it(
    proxy: FaultProxy, storage: S3Storage, tmp_path: Path
) -> None:
    publish(storage, wheel(tmp_path, "acme", "1.0"))
    index, release = Index(storage, FAST), Release.parse("acme", "1.0")
    yank(index, release, "broken")
    marker = layout.yank_key(release.project, WHEEL)
    proxy.inject(Fault("DELETE", key_path(storage.bucket, marker), CONFLICT))

    with pytest.raises(PrivatePypiError) as failed:
        unyank(index, release)

    assert str(failed.value) == gave_up(storage, marker, 8)
    proxy.clear()
    assert unyank(index, release).files
    assert storage.head(marker) is None
    verified(storage)


def test_a_deleted_release_whose_file_keeps_getting_409s_is_off_the_pages_and_reindex_removes_it(
    proxy: FaultProxy, storage: S3Storage, tmp_path: Path
) -> None:
    publish(storage, wheel(tmp_path, "acme", "1.0"), wheel(tmp_path, "acme", "2.0"))
    index, key = Index(storage, FAST), f"simple/acme/{WHEEL}"
    proxy.inject(Fault("DELETE", key_path(storage.bucket, key), CONFLICT))

    with pytest.raises(PrivatePypiError) as failed:
        delete(index, Release.parse("acme", "1.0"))

    assert str(failed.value) == gave_up(storage, key, 8)
    # The pages went first: no page links the file it could not remove.
    assert read_repository(storage).files("acme") == {"acme-2.0-py3-none-any.whl"}
    proxy.clear()
    Reindexer(index, workers=4).run()
    assert storage.head(key) is None
    verified(storage)


def gave_up(storage: S3Storage, key: str, attempts: int) -> str:
    return (
        f"s3://{storage.bucket}/{key} kept meeting conflicting requests (S3 answered 409 "
        f"ConditionalRequestConflict, {attempts} attempts); nothing was lost, run the same "
        "command again"
    )


# On moto only: what it tests is the command's last line, and three uploads of 18 MiB
# through the proxy are the slowest test of LocalStack's tier.
@pytest.mark.parametrize("s3_endpoint", ["moto"], indirect=True)
def test_invoke_publish_of_a_multipart_upload_that_keeps_getting_409s_is_one_line(
    proxy: FaultProxy, storage: S3Storage, bucket: str, tmp_path: Path
) -> None:
    big = wheel(tmp_path, "bigdata", "1.0", payload=os.urandom(BIG))
    key = f"simple/bigdata/{BIG_WHEEL}"
    completion = proxy.inject(conflicts(key_path(bucket, key), method="POST"))
    env = {
        "AWS_ENDPOINT_URL": proxy.url,
        "AWS_PYPI_BUCKET": bucket,
        "AWS_PYPI_REGION": REGION,
        "AWS_PYPI_ACCESS_KEY_ID": "testing",
        "AWS_PYPI_SECRET_ACCESS_KEY": "testing",
    }

    failed = invoke("publish", "--dist", str(big), env=env)

    # The progress lines, then one line for the failure.
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1] == f"error: {gave_up(storage, key, 3)}"
    assert "Traceback" not in failed.stderr
    assert completion.hits == 3
    assert not list(storage.list("simple/"))
    assert not storage.client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    proxy.clear()
    assert invoke("publish", "--dist", str(big), env=env).returncode == 0
    verified(storage)
