"""The details of a release that the browse pages show, from what the repository stores.

A project's record keeps the details of one release, the one its pages show. When a yank,
unyank or delete makes another release the shown one, its details are read again: from a
wheel's metadata file (PEP 658, one small read), else from the release's sdist, which is
downloaded and inspected as publish inspects it. A file just published carries its
details already, and nothing is read.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from packaging.version import Version

from . import layout
from .details import ReleaseDetails, release_details
from .distributions import inspect
from .errors import InvalidDistribution
from .pages import FileEntry, ProjectPage
from .storage import Storage


def describe(storage: Storage, page: ProjectPage, version: Version) -> ReleaseDetails | None:
    """The details of the project's release `version`; None if no file of it can say."""
    files = [entry for entry in page.files if Version(entry.version) == version]
    for entry in files:
        if entry.details is not None:
            return entry.details
    for entry in sorted(files, key=lambda entry: entry.metadata_sha256 is None):
        details = _read(storage, page, entry)
        if details is not None:
            return details
    return None


def _read(storage: Storage, page: ProjectPage, entry: FileEntry) -> ReleaseDetails | None:
    if entry.metadata_sha256 is not None:
        stored = storage.read(layout.metadata_key(page.name, entry.filename))
        return None if stored is None else release_details(stored.body, entry.version)
    key = layout.file_key(page.name, entry.filename)
    if storage.head(key) is None:
        return None
    with tempfile.TemporaryDirectory(prefix="private-pypi-") as scratch:
        local = Path(scratch, entry.filename)
        storage.download(key, local)
        try:
            return inspect(local).details
        except InvalidDistribution:
            return None
