"""Reading an upstream index as pip does: its project pages, its files and their metadata.

A page is asked for as PEP 691 JSON, and HTML (PEP 503) is taken when that is what the
index serves; pypi-simple reads either. The HTTP is the project's own client
(verify.client): one urllib3 pool per index, retries, every body read within limits,
the index's credentials sent as credentials.py says.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from packaging.utils import NormalizedName
from pypi_simple import DistributionPackage, ProjectPage, UnsupportedRepoVersionError

from ..distributions import MAX_METADATA_BYTES
from ..errors import PrivatePypiError
from ..storage.base import Progress
from ..verify.client import Download, IndexClient, Limits, Missing, Retry, TooLarge, Unreachable
from .credentials import UpstreamCredentials

# pip's Accept: PEP 691 JSON first, HTML from an index that serves only that.
ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.1, "
    "text/html;q=0.01"
)
CLIENT_NAME = "mirror"
RETRY = Retry()
LIMITS = Limits()


class UpstreamError(PrivatePypiError):
    """The upstream index could not be read, or is not a simple index."""


@dataclass(frozen=True)
class UpstreamFile:
    """One file as the upstream's project page describes it."""

    filename: str
    url: str
    sha256: str | None
    size: int | None
    upload_time: datetime | None
    yanked: str | None
    """None: not yanked; otherwise the reason, "" for none."""
    metadata_sha256: str | None
    """The sha256 of its PEP 658 metadata file, when the page offers one with a hash."""

    @property
    def metadata_url(self) -> str:
        return self.url + ".metadata"

    @classmethod
    def of(cls, package: DistributionPackage) -> UpstreamFile:
        metadata = (package.metadata_digests or {}).get("sha256") if package.has_metadata else None
        return cls(
            filename=package.filename,
            url=package.url,
            sha256=(package.digests.get("sha256") or "").lower() or None,
            size=package.size,
            upload_time=package.upload_time,
            yanked=(package.yanked_reason or "") if package.is_yanked else None,
            metadata_sha256=metadata.lower() if metadata else None,
        )


@dataclass(frozen=True)
class UpstreamPage:
    index: str
    project: NormalizedName
    url: str
    files: Mapping[str, UpstreamFile]
    """By file name."""

    def with_sha256(self, sha256: str) -> UpstreamFile | None:
        return next((file for file in self.files.values() if file.sha256 == sha256), None)


class Upstream:
    """Reads one or more upstream indexes, each with its credentials and its own pool."""

    def __init__(
        self,
        credentials: Mapping[str, UpstreamCredentials],
        *,
        retry: Retry = RETRY,
        limits: Limits = LIMITS,
    ) -> None:
        self.limits = limits
        self._credentials = credentials
        self._retry = retry
        self._clients: dict[str, IndexClient] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def __enter__(self) -> Upstream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def page(self, index: str, project: NormalizedName) -> UpstreamPage | None:
        """The project's page on `index`; None when the index has no such project."""
        url = f"{index}{project}/"
        try:
            document = self._client(index).document(url, ACCEPT)
        except Missing:
            return None
        except (Unreachable, TooLarge) as error:
            raise UpstreamError(f"cannot read {url}: {error}") from None
        try:
            page = _parse(project, document.url, document.content_type, document.body)
        except (ValueError, UnsupportedRepoVersionError) as error:
            raise UpstreamError(
                f"{url} is not a simple index page ({_shorten(str(error))}): check the "
                "upstream's URL, which ends in /simple/ on most indexes"
            ) from None
        files: dict[str, UpstreamFile] = {}
        for package in page.packages:
            files.setdefault(package.filename, UpstreamFile.of(package))
        return UpstreamPage(index, project, document.url, files)

    def download(
        self,
        index: str,
        file: UpstreamFile,
        into: BinaryIO,
        *,
        limit: int,
        algorithms: tuple[str, ...],
        progress: Progress | None = None,
    ) -> Download:
        """Stream the file into `into`, hashed; raises verify.client's ReadFailed."""
        return self._client(index).download(
            file.url,
            into,
            limit=limit,
            seconds=self.limits.file_seconds,
            algorithms=algorithms,
            progress=progress,
        )

    def metadata(self, index: str, file: UpstreamFile) -> bytes:
        """The file's PEP 658 metadata file; raises verify.client's ReadFailed."""
        buffer = io.BytesIO()
        self._client(index).download(
            file.metadata_url, buffer, limit=MAX_METADATA_BYTES, seconds=self.limits.page_seconds
        )
        return buffer.getvalue()

    def _client(self, index: str) -> IndexClient:
        """The index's client, made on first use: one pool of connections for all threads."""
        with self._lock:
            client = self._clients.get(index)
            if client is None:
                credentials = self._credentials[index]
                client = IndexClient(
                    index,
                    retry=self._retry,
                    limits=self.limits,
                    reader=credentials,
                    name=CLIENT_NAME,
                    unauthorized=credentials.unauthorized(),
                )
                self._clients[index] = client
            return client


def _parse(project: NormalizedName, url: str, content_type: str | None, body: bytes) -> ProjectPage:
    media_type = (content_type or "").partition(";")[0].strip().lower()
    is_json = "json" in media_type if media_type else body.lstrip().startswith(b"{")
    if is_json:
        return ProjectPage.from_json_data(json.loads(body), base_url=url)
    return ProjectPage.from_html(project, body, base_url=url, from_encoding="utf-8")


def _shorten(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
