"""The browse pages in a real browser: Debian's Chromium, headless, reading a repository
that real wheels and sdists were published to, over HTTP and from a directory.

Chromium is installed by `ensure_chromium` when it is missing (apt-get, as root); where it
can't be, these tests are skipped, saying why. Screenshots go to tests/.screenshots/.
"""

from __future__ import annotations

import functools
import threading
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from textwrap import dedent

import pytest

from private_pypi.building import build_packages
from private_pypi.index import Index
from private_pypi.publish import Publisher, inspect_all
from private_pypi.releases import Release, delete, yank
from private_pypi.status import set_status
from private_pypi.storage import LocalStorage
from tests.browser import Chromium, Page, ensure_chromium
from tests.factory import sdist, wheel
from tests.hostile_corpus import HOSTILE_DESCRIPTIONS

SCREENSHOTS = Path(__file__).parent / ".screenshots"

README = """\
# Acme docs

Renders the **team's** documentation.

## Usage

```python
import acme_docs
acme_docs.render("index.md")
```

| option | meaning |
| --- | --- |
| `--watch` | render again on a change |

### Details

- one
- two
"""

README_RST = """\
Acme tables
===========

Tables, the reStructuredText way.

Installing
----------

Use ``pip``.
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def flit_project(directory: Path, name: str, version: str, readme: tuple[str, str]) -> Path:
    """A real project that flit builds: a module, a README, dependencies, Requires-Python."""
    module = name.replace("-", "_")
    directory.mkdir(parents=True)
    (directory / f"{module}.py").write_text(f'"""The {name} module."""\n')
    (directory / readme[0]).write_text(readme[1])
    (directory / "pyproject.toml").write_text(
        dedent(
            f"""\
            [build-system]
            requires = ["flit_core>=3.9,<4"]
            build-backend = "flit_core.buildapi"

            [project]
            name = "{name}"
            version = "{version}"
            description = "Renders {name} pages"
            readme = "{readme[0]}"
            requires-python = ">=3.10"
            dependencies = ["acme-greeting>=1.0", "packaging>=24; python_version < '3.14'"]
            """
        )
    )
    return directory


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    executable = ensure_chromium()
    if executable is None:
        pytest.skip(
            "no Chromium: `apt-get install chromium` needs root and Debian's package lists, "
            "which this machine lacks"
        )
    browser = Chromium(executable)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory, example_dists: list[Path]) -> LocalStorage:
    """A repository that real builds were published to, and hostile descriptions."""
    sources = tmp_path_factory.mktemp("sources")
    built = tmp_path_factory.mktemp("built")
    projects = [
        flit_project(sources / "docs-1", "acme-docs", "1.0.0", ("README.md", README)),
        flit_project(sources / "tables", "acme-tables", "0.3", ("README.rst", README_RST)),
    ]
    first = build_packages(projects, built, isolated=False).built
    later = build_packages(
        [flit_project(sources / "docs-2", "acme-docs", "2.0.0", ("README.md", README))],
        built,
        isolated=False,
    ).built
    hostile = [case.wheel(tmp_path_factory.mktemp(case.id)) for case in HOSTILE_DESCRIPTIONS]
    storage = LocalStorage(tmp_path_factory.mktemp("browse") / "repository")
    publisher = Publisher(Index(storage))
    publisher.publish(inspect_all([*example_dists, *first, *hostile]))
    publisher.publish(inspect_all(later))
    return storage


@pytest.fixture(scope="module")
def served(repository: LocalStorage) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(repository.root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def page(chromium: Chromium) -> Iterator[Page]:
    with chromium.page() as opened:
        yield opened


def texts(page: Page, selector: str) -> list[str]:
    return page.evaluate(
        f"[...document.querySelectorAll({selector!r})].map(e => e.textContent.trim())"
    )


def visible_projects(page: Page) -> list[str]:
    return page.evaluate(
        "[...document.querySelectorAll('.projects li')].filter(li => !li.hidden)"
        ".map(li => li.dataset.project)"
    )


def test_the_root_page_lists_every_project_and_its_filter_finds_them(
    page: Page, served: str
) -> None:
    page.goto(served)  # `/`, as a person opens the index's address: the directory's index.html

    assert page.evaluate("document.querySelector('h1').textContent") == "Packages"
    listed = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('.projects li')]"
        ".map(li => [li.dataset.project, [li.dataset.version, li.dataset.status]]))"
    )
    assert listed["acme-docs"] == ["2.0.0", "active"]
    assert listed["acme-tables"] == ["0.3", "active"]
    assert listed["acme-greeting"] == ["1.0.0", "active"]
    assert len(listed) == 4 + len(HOSTILE_DESCRIPTIONS)
    assert "Renders acme-docs pages" in texts(page, ".projects li p")

    page.type("#filter", "TABLES")
    assert visible_projects(page) == ["acme-tables"]
    assert page.evaluate("document.getElementById('filter-count').textContent") == (
        f"1 of {len(listed)} projects shown"
    )
    page.type("#filter", " nothing-is-called-this")
    assert visible_projects(page) == []
    assert page.problems() == []
    page.screenshot(SCREENSHOTS / "root.png")


def test_a_project_page_shows_what_it_is_how_to_install_it_and_every_file(
    page: Page, served: str, repository: LocalStorage
) -> None:
    page.goto(served + "project/acme-docs/index.html")

    assert page.evaluate("document.querySelector('h1').textContent") == "acme-docs 2.0.0"
    assert texts(page, ".summary") == ["Renders acme-docs pages"]
    # The README rendered as PyPI renders Markdown, its headings under the page's own.
    assert texts(page, ".description h3") == ["Acme docs"]
    assert texts(page, ".description h4") == ["Usage"]
    assert page.evaluate("document.querySelector('.description strong').textContent") == "team's"
    assert page.evaluate("document.querySelectorAll('.description table td').length") == 2
    assert "acme_docs.render" in texts(page, ".description pre")[0]
    assert "Requires Python >=3.10" in texts(page, "#requirements + p")
    assert texts(page, ".dependencies li") == [
        "acme-greeting>=1.0",
        "packaging>=24; python_version < '3.14'",
    ]

    install = texts(page, ".install code")
    index_url = served + "simple/"
    assert install[0] == f"pip install --extra-index-url {index_url} acme-docs"
    assert install[1].splitlines() == [
        "[[tool.uv.index]]",
        'name = "private"',
        f'url = "{index_url}"',
        "explicit = true",
        "",
        "[tool.uv.sources]",
        'acme-docs = { index = "private" }',
    ]

    assert texts(page, "#releases ~ h3") == ["2.0.0", "1.0.0"]
    links = page.evaluate(
        "[...document.querySelectorAll('.files a')].map(a => [a.href, a.dataset.sha256])"
    )
    published = {entry.filename: entry for entry in Index(repository).project("acme-docs").files}  # type: ignore[union-attr]
    assert sorted(href.rsplit("/", 1)[1] for href, _ in links) == sorted(published)
    for href, sha256 in links:
        assert sha256 == published[href.rsplit("/", 1)[1]].sha256
        with urllib.request.urlopen(href) as response:  # the link is the stored file
            assert response.status == 200
    assert sorted(texts(page, ".sha256")) == sorted(
        f"sha256 {entry.sha256}" for entry in published.values()
    )
    assert page.problems() == []
    page.screenshot(SCREENSHOTS / "project.png")


def test_a_restructuredtext_readme_is_rendered_as_pypi_renders_it(page: Page, served: str) -> None:
    page.goto(served + "project/acme-tables/index.html")

    assert texts(page, ".description h3, .description h4") == ["Acme tables", "Installing"]
    # reST's inline literal, as docutils writes it for PyPI.
    assert texts(page, ".description .literal") == ["pip"]


@pytest.mark.parametrize("case", HOSTILE_DESCRIPTIONS, ids=lambda case: case.id)
def test_a_hostile_description_stays_inert(page: Page, served: str, case) -> None:
    page.goto(served + f"project/{case.project}/index.html")
    # Whatever could be triggered, is: hover, click every link and button, submit forms.
    page.evaluate(
        """(async () => {
            for (const element of document.querySelectorAll('.description *')) {
                for (const kind of ['mouseover', 'focus', 'click']) {
                    element.dispatchEvent(new Event(kind, {bubbles: true}));
                }
            }
            for (const link of document.querySelectorAll('.description a')) {
                if (!/^https?:/.test(link.href)) link.click();
            }
            await new Promise(resolve => setTimeout(resolve, 200));
        })()"""
    )

    assert page.evaluate("typeof window.pwned") == "undefined"
    scripts = page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))")
    assert len(scripts) == 1 and scripts[0].startswith("../../static/browse.")
    assert (
        page.evaluate(
            "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
            ".filter(a => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value))"
            ".map(a => a.name + '=' + a.value)"
        )
        == []
    )
    assert page.evaluate("document.querySelectorAll('iframe, form, object, embed').length") == 0
    assert page.evaluate(
        "document.querySelector('meta[http-equiv=Content-Security-Policy]').content"
    ).startswith("default-src 'none'; script-src 'self'")
    assert "<script>window.pwned=9</script>" in texts(page, ".summary")[0]  # shown, as text
    page.screenshot(SCREENSHOTS / f"hostile-{case.id}.png")


HEADING_ORDER = """(() => {
    const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
        .map(h => Number(h.tagName[1]));
    return levels.every((level, i) => i === 0 ? level === 1 : level <= levels[i - 1] + 1)
        ? [] : levels;
})()"""

LOW_CONTRAST = """(() => {
    const rgb = colour => colour.match(/[\\d.]+/g).map(Number);
    const luminance = ([r, g, b]) => {
        const linear = v => (v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
        return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    };
    const background = element => {
        for (; element; element = element.parentElement) {
            const colour = rgb(getComputedStyle(element).backgroundColor);
            if (colour.length < 4 || colour[3] > 0) return colour.slice(0, 3);
        }
        return [255, 255, 255];
    };
    const low = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const element = walker.currentNode.parentElement;
        if (!walker.currentNode.textContent.trim() || element.closest('[hidden]')) continue;
        const a = luminance(rgb(getComputedStyle(element).color));
        const b = luminance(background(element));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        const text = element.textContent.trim().slice(0, 30);
        if (ratio < 4.5) low.push(`${element.tagName} "${text}" ${ratio.toFixed(2)}`);
    }
    return low;
})()"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["", "project/acme-docs/index.html"])
def test_the_pages_are_accessible_in_light_and_dark(
    page: Page, served: str, scheme: str, path: str
) -> None:
    page.color_scheme(scheme)
    page.goto(served + path)

    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate(HEADING_ORDER) == []
    unlabelled = page.evaluate(
        "[...document.querySelectorAll('input, select, textarea')]"
        ".filter(input => input.labels.length === 0).map(input => input.id)"
    )
    assert unlabelled == []
    assert page.evaluate(LOW_CONTRAST) == []  # WCAG AA: 4.5:1 for every text shown
    expected = "rgb(13, 17, 23)" if scheme == "dark" else "rgb(255, 255, 255)"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == expected
    name = "root" if not path else "project"
    page.screenshot(SCREENSHOTS / f"{name}-{scheme}.png")


def test_the_pages_fit_a_phone(chromium: Chromium, served: str) -> None:
    with chromium.page(390, 844, mobile=True) as phone:
        for path in ("", "project/acme-docs/index.html"):
            phone.goto(served + path)
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
        phone.screenshot(SCREENSHOTS / "project-phone.png")


def test_links_work_from_a_directory_opened_as_files(page: Page, repository: LocalStorage) -> None:
    page.goto(repository.root.as_uri() + "/index.html")
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).fontWeight") == "700"

    page.follow("[data-project=acme-docs] a")
    assert page.evaluate("location.pathname").endswith("/project/acme-docs/index.html")
    file_link = page.evaluate("document.querySelector('.files a').href")
    assert Path(urllib.request.url2pathname(file_link.removeprefix("file://"))).is_file()
    assert page.evaluate("document.querySelector('[data-index-url]').textContent") == (
        repository.root.as_uri() + "/simple/"
    )


def test_a_yank_a_delete_and_a_status_show_at_once(
    page: Page, tmp_path: Path, example_dists: list[Path]
) -> None:
    storage = LocalStorage(tmp_path / "repository")
    index = Index(storage)
    Publisher(index).publish(
        inspect_all(
            [
                wheel(tmp_path, "acme-live", "1.0"),
                wheel(tmp_path, "acme-live", "2.0"),
                sdist(tmp_path, "acme-live", "2.0"),
            ]
        )
    )
    project = storage.root.as_uri() + "/project/acme-live/index.html"
    root = storage.root.as_uri() + "/index.html"

    yank(index, Release.parse("acme-live", "2.0"), "broken on Windows")
    page.goto(project)
    assert page.evaluate("document.querySelector('h1').textContent") == "acme-live 1.0"
    assert texts(page, "#v2\\.0 + p .yanked") == ["yanked: broken on Windows"]
    assert page.evaluate("document.querySelectorAll('.files a[data-yanked]').length") == 2

    set_status(index, "acme-live", "archived", "replaced by acme-next")
    page.goto(project)
    assert texts(page, ".notice") == [
        "This project is archived. It is not expected to be updated, and takes no new "
        "uploads. Reason: replaced by acme-next"
    ]
    page.goto(root)
    assert page.evaluate("document.querySelector('[data-project=acme-live]').dataset.status") == (
        "archived"
    )

    delete(index, Release.parse("acme-live", "1.0"))
    page.goto(project)
    assert texts(page, "#releases ~ h3") == ["2.0"]
    assert page.evaluate("document.querySelector('h1').textContent") == "acme-live 2.0"

    set_status(index, "acme-live", "quarantined", "malware")
    page.goto(project)
    assert page.evaluate("document.querySelectorAll('.files a, #install').length") == 0
    page.goto(root)
    line = page.evaluate("({...document.querySelector('[data-project=acme-live]').dataset})")
    assert (line["version"], line["status"]) == ("", "quarantined")
