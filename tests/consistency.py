"""Read a whole repository the way pip and uv do, and check that it is whole.

`read_repository` parses every page with pypi-simple and asserts what must hold at every
moment, even straight after a publish that failed half-way:

- every page parses, as HTML (PEP 503) and as JSON (PEP 691);
- every file a page links, and every metadata file it advertises, is stored, with the
  size the page gives.

`Repository.assert_settled` adds what must hold once no command is running: each page's
HTML agrees with its JSON, the twins of an HTML page are identical, and the root lists
exactly the projects that have pages.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import pypi_simple

from private_pypi import layout
from private_pypi.pages import PROJECT_PAGE, ROOT_PAGE
from private_pypi.storage import ObjectInfo, Storage

BASE_URL = "https://index.invalid/"


@dataclass(frozen=True)
class Project:
    name: str
    json: pypi_simple.ProjectPage | None
    # Each HTML key of the page (index.html, and the directory key on S3) with its body.
    html: dict[str, bytes]

    @property
    def filenames(self) -> set[str]:
        return {package.filename for package in self.json.packages} if self.json else set()


@dataclass(frozen=True)
class Repository:
    root_json: frozenset[str]
    root_html: dict[str, frozenset[str]]
    projects: dict[str, Project]

    def files(self, project: str) -> set[str]:
        return self.projects[project].filenames if project in self.projects else set()

    def assert_settled(self) -> None:
        for key, names in self.root_html.items():
            assert names == self.root_json, f"{key} lists {sorted(names)}, not the JSON's"
        assert self.root_json == set(self.projects), (
            f"the root lists {sorted(self.root_json)}, the pages are {sorted(self.projects)}"
        )
        for project in self.projects.values():
            assert project.json is not None, f"{project.name} has HTML but no JSON page"
            bodies = set(project.html.values())
            assert len(bodies) == 1, f"{project.name}'s HTML twins differ: {sorted(project.html)}"
            html = pypi_simple.ProjectPage.from_html(
                project.name, bodies.pop(), base_url=_page_url(project.name)
            )
            assert _described(html) == _described(project.json), f"{project.name}: HTML ≠ JSON"


def read_repository(storage: Storage) -> Repository:
    """Every page, parsed; fails if any page is unreadable or links a missing file."""
    listed = {info.key: info for info in storage.list(layout.INDEX_PREFIX)}
    pages: dict[str, dict[str, bytes]] = defaultdict(dict)
    for key in listed:
        directory = key.removeprefix(layout.INDEX_PREFIX).split("/")[0]
        if directory and key in _page_keys(storage, directory):
            stored = storage.read(key)
            assert stored is not None, f"{key} was listed but cannot be read"
            pages[directory][key] = stored.body
    projects = {
        name: _read_project(storage, name, bodies, listed) for name, bodies in pages.items()
    }
    root_json, root_html = _read_root(storage)
    return Repository(root_json, root_html, projects)


def _read_root(storage: Storage) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    stored = storage.read(layout.ROOT_JSON)
    names = frozenset()
    if stored is not None:
        index = pypi_simple.IndexPage.from_json_data(json.loads(stored.body))
        names = frozenset(index.projects)
    html = {}
    for key in ROOT_PAGE.copy_keys(layout.INDEX_PREFIX, directory_keys=storage.directory_keys):
        page = storage.read(key)
        if page is not None:
            html[key] = frozenset(pypi_simple.IndexPage.from_html(page.body).projects)
    return names, html


def _read_project(
    storage: Storage, name: str, bodies: dict[str, bytes], listed: dict[str, ObjectInfo]
) -> Project:
    json_key = layout.project_json(name)  # type: ignore[arg-type]
    json_page = None
    if json_key in bodies:
        json_page = pypi_simple.ProjectPage.from_json_data(
            json.loads(bodies[json_key]), base_url=_page_url(name)
        )
        _assert_files_stored(json_key, json_page, listed, sizes=True)
    html = {key: body for key, body in bodies.items() if key != json_key}
    for key, body in html.items():
        page = pypi_simple.ProjectPage.from_html(name, body, base_url=_page_url(name))
        _assert_files_stored(key, page, listed, sizes=False)
    return Project(name, json_page, html)


def _assert_files_stored(
    page_key: str, page: pypi_simple.ProjectPage, listed: dict[str, ObjectInfo], *, sizes: bool
) -> None:
    for package in page.packages:
        key = _key(package.url)
        assert key in listed, f"{page_key} links {key}, which is not stored"
        if sizes:
            assert package.size == listed[key].size, f"{page_key}: wrong size for {key}"
        if package.has_metadata:
            assert key + layout.METADATA_SUFFIX in listed, f"{page_key}: no metadata for {key}"


def _page_keys(storage: Storage, name: str) -> tuple[str, ...]:
    directory = layout.project_dir(name)  # type: ignore[arg-type]
    return tuple(
        rendering.key(directory)
        for rendering in PROJECT_PAGE.renderings_on(directory_keys=storage.directory_keys)
    )


def _page_url(name: str) -> str:
    return urljoin(BASE_URL, layout.project_dir(name))  # type: ignore[arg-type]


def _key(url: str) -> str:
    assert url.startswith(BASE_URL), f"a link leaves the index: {url}"
    return unquote(urlsplit(url).path).removeprefix("/")


def _described(page: pypi_simple.ProjectPage) -> list[tuple[object, ...]]:
    """What pip reads of each file, in a form HTML and JSON pages can be compared by."""
    return sorted(
        (
            p.filename,
            p.digests.get("sha256"),
            p.requires_python,
            p.is_yanked,
            p.yanked_reason or None,
            bool(p.has_metadata),  # HTML says None for "not given", JSON says False
        )
        for p in page.packages
    )
