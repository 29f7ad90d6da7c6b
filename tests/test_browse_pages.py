"""The browse pages' model: what a release's metadata gives them, how a README is
rendered, and which release a project's pages show."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from packaging.utils import canonicalize_name

from private_pypi.browse.readme import render_description
from private_pypi.browse.render import render_project_page, render_root_page
from private_pypi.details import DESCRIPTION_LIMIT, ReleaseDetails, release_details
from private_pypi.index import Index
from private_pypi.pages import (
    Catalog,
    FileEntry,
    ProjectPage,
    ProjectStatus,
    parse_catalog,
    parse_project_json,
    render_catalog,
    render_project_json,
)
from private_pypi.publish import Publisher, inspect_all
from private_pypi.releases import Release, delete, yank
from private_pypi.storage import LocalStorage
from tests.factory import core_metadata, sdist

ACME = canonicalize_name("acme")
UPLOADED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def entry(version: str, yanked: str | None = None) -> FileEntry:
    return FileEntry(f"acme-{version}.tar.gz", version, 10, "ab" * 32, UPLOADED, yanked=yanked)


def test_the_details_are_read_as_written_and_bounded() -> None:
    metadata = core_metadata(
        "acme",
        "1.0",
        "Summary: one\n  folded line",
        "Description-Content-Type: text/markdown; variant=CommonMark",
        requires_dist=("requests>=2", "not a valid requirement ((("),
        requires_python=">=3.9",
    )
    long = "line\n" * (DESCRIPTION_LIMIT // 5 + 10)

    details = release_details(metadata + b"\n" + long.encode(), "1.0")

    assert details.summary == "one folded line"
    assert details.description_content_type == "text/markdown; variant=CommonMark"
    assert details.requires_dist == ("requests>=2", "not a valid requirement (((")
    assert details.requires_python == ">=3.9"
    assert details.description_cut and len(details.description) <= DESCRIPTION_LIMIT
    assert details.description.endswith("line")


def test_a_readme_is_rendered_as_pypi_renders_it_by_its_content_type() -> None:
    def rendered(description: str, content_type: str) -> str:
        return render_description(ReleaseDetails("1.0", "", description, content_type), 3)

    assert "<h3" in rendered("# Title\n\n## Part\n", "text/markdown")
    assert "<h4" in rendered("# Title\n\n## Part\n", "text/markdown")
    assert "<h3" in rendered("Title\n=====\n\ntext\n", "")  # no content type: reST
    assert "<h3" not in rendered("Title\n=====\n", "text/plain")
    # reST that fails to render falls back to plain text, as on PyPI.
    assert "`unclosed" in rendered("`unclosed\n", "text/x-rst")
    hostile = rendered('<script>alert(1)</script><a href="javascript:x()">x</a>', "text/markdown")
    assert "<script" not in hostile and "javascript:" not in hostile


def test_the_shown_release_is_the_newest_final_one_not_yanked() -> None:
    page = ProjectPage(ACME, (entry("1.0"), entry("2.0", yanked="bad"), entry("3.0b1")))
    assert str(page.shown_version) == "1.0"
    only_pre = ProjectPage(ACME, (entry("3.0b1"), entry("3.0b2")))
    assert str(only_pre.shown_version) == "3.0b2"
    all_yanked = ProjectPage(ACME, (entry("1.0", ""), entry("2.0", "")))
    assert str(all_yanked.shown_version) == "2.0"
    quarantined = ProjectPage(ACME, (entry("1.0"),), status=ProjectStatus.QUARANTINED)
    assert quarantined.shown_version is None and quarantined.offered_files == ()


def test_a_record_with_status_and_details_reads_back_the_same() -> None:
    page = ProjectPage(
        ACME,
        (entry("1.0"),),
        status=ProjectStatus.QUARANTINED,
        status_reason="malware",
        about=ReleaseDetails("1.0", "s", "d", "text/plain", ("x",), ">=3"),
        serial=7,
        assets="abc",
    )
    assert parse_project_json(render_project_json(page)) == page
    catalog = Catalog().with_line(ACME, page)
    assert parse_catalog(render_catalog(catalog)) == catalog


def test_an_older_line_never_replaces_a_newer_one() -> None:
    newer = ProjectPage(ACME, (entry("2.0"),), serial=5)
    older = ProjectPage(ACME, (entry("1.0"),), serial=4)
    catalog = Catalog().with_line(ACME, newer).with_line(ACME, older)
    assert catalog.projects[ACME].line.version == "2.0"
    assert not catalog.lags(ACME, older) and catalog.lags(ACME, ProjectPage(ACME, serial=6))


def test_everything_from_a_distribution_is_escaped_on_the_pages() -> None:
    hostile = '"><script>alert(1)</script>'
    page = ProjectPage(
        ACME,
        (FileEntry("acme-1.0.tar.gz", "1.0", 1, "ab" * 32, UPLOADED, hostile, yanked=hostile),),
        status=ProjectStatus.ARCHIVED,
        status_reason=hostile,
        about=ReleaseDetails("1.0", hostile, "", "", (hostile,), hostile),
    )
    for html in (render_project_page(page), render_root_page(Catalog().with_line(ACME, page))):
        assert b"<script>" not in html
        assert html.count(b"<script ") == 1  # the pages' own script file


def test_yanking_or_deleting_the_shown_release_reads_the_next_ones_details(
    tmp_path: Path,
) -> None:
    index = Index(LocalStorage(tmp_path / "repository"))
    older, newer = sdist(tmp_path, "acme", "1.0"), sdist(tmp_path, "acme", "2.0")
    Publisher(index).publish(inspect_all([older, newer]))
    page = index.project(ACME)
    assert page is not None and page.about is not None and page.about.version == "2.0"

    yank(index, Release.parse("acme", "2.0"), "bad")  # sdists only: 1.0's is read again
    page = index.project(ACME)
    assert page is not None and page.about is not None and page.about.version == "1.0"
    line = index.catalog_snapshot().record
    assert line is not None and line.projects[ACME].line.version == "1.0"

    delete(index, Release.parse("acme", "1.0"))
    page = index.project(ACME)
    assert page is not None and page.about is not None and page.about.version == "2.0"
