"""Project status markers (PEP 792), as a user sets them and as clients read them back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from pypi_simple import ProjectPage as ClientPage
from pypi_simple import ProjectStatus as ClientStatus

from private_pypi.index import Index
from private_pypi.pages import ProjectStatus
from private_pypi.publish import Publisher, inspect_all
from private_pypi.reindex import Reindexer
from private_pypi.status import UploadRefused, set_status
from private_pypi.storage import LocalStorage, S3Storage, Storage
from private_pypi.verify import Verifier
from tests.factory import sdist, wheel
from tests.invoking import error_line, invoke

ACME = canonicalize_name("acme")


def publish(index: Index, *paths: Path) -> None:
    Publisher(index).publish(inspect_all(paths))


def client_pages(storage: Storage) -> tuple[ClientPage, ClientPage]:
    """acme's page as pypi-simple reads it: from its HTML, and from its JSON."""
    directory = f"{storage.index_url}acme/"
    html = storage.read("simple/acme/index.html")
    data = storage.read("simple/acme/index.json")
    assert html is not None and data is not None
    return (
        ClientPage.from_html("acme", html.body, base_url=directory),
        ClientPage.from_json_data(json.loads(data.body), base_url=directory),
    )


@pytest.fixture
def acme(index: Index, tmp_path: Path) -> Index:
    publish(index, wheel(tmp_path, "acme", "1.0"), sdist(tmp_path, "acme", "1.0"))
    return index


def test_a_status_and_its_reason_are_read_back_by_pypi_simple(acme: Index) -> None:
    change = set_status(acme, "ACME", "archived", "superseded by acme2")

    assert (change.before, change.after) == (ProjectStatus.ACTIVE, ProjectStatus.ARCHIVED)
    for page in client_pages(acme.storage):
        assert page.repository_version == "1.4"
        assert (page.status, page.status_reason) == (ClientStatus.ARCHIVED, "superseded by acme2")
        assert len(page.packages) == 2  # an archived project still offers its files
    assert Verifier(acme.storage.index_url, acme.storage).run().ok


def test_an_active_project_says_so_without_a_reason(acme: Index) -> None:
    for page in client_pages(acme.storage):
        assert (page.status, page.status_reason) == (ClientStatus.ACTIVE, None)


def test_a_quarantined_project_offers_no_file_until_the_quarantine_is_lifted(
    acme: Index,
) -> None:
    before = json.loads(acme.storage.read("simple/acme/index.json").body)  # type: ignore[union-attr]

    set_status(acme, "acme", "quarantined", "malware in 1.0")

    for page in client_pages(acme.storage):
        assert page.status is ClientStatus.QUARANTINED
        assert page.packages == []
    assert acme.storage.head("simple/acme/acme-1.0-py3-none-any.whl") is not None
    browse = acme.storage.read("project/acme/index.html")
    assert browse is not None and b"acme-1.0-py3-none-any.whl" not in browse.body
    assert b"malware in 1.0" in browse.body
    assert Verifier(acme.storage.index_url, acme.storage).run().ok

    set_status(acme, "acme", "active")

    after = json.loads(acme.storage.read("simple/acme/index.json").body)  # type: ignore[union-attr]
    assert after["files"] == before["files"]  # the same entries: upload times, hashes, all
    assert "reason" not in after["project-status"]
    assert Verifier(acme.storage.index_url, acme.storage).run().ok


def test_archived_and_quarantined_projects_refuse_new_uploads(acme: Index, tmp_path: Path) -> None:
    newer = wheel(tmp_path / "newer", "acme", "2.0")
    for status in ("archived", "quarantined"):
        set_status(acme, "acme", status, "no more")
        with pytest.raises(UploadRefused, match=f"^acme is {status} \\(no more\\): it takes no"):
            publish(acme, newer)
        assert acme.storage.head("simple/acme/acme-2.0-py3-none-any.whl") is None
    # Run again, a publish of what the project has already is no new upload.
    set_status(acme, "acme", "archived")
    publish(acme, wheel(tmp_path, "acme", "1.0"))


def test_a_deprecated_project_behaves_as_an_active_one(acme: Index, tmp_path: Path) -> None:
    set_status(acme, "acme", "deprecated", "use acme2")

    publish(acme, wheel(tmp_path / "newer", "acme", "2.0"))

    html, data = client_pages(acme.storage)
    assert data.status is ClientStatus.DEPRECATED
    assert {package.version for package in html.packages} == {"1.0", "2.0"}


def test_reindex_keeps_the_status(acme: Index) -> None:
    set_status(acme, "acme", "archived", "done")
    acme.storage.delete("simple/acme/index.html")

    Reindexer(acme).run()

    page = acme.project(ACME)
    assert page is not None and (page.status, page.status_reason) == (
        ProjectStatus.ARCHIVED,
        "done",
    )
    assert Verifier(acme.storage.index_url, acme.storage).run().ok


def test_setting_the_status_a_project_has_writes_nothing(acme: Index) -> None:
    set_status(acme, "acme", "archived", "done")
    assert set_status(acme, "acme", "archived", "done").pages == ()


def test_the_status_task_says_what_it_did_and_refuses_bad_input_in_one_line(
    local_storage: LocalStorage, tmp_path: Path
) -> None:
    repository = str(local_storage.root)
    dist = tmp_path / "dist"
    wheel(dist, "acme", "1.0")
    assert invoke("publish", "--dist", str(dist), "-r", repository).returncode == 0
    before = {info.key: info.etag for info in local_storage.list("simple/")}

    bad = invoke("status", "acme", "retired", "-r", repository)
    assert error_line(bad) == (
        "error: 'retired' is not a project status: use one of active, archived, "
        "quarantined, deprecated (PEP 792)"
    )
    unknown = invoke("status", "nothing-here", "archived", "-r", repository)
    assert error_line(unknown) == f"error: no project nothing-here in {local_storage.root}"
    assert {info.key: info.etag for info in local_storage.list("simple/")} == before

    done = invoke("status", "Acme", "archived", "--reason", "see acme2", "-r", repository)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"acme is archived in {local_storage.root} (was active)"]
    refused = invoke(
        "publish", "--dist", str(wheel(tmp_path / "2", "acme", "2.0")), "-r", repository
    )
    assert error_line(refused) == (
        "error: acme is archived (see acme2): it takes no new uploads; "
        "`uv run invoke status acme active` lifts that"
    )


def test_a_status_on_s3_is_served_to_anonymous_readers(
    s3_storage: S3Storage, tmp_path: Path
) -> None:
    index = Index(s3_storage)
    publish(index, wheel(tmp_path, "acme", "1.0"))
    set_status(index, "acme", "quarantined")

    assert Verifier(s3_storage.index_url).run().ok  # over HTTP alone, as a client
    html, data = client_pages(s3_storage)
    assert html.status is data.status is ClientStatus.QUARANTINED
