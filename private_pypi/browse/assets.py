"""The browse pages' stylesheet and script, as the repository stores them.

Their keys carry a hash of their content, so they never change once stored: they are
written create-only, cached as files are (immutable), and a page names the very version
it was rendered with. A record names the set its writers stored (`ASSETS_ID`), so a
writer stores them only where the record names another set.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files

from ..contract import STATIC_PREFIX


@dataclass(frozen=True)
class Asset:
    key: str
    body: bytes
    content_type: str


def _asset(filename: str, content_type: str) -> Asset:
    body = files("private_pypi.browse").joinpath(filename).read_bytes()
    stem, suffix = filename.rsplit(".", 1)
    digest = hashlib.sha256(body).hexdigest()[:12]
    return Asset(f"{STATIC_PREFIX}{stem}.{digest}.{suffix}", body, content_type)


STYLESHEET = _asset("browse.css", "text/css; charset=utf-8")
SCRIPT = _asset("browse.js", "text/javascript; charset=utf-8")
ASSETS = (STYLESHEET, SCRIPT)
ASSETS_ID = hashlib.sha256(b"".join(asset.key.encode() for asset in ASSETS)).hexdigest()[:12]
