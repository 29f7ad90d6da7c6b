"""The browse pages rendered: the root page, listing every project, and a page per
project, from the records the simple index is rendered from.

Every link names `index.html` (or the file) relative to the page, so the pages work on
S3's REST endpoint, through CloudFront, from `python -m http.server` and from file://.
Nothing runs but the one script file of `assets.py`: the Content-Security-Policy in each
page says so, and every text from a distribution is escaped, or (the long description)
rendered and sanitized by readme_renderer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from packaging.version import Version

from ..console import human_size
from ..contract import BROWSE_CONTENT_SECURITY_POLICY, INDEX_PREFIX
from ..details import DESCRIPTION_LIMIT, ReleaseDetails
from ..pages import Catalog, FileEntry, ProjectPage, ProjectStatus
from .assets import SCRIPT, STYLESHEET

# The name uv's [[tool.uv.index]] gives the index in the install lines.
UV_INDEX_NAME = "private"


def render_root_page(catalog: Catalog) -> bytes:
    """The root page: every project in the catalog, with a filter box."""
    items = "\n".join(
        _project_item(name, entry.line.version, entry.line.summary, entry.line.status)
        for name, entry in sorted(catalog.projects.items())
    )
    count = len(catalog.projects)
    body = f"""<h1>Packages</h1>
<p>{count} project{"" if count == 1 else "s"}. Installers read the simple index at
<a href="{INDEX_PREFIX}index.html"><code data-index-url="{INDEX_PREFIX}">{INDEX_PREFIX}</code></a>.
</p>
<div class="filter" hidden>
<label for="filter">Filter projects</label>
<input id="filter" type="search" autocomplete="off" spellcheck="false"
 aria-describedby="filter-count" placeholder="name or words of the summary">
<p id="filter-count" class="muted" aria-live="polite"></p>
</div>
<ul class="projects">
{items}
</ul>"""
    if not catalog.projects:
        body += '\n<p class="muted">Nothing is published yet.</p>'
    return _document("Packages", body, base="", status=None)


def _project_item(name: str, version: str | None, summary: str, status: ProjectStatus) -> str:
    searched = escape(f"{name} {summary}".lower())
    shown = f' <span class="version">{escape(version)}</span>' if version else ""
    return (
        f'<li data-filter="{searched}" data-project="{escape(name)}" '
        f'data-version="{escape(version or "")}" data-status="{status}"><a class="name" '
        f'href="project/{escape(name)}/index.html">{escape(name)}</a>{shown} '
        f"{_status_badge(status)}" + (f"<p>{escape(summary)}</p>" if summary else "") + "</li>"
    )


def render_project_page(page: ProjectPage) -> bytes:
    """A project's page: what it is, its status, how to install it, every release and
    file. A quarantined project's page offers no file and no install line."""
    shown = page.shown_version
    about = page.about if page.about and shown and Version(page.about.version) == shown else None
    parts = [
        f"<h1>{escape(page.name)}"
        + (f' <span class="version">{escape(str(shown))}</span>' if shown else "")
        + "</h1>"
    ]
    if about and about.summary:
        parts.append(f'<p class="summary">{escape(about.summary)}</p>')
    parts.append(_status_notice(page))
    if page.offered_files:
        parts.append(_install(page.name))
    parts.append(_description(about))
    if about:
        parts.append(_requirements(about.requires_python, about.requires_dist, str(shown)))
    if page.offered_files:
        parts.append(_releases(page.name, page.offered_files))
    body = "\n".join(part for part in parts if part)
    return _document(page.name, body, base="../../", status=page.status)


def _status_notice(page: ProjectPage) -> str:
    explained = {
        ProjectStatus.ACTIVE: "",
        ProjectStatus.ARCHIVED: "It is not expected to be updated, and takes no new uploads.",
        ProjectStatus.QUARANTINED: "It is considered unsafe: its files are not offered for "
        "download, and it takes no new uploads.",
        ProjectStatus.DEPRECATED: "It is considered obsolete, and may have been superseded.",
    }[page.status]
    reason = (
        f' Reason: <span class="reason">{escape(page.status_reason)}</span>'
        if page.status_reason
        else ""
    )
    if page.status is ProjectStatus.ACTIVE:
        return f'<p class="muted">Status: {_status_badge(page.status)}{reason}</p>'
    return (
        f'<p class="notice status-{page.status}" role="note">This project is '
        f"<strong>{page.status}</strong>. {explained}{reason}</p>"
    )


def _status_badge(status: ProjectStatus) -> str:
    return f'<span class="status status-{status}">{status}</span>'


def _install(name: str) -> str:
    url = f'<span data-index-url="../../{INDEX_PREFIX}">../../{INDEX_PREFIX}</span>'
    return f"""<h2 id="install">Install</h2>
<p>With pip:</p>
<div class="install"><pre><code>pip install --extra-index-url {url} {escape(name)}</code></pre>
</div>
<p>With uv, in your project's <code>pyproject.toml</code>, then
<code>uv add {escape(name)}</code>:</p>
<div class="install"><pre><code>[[tool.uv.index]]
name = "{UV_INDEX_NAME}"
url = "{url}"
explicit = true

[tool.uv.sources]
{escape(name)} = {{ index = "{UV_INDEX_NAME}" }}</code></pre></div>"""


def _description(about: ReleaseDetails | None) -> str:
    if about is None:
        return ""
    # Imported here: readme_renderer (docutils, Pygments) is only for descriptions.
    from .readme import render_description

    rendered = render_description(about, top_heading=3)
    if not rendered:
        return '<h2 id="description">Description</h2>\n<p class="muted">No description.</p>'
    cut = (
        f'\n<p class="muted">The description is cut at {DESCRIPTION_LIMIT // 1024} KiB; the '
        "whole of it is in the package's metadata.</p>"
        if about.description_cut
        else ""
    )
    return f'<h2 id="description">Description</h2>\n<div class="description">{rendered}</div>{cut}'


def _requirements(requires_python: str | None, requires_dist: Iterable[str], version: str) -> str:
    python = (
        f"<p>Requires Python {escape(requires_python)}</p>"
        if requires_python
        else "<p>Any Python version.</p>"
    )
    items = "\n".join(f"<li><code>{escape(item)}</code></li>" for item in requires_dist)
    dependencies = (
        f'<ul class="dependencies">\n{items}\n</ul>' if items else "<p>No dependencies.</p>"
    )
    return (
        f'<h2 id="requirements">Requirements of {escape(version)}</h2>\n{python}\n'
        f"<h3>Dependencies</h3>\n{dependencies}"
    )


def _releases(name: str, files: tuple[FileEntry, ...]) -> str:
    by_version: dict[str, list[FileEntry]] = {}
    for entry in files:
        by_version.setdefault(entry.version, []).append(entry)
    sections = [
        _release(name, version, by_version[version])
        for version in sorted(by_version, key=Version, reverse=True)
    ]
    return '<h2 id="releases">Releases</h2>\n' + "\n".join(sections)


def _release(name: str, version: str, files: list[FileEntry]) -> str:
    uploaded = min(entry.upload_time for entry in files)
    yanks = {entry.yanked for entry in files}
    if None in yanks:
        yanked = ""
    else:
        reasons = ", ".join(sorted(escape(reason) for reason in yanks if reason))
        yanked = ' <span class="yanked">yanked' + (f": {reasons}" if reasons else "") + "</span>"
    items = "\n".join(_file_item(name, entry) for entry in files)
    return (
        f'<h3 id="v{escape(version)}">{escape(version)}</h3>\n'
        f'<p class="muted">Uploaded {_time(uploaded)}{yanked}</p>\n'
        f'<ul class="files">\n{items}\n</ul>'
    )


def _file_item(name: str, entry: FileEntry) -> str:
    href = f"../../{INDEX_PREFIX}{escape(name)}/{escape(quote(entry.filename))}"
    details = [human_size(entry.size)]
    if entry.requires_python:
        details.append(f"Requires-Python {escape(entry.requires_python)}")
    if entry.yanked is not None:
        reason = f": {escape(entry.yanked)}" if entry.yanked else ""
        details.append(f'<span class="yanked">yanked{reason}</span>')
    yank = "" if entry.yanked is None else f' data-yanked="{escape(entry.yanked)}"'
    return (
        f'<li><a href="{href}" data-sha256="{entry.sha256}"{yank}>{escape(entry.filename)}</a>'
        f' <span class="muted">{" · ".join(details)}</span><br>'
        f'<code class="sha256">sha256 {entry.sha256}</code></li>'
    )


def _time(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return f'<time datetime="{utc.isoformat()}">{utc:%Y-%m-%d %H:%M} UTC</time>'


def _document(title: str, body: str, *, base: str, status: ProjectStatus | None) -> bytes:
    return (
        f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{BROWSE_CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="same-origin">
<title>{escape(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{base}{STYLESHEET.key}">
<script src="{base}{SCRIPT.key}" defer></script>
</head>
<body>
<header><p><a href="{base}index.html">All packages</a></p></header>
<main{"" if status is None else f' data-status="{status}"'}>
{body}
</main>
<footer><p>Simple index for installers:
<a href="{base}{INDEX_PREFIX}index.html">{INDEX_PREFIX}</a></p></footer>
</body>
</html>
"""
    ).encode()
