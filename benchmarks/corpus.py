"""What the benchmarks publish: small valid distributions, made in memory by the tests'
factory, and the repositories they pre-fill, each in its tool's own layout and page format."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from textwrap import indent
from urllib.parse import quote

from packaging.utils import NormalizedName, canonicalize_name

from private_pypi import layout
from private_pypi.browse.assets import ASSETS, ASSETS_ID
from private_pypi.distributions import content_type
from private_pypi.pages import (
    CATALOG_PAGE,
    PROJECT_PAGE,
    ROOT_PAGE,
    Catalog,
    CatalogEntry,
    FileEntry,
    ProjectPage,
    render_root_html,
    render_root_json,
)
from private_pypi.storage.base import SHA256_METADATA
from tests.factory import DistributionFile, sdist_file, wheel_file
from tests.motoserver import ObjectToLoad

# Every pre-filled file claims this upload time, so pages are the same on every run.
PREFILL_TIME = datetime(2024, 1, 1, tzinfo=UTC)
# Each pre-filled project: three releases, two of them with an sdist beside the wheel.
PREFILL_RELEASES = (("0.1", True), ("0.2", True), ("0.3", False))
FILES_PER_PROJECT = sum(2 if sdist else 1 for _, sdist in PREFILL_RELEASES)


def project_name(number: int) -> NormalizedName:
    return canonicalize_name(f"bench-{number:05d}")


def release(name: str, version: str) -> list[DistributionFile]:
    """A wheel and an sdist: what one `publish` of a release sends."""
    return [wheel_file(name, version), sdist_file(name, version)]


def project_artifacts(name: str) -> list[DistributionFile]:
    artifacts = []
    for version, has_sdist in PREFILL_RELEASES:
        artifacts.append(wheel_file(name, version))
        if has_sdist:
            artifacts.append(sdist_file(name, version))
    return artifacts


# --- private-pypi's layout --------------------------------------------------------


def etag(body: bytes) -> str:
    """The ETag S3 (and moto) gives a single-part upload."""
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def file_entry(artifact: DistributionFile) -> FileEntry:
    metadata = artifact.metadata
    return FileEntry(
        filename=artifact.filename,
        version=artifact.version,
        size=len(artifact.body),
        sha256=artifact.sha256,
        upload_time=PREFILL_TIME,
        metadata_sha256=hashlib.sha256(metadata).hexdigest() if metadata else None,
        etag=etag(artifact.body),
        metadata_etag=etag(metadata) if metadata else "",
    )


def _page(bucket: str, key: str, body: bytes, kind: str) -> ObjectToLoad:
    headers = {"Content-Type": kind, "Cache-Control": layout.PAGE_CACHE_CONTROL}
    return (bucket, key, body, headers)


def ours_project(
    bucket: str, name: NormalizedName, artifacts: list[DistributionFile]
) -> list[ObjectToLoad]:
    """A project as `invoke publish` leaves it: files, metadata files, JSON and HTML pages."""
    objects: list[ObjectToLoad] = []
    for artifact in artifacts:
        headers = {
            "Content-Type": content_type(artifact.filename),
            "Cache-Control": layout.FILE_CACHE_CONTROL,
            f"x-amz-meta-{SHA256_METADATA}": artifact.sha256,
        }
        objects.append((bucket, layout.file_key(name, artifact.filename), artifact.body, headers))
        if artifact.metadata is not None:
            key = layout.metadata_key(name, artifact.filename)
            headers = {
                "Content-Type": layout.METADATA_TYPE,
                "Cache-Control": layout.FILE_CACHE_CONTROL,
            }
            objects.append((bucket, key, artifact.metadata, headers))
    page = ours_page(name, artifacts)
    directory = layout.project_dir(name)
    for rendering in PROJECT_PAGE.renderings_on(directory_keys=True):
        body = rendering.render(page)
        objects.append(_page(bucket, rendering.key(directory), body, rendering.content_type))
    return objects


def ours_page(name: NormalizedName, artifacts: list[DistributionFile]) -> ProjectPage:
    """The project's record, its browse pages' stylesheet and script stored."""
    files = tuple(file_entry(artifact) for artifact in artifacts)
    return ProjectPage(name, files, serial=1, assets=ASSETS_ID)


def ours_root(bucket: str, names: list[NormalizedName], catalog: Catalog) -> list[ObjectToLoad]:
    """The root pages, and the browse root's: its catalog, its page, their assets."""
    html = render_root_html(names)
    objects = [_page(bucket, layout.ROOT_JSON, render_root_json(names), layout.JSON_TYPE)]
    for key in ROOT_PAGE.copy_keys(layout.INDEX_PREFIX, directory_keys=True):
        objects.append(_page(bucket, key, html, layout.HTML_TYPE))
    for rendering in CATALOG_PAGE.renderings_on(directory_keys=True):
        body = rendering.render(catalog)
        objects.append(
            _page(bucket, rendering.key(layout.BROWSE_PREFIX), body, rendering.content_type)
        )
    for asset in ASSETS:
        headers = {"Content-Type": asset.content_type, "Cache-Control": layout.FILE_CACHE_CONTROL}
        objects.append((bucket, asset.key, asset.body, headers))
    return objects


# --- s3pypi 2.x's layout: `NAME/` holds the project page, `index.html` the root -----

S3PYPI_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <meta charset="UTF-8">
    <title>Package Index</title>
  </head>
  <body>
{body}
  </body>
</html>"""


def s3pypi_html(links: dict[str, str | None]) -> bytes:
    """s3pypi's `Index.to_html`: one link per file name, with its hash if it has one."""
    lines = "<br>\n".join(
        f'<a href="{quote(name)}'
        + (f"#sha256={digest}" if digest else "")
        + f'">{name.rstrip("/")}</a>'
        for name, digest in sorted(links.items())
    )
    return S3PYPI_PAGE.format(body=indent(lines, " " * 4)).encode()


def s3pypi_project(
    bucket: str, name: NormalizedName, artifacts: list[DistributionFile]
) -> list[ObjectToLoad]:
    headers = {"Content-Type": "application/x-gzip"}
    objects: list[ObjectToLoad] = [
        (bucket, f"{name}/{artifact.filename}", artifact.body, headers) for artifact in artifacts
    ]
    page = s3pypi_html({artifact.filename: artifact.sha256 for artifact in artifacts})
    objects.append((bucket, f"{name}/", page, {"Content-Type": "text/html"}))
    return objects


def s3pypi_root(bucket: str, names: list[NormalizedName]) -> list[ObjectToLoad]:
    page = s3pypi_html(dict.fromkeys(f"{name}/" for name in names))
    return [(bucket, "index.html", page, {"Content-Type": "text/html"})]


def repositories(count: int, *, ours: str, s3pypi: str | None) -> Iterator[list[ObjectToLoad]]:
    """Both repositories, filled with the same `count` projects, in batches to load."""
    names = [project_name(number) for number in range(count)]
    batch: list[ObjectToLoad] = []
    lines: dict[NormalizedName, CatalogEntry] = {}
    for name in names:
        artifacts = project_artifacts(name)
        batch += ours_project(ours, name, artifacts)
        page = ours_page(name, artifacts)
        lines[name] = CatalogEntry(page.line, page.serial)
        if s3pypi:
            batch += s3pypi_project(s3pypi, name, artifacts)
        if len(batch) >= 5000:
            yield batch
            batch = []
    batch += ours_root(ours, names, Catalog(lines, ASSETS_ID))
    if s3pypi:
        batch += s3pypi_root(s3pypi, names)
    yield batch
