"""A release has one meaning, and the store holds exactly the bytes that were inspected."""

from __future__ import annotations

import os
import shutil
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from private_pypi import layout
from private_pypi.distributions import inspect
from private_pypi.errors import FileChanged, FileConflict, InvalidDistribution, PrivatePypiError
from private_pypi.index import Index
from private_pypi.publish import Publisher, PublishRefused, inspect_all
from private_pypi.reindex import Reindexer
from private_pypi.releases import Release, delete
from private_pypi.storage import S3Storage, Storage
from private_pypi.verify import Verifier
from tests.documentation import page
from tests.factory import sdist, wheel
from tests.hostile_corpus import build, wheel_members, write_zip


def publish(index: Index, *paths: Path) -> None:
    Publisher(index).publish(inspect_all(paths))


def stored_keys(storage: Storage) -> set[str]:
    return {info.key for info in storage.list("")}


def spelled(path: Path, filename: str) -> Path:
    """The same file under another name, in a directory of its own."""
    directory = path.parent / filename.replace(".", "_")
    directory.mkdir()
    return Path(shutil.copy(path, directory / filename))


def test_a_local_version_is_refused(index: Index, tmp_path: Path) -> None:
    publish(index, wheel(tmp_path / "a", "lv", "1.0"))
    evil = write_zip(tmp_path / "lv-1.0+evil-py3-none-any.whl", wheel_members("lv", "1.0+evil"))

    with pytest.raises(PublishRefused, match=r"lv-1.0\+evil-py3-none-any.whl: local version"):
        publish(index, evil)

    assert index.project("lv").versions == ["1.0"]  # type: ignore[union-attr, arg-type]


def test_a_release_is_one_version_however_it_is_spelled(index: Index, tmp_path: Path) -> None:
    publish(index, wheel(tmp_path / "a", "tw", "1.0"))
    other_spelling = wheel(tmp_path / "b", "tw", "1.0.0", payload=b"other")

    with pytest.raises(
        FileConflict, match=r"tw-1.0.0-py3-none-any.whl: version 1.0.0 is release 1.0"
    ):
        publish(index, other_spelling)

    page = index.project("tw")  # type: ignore[arg-type]
    assert page is not None and [f.filename for f in page.files] == ["tw-1.0-py3-none-any.whl"]


def test_two_projects_may_spell_the_same_version_each_their_own_way(
    index: Index, tmp_path: Path
) -> None:
    """A monorepo publish of acme-greeting 1.0.0 and acme-hello 1.0: two releases of two
    projects, not one release spelled two ways."""
    publish(index, wheel(tmp_path, "acme-greeting", "1.0.0"), wheel(tmp_path, "acme-hello", "1.0"))

    assert index.project("acme-greeting").versions == ["1.0.0"]  # type: ignore[union-attr, arg-type]
    assert index.project("acme-hello").versions == ["1.0"]  # type: ignore[union-attr, arg-type]


def test_two_spellings_of_one_release_in_one_publish_are_refused(
    index: Index, tmp_path: Path
) -> None:
    with pytest.raises(PublishRefused, match=r"tw-1.0.0.tar.gz: version 1.0.0 is release 1.0"):
        publish(index, wheel(tmp_path, "tw", "1.0"), sdist(tmp_path, "tw", "1.0.0"))

    assert index.project("tw") is None  # type: ignore[arg-type]


def test_a_non_canonical_spelling_is_stored_under_the_canonical_name(
    index: Index, tmp_path: Path
) -> None:
    built = wheel(tmp_path / "a", "tw", "1.0")
    legacy = spelled(built, "TW-1.0-py3-none-ANY.whl")

    publish(index, legacy)

    page = index.project("tw")  # type: ignore[arg-type]
    assert page is not None and [f.filename for f in page.files] == ["tw-1.0-py3-none-any.whl"]
    assert layout.file_key("tw", "tw-1.0-py3-none-any.whl") in stored_keys(index.storage)  # type: ignore[arg-type]
    # The canonical spelling of other bytes is the same file: refused, as files are immutable.
    with pytest.raises(FileConflict, match="immutable"):
        publish(index, wheel(tmp_path / "b", "tw", "1.0", payload=b"other"))


def test_a_release_has_one_sdist(index: Index, tmp_path: Path) -> None:
    publish(index, sdist(tmp_path / "a", "one", "1.0"))
    zipped = write_zip(
        tmp_path / "one-1.0.zip",
        {"one-1.0/PKG-INFO": b"Metadata-Version: 2.1\nName: one\nVersion: 1.0\n"},
    )

    with pytest.raises(
        FileConflict, match=r"one-1.0.zip: release 1.0 already has the release's sdist"
    ):
        publish(index, zipped)


def test_two_sdists_of_one_release_given_together_are_refused(tmp_path: Path) -> None:
    tarred = sdist(tmp_path / "a", "one", "1.0")
    zipped = write_zip(
        tmp_path / "one-1.0.zip",
        {"one-1.0/PKG-INFO": b"Metadata-Version: 2.1\nName: one\nVersion: 1.0\n"},
    )
    with pytest.raises(PublishRefused, match="already has the release's sdist"):
        inspect_all([tarred, zipped])


def test_build_tags_are_new_files_of_the_same_release(index: Index, tmp_path: Path) -> None:
    first = wheel(tmp_path / "a", "bt", "1.0")
    rebuilt = spelled(
        wheel(tmp_path / "b", "bt", "1.0", payload=b"fix"), "bt-1.0-1-py3-none-any.whl"
    )
    duplicate = spelled(
        wheel(tmp_path / "c", "bt", "1.0", payload=b"dup"), "bt-1.0-py2.py3-none-any.whl"
    )

    publish(index, first, rebuilt)
    page = index.project("bt")  # type: ignore[arg-type]
    assert page is not None and len(page.files) == 2 and page.versions == ["1.0"]

    publish(index, duplicate)  # py2.py3 is other tags than py3: another file
    third = spelled(
        wheel(tmp_path / "d", "bt", "1.0", payload=b"again"), "bt-1.0-py3.py2-none-any.whl"
    )
    with pytest.raises(FileConflict, match="a wheel with the same build tag and tags"):
        publish(index, third)


class DeletedMidPublish:
    """The index's storage, as a publish meets it when the release is deleted mid-upload."""

    def __init__(self, storage: Storage, release: Release) -> None:
        self.storage, self.release = storage, release

    def upload(self, *args: Any, **kwargs: Any) -> str | None:
        if self.release is not None:
            release, self.release = self.release, None  # once
            delete(Index(self.storage), release)
        return self.storage.upload(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


def test_a_publish_racing_a_delete_of_its_release_brings_none_of_it_back(
    index: Index, tmp_path: Path
) -> None:
    plain = wheel(tmp_path / "a", "dl", "1.0")
    publish(index, plain)
    tagged = spelled(wheel(tmp_path / "b", "dl", "1.0", payload=b"b"), "dl-1.0-1-py3-none-any.whl")
    racing = Index(DeletedMidPublish(index.storage, Release.parse("dl", "1.0")))  # type: ignore[arg-type]

    # The publish saw the plain wheel on the page; the delete lands before it commits.
    with pytest.raises(PrivatePypiError, match="its release was deleted from the index"):
        publish(racing, plain, tagged)

    page = index.project("dl")  # type: ignore[arg-type]
    assert page is not None and page.files == ()
    assert page.deleted == {plain.name, tagged.name}  # as if the delete came just after
    assert not {key for key in stored_keys(index.storage) if key.endswith(".whl")}
    with pytest.raises(FileConflict, match="its release was deleted"):
        publish(index, spelled(wheel(tmp_path / "c", "dl", "1.0", payload=b"c"),
                               "dl-1.0-2-py3-none-any.whl"))  # fmt: skip
    assert Verifier(index.storage.index_url, index.storage).run().ok


def change_after_inspection(path: Path) -> None:
    """Rewrite the file's last byte: same size, other bytes, as a build still running would."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_file_that_changes_after_inspection_is_refused_by_the_store(
    storage: Storage, tmp_path: Path
) -> None:
    path = wheel(tmp_path, "moving", "1.0")
    inspected = inspect_all([path])
    change_after_inspection(path)

    with pytest.raises(FileChanged, match=r"moving-1.0-py3-none-any.whl: the file changed"):
        Publisher(Index(storage)).publish(inspected)

    assert stored_keys(storage) == set()


def test_a_large_file_that_changes_after_inspection_is_refused_and_its_upload_aborted(
    any_s3_storage: S3Storage, tmp_path: Path
) -> None:
    path = wheel(tmp_path, "bigmoving", "1.0", payload=os.urandom(18 * 1024 * 1024))
    inspected = inspect_all([path])
    change_after_inspection(path)

    with pytest.raises(FileChanged):
        Publisher(Index(any_s3_storage)).publish(inspected)

    assert stored_keys(any_s3_storage) == set()
    uploads = any_s3_storage.client.list_multipart_uploads(Bucket=any_s3_storage.bucket)
    assert uploads.get("Uploads", []) == []


def documented_recovery_recipe() -> str:
    guide = page("how-to/yank-and-delete.md")
    section = guide.split("**Recovering a deleted file.**", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_documented_recipe_recovers_a_deleted_release(
    s3_storage: S3Storage, tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = s3_storage.client
    client.put_bucket_versioning(
        Bucket=s3_storage.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    index = Index(s3_storage)
    publish(index, wheel(tmp_path, "acme-hello", "1.0.0"))
    delete(index, Release.parse("acme-hello", "1.0.0"))
    assert Reindexer(index).run().problems == []
    deleted = index.project("acme-hello")  # type: ignore[arg-type]
    assert deleted is not None and deleted.versions == []  # the tombstone keeps it deleted

    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    recipe = documented_recovery_recipe().replace('"acme-pypi-production"', repr(s3_storage.bucket))
    exec(compile(recipe, "docs/how-to/yank-and-delete.md", "exec"), {})
    Reindexer(index).run()

    page = index.project("acme-hello")  # type: ignore[arg-type]
    assert page is not None and page.versions == ["1.0.0"]


def test_a_flood_of_metadata_headers_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    """Parsing 10 MiB of headers took 7 s and 413 MiB: the refusal must come first. Memory
    shows it where a clock on a busy machine could not."""
    flood = build(tmp_path, "metadata-header-flood")
    assert flood.path.stat().st_size < 64 * 1024  # 9 MiB of headers, deflated

    tracemalloc.start()
    try:
        with pytest.raises(InvalidDistribution, match="bytes of headers, over the 1 MiB limit"):
            inspect(flood.path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 48 * 1024 * 1024, f"{peak:,} bytes"


class Interleaved:
    """A storage client that runs `meanwhile` straight after its first write of `after`,
    then dies at its next write: the job that wrote the JSON, was overtaken, and was killed."""

    def __init__(self, storage: Storage, after: str, meanwhile: Callable[[], None]) -> None:
        self._storage, self._after, self._meanwhile = storage, after, meanwhile
        self._overtaken = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def write(self, key: str, body: bytes, **options: Any) -> str:
        if self._overtaken:
            try:
                return self._storage.write(key, body, **options)
            finally:
                raise KilledJob
        etag = self._storage.write(key, body, **options)
        if key == self._after:
            self._overtaken = True
            self._meanwhile()
        return etag


class KilledJob(Exception):
    pass


def test_a_killed_writer_cannot_hide_another_jobs_release_from_the_html(
    storage: Storage, tmp_path: Path
) -> None:
    publish(Index(storage), wheel(tmp_path / "a", "race", "1.0"))
    second = wheel(tmp_path / "b", "race", "2.0")
    third = inspect_all([wheel(tmp_path / "c", "race", "3.0")])
    job_b = lambda: publish(Index(storage), second)  # noqa: E731
    job_a = Index(Interleaved(storage, "simple/race/index.json", job_b))  # type: ignore[arg-type]

    with pytest.raises(KilledJob):
        Publisher(job_a).publish(third)

    html = storage.read("simple/race/index.html")
    assert html is not None and b"race-2.0-py3-none-any.whl" in html.body
    assert Verifier(storage.index_url, storage).run().ok
