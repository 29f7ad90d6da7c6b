"""The pages a client reads: parse them back and check every link, hash and attribute."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html.parser import HTMLParser

from packaging.utils import canonicalize_name

from private_pypi.pages import (
    FileEntry,
    ProjectPage,
    parse_project_json,
    parse_root_json,
    render_project_html,
    render_project_json,
    render_root_html,
    render_root_json,
)

UPLOADED = datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []
        self.meta: dict[str, str | None] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        if tag == "meta":
            attributes = dict(attrs)
            self.meta[str(attributes.get("name"))] = attributes.get("content")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: bytes) -> Links:
    parser = Links()
    parser.feed(html.decode())
    return parser


def entry(filename: str, version: str, **fields: object) -> FileEntry:
    values: dict[str, object] = {
        "size": 1234,
        "sha256": "ab" * 32,
        "upload_time": UPLOADED,
    }
    values.update(fields)
    return FileEntry(filename=filename, version=version, **values)  # type: ignore[arg-type]


def test_names_are_normalized_as_pep_503_says() -> None:
    assert canonicalize_name("Foo.Bar_baz") == "foo-bar-baz"
    assert canonicalize_name("ACME__Greeting") == "acme-greeting"


def test_project_page_links_every_file_with_hash_requires_python_and_metadata() -> None:
    page = ProjectPage(
        canonicalize_name("acme-greeting"),
        (
            entry("acme_greeting-1.0.0.tar.gz", "1.0.0", requires_python=">=3.9"),
            entry(
                "acme_greeting-1.0.0-py3-none-any.whl",
                "1.0.0",
                sha256="cd" * 32,
                requires_python=">=3.9,<4",
                metadata_sha256="ef" * 32,
            ),
            entry("acme_greeting-0.9-py3-none-any.whl", "0.9", yanked="broken build"),
        ),
    )
    links = parse(render_project_html(page))

    assert links.meta["pypi:repository-version"] == "1.4"
    assert [a["href"] for a in links.anchors] == [
        f"acme_greeting-0.9-py3-none-any.whl#sha256={'ab' * 32}",
        f"acme_greeting-1.0.0-py3-none-any.whl#sha256={'cd' * 32}",
        f"acme_greeting-1.0.0.tar.gz#sha256={'ab' * 32}",
    ]
    old, wheel, sdist = links.anchors
    assert old["data-yanked"] == "broken build"
    assert wheel["data-requires-python"] == ">=3.9,<4"
    assert wheel["data-core-metadata"] == wheel["data-dist-info-metadata"] == f"sha256={'ef' * 32}"
    assert "data-core-metadata" not in sdist
    assert "data-yanked" not in sdist


def test_everything_on_a_page_is_html_escaped() -> None:
    hostile = '"><script>alert(1)</script>'
    page = ProjectPage(
        canonicalize_name("x"),
        (entry("x-1.0.tar.gz", "1.0", requires_python=f"<4{hostile}", yanked=hostile),),
    )
    html = render_project_html(page)
    assert b"<script>" not in html
    (anchor,) = parse(html).anchors
    assert anchor["data-requires-python"] == f"<4{hostile}"
    assert anchor["data-yanked"] == hostile


def test_json_page_says_what_pep_691_and_700_ask_and_agrees_with_html() -> None:
    page = ProjectPage(
        canonicalize_name("acme-greeting"),
        (
            entry("acme_greeting-1.0.0.tar.gz", "1.0.0"),
            entry("acme_greeting-1.0.0-py3-none-any.whl", "1.0.0", metadata_sha256="ef" * 32),
            entry("acme_greeting-1.10-py3-none-any.whl", "1.10", yanked=""),
        ),
    )
    document = json.loads(render_project_json(page))

    assert document["meta"]["api-version"] == "1.4"
    assert document["name"] == "acme-greeting"
    assert document["versions"] == ["1.0.0", "1.10"]
    by_name = {file["filename"]: file for file in document["files"]}
    wheel = by_name["acme_greeting-1.0.0-py3-none-any.whl"]
    assert wheel["url"] == "acme_greeting-1.0.0-py3-none-any.whl"
    assert wheel["hashes"] == {"sha256": "ab" * 32}
    assert wheel["core-metadata"] == {"sha256": "ef" * 32}
    assert wheel["size"] == 1234
    assert wheel["upload-time"] == "2026-11-25T10:00:00.123456Z"
    assert wheel["yanked"] is False
    assert by_name["acme_greeting-1.0.0.tar.gz"]["core-metadata"] is False
    assert by_name["acme_greeting-1.10-py3-none-any.whl"]["yanked"] is True

    html_files = {a["href"].split("#")[0] for a in parse(render_project_html(page)).anchors}
    assert html_files == set(by_name)


def test_a_json_page_reads_back_as_the_same_record() -> None:
    page = ProjectPage(
        canonicalize_name("acme"),
        (
            entry("acme-2.0-py3-none-any.whl", "2.0", metadata_sha256="ef" * 32, etag="e1"),
            entry("acme-1.0.tar.gz", "1.0", yanked="", requires_python=">=3.8"),
            entry("acme-1.1.zip", "1.1", yanked="CVE-2026-1"),
        ),
    )
    assert parse_project_json(render_project_json(page)) == page


def test_root_page_lists_projects_in_both_formats() -> None:
    names = {canonicalize_name("acme-hello"), canonicalize_name("acme-greeting")}
    links = parse(render_root_html(names))
    assert [a["href"] for a in links.anchors] == ["acme-greeting/", "acme-hello/"]
    assert parse_root_json(render_root_json(names)) == names
    document = json.loads(render_root_json(names))
    assert document["meta"]["api-version"] == "1.4"
