"""Where everything lives in a repository, and how it is served.

The seed's layout, made to work on the S3 REST endpoint: pip asks
`https://BUCKET.s3.REGION.amazonaws.com/simple/NAME/`, which is the *key* `simple/NAME/`,
so every HTML page is stored twice: as `index.html` (for CloudFront, browsers and
`python -m http.server`) and under its directory key (for the S3 REST endpoint).
Beside simple/ are the browse pages for people: `index.html`, `project/NAME/index.html`
and their `static/` stylesheet and script; their links name `index.html` explicitly.
"""

from __future__ import annotations

from packaging.utils import InvalidName, NormalizedName, canonicalize_name

# The prefix, the suffixes and the cache headers are the bucket policy's too: contract.py
# holds them.
from .contract import BROWSE_PREFIX as BROWSE_PREFIX
from .contract import BROWSE_ROOT as BROWSE_ROOT
from .contract import DISTRIBUTION_SUFFIXES as DISTRIBUTION_SUFFIXES
from .contract import FILE_CACHE_CONTROL as FILE_CACHE_CONTROL
from .contract import INDEX_PREFIX as INDEX_PREFIX
from .contract import METADATA_SUFFIX as METADATA_SUFFIX
from .contract import PAGE_CACHE_CONTROL as PAGE_CACHE_CONTROL
from .contract import STATIC_PREFIX as STATIC_PREFIX
from .contract import YANK_SUFFIX as YANK_SUFFIX

ROOT_JSON = f"{INDEX_PREFIX}index.json"
# The browse root page's record: every project's line.
CATALOG_JSON = f"{BROWSE_PREFIX}index.json"


HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
CATALOG_TYPE = "application/json"
METADATA_TYPE = "text/plain; charset=utf-8"


def project_dir(project: NormalizedName) -> str:
    return f"{INDEX_PREFIX}{project}/"


def project_json(project: NormalizedName) -> str:
    return f"{INDEX_PREFIX}{project}/index.json"


def file_key(project: NormalizedName, filename: str) -> str:
    return f"{INDEX_PREFIX}{project}/{filename}"


def metadata_key(project: NormalizedName, filename: str) -> str:
    return file_key(project, filename) + METADATA_SUFFIX


def yank_key(project: NormalizedName, filename: str) -> str:
    return file_key(project, filename) + YANK_SUFFIX


def browse_project_key(project: NormalizedName) -> str:
    """The project's browse page: project/NAME/index.html, as PyPI's /project/NAME/."""
    return f"{BROWSE_PREFIX}{project}/index.html"


def project_of_directory(directory: str) -> NormalizedName:
    """The project whose pages are in `directory` (simple/NAME/)."""
    return NormalizedName(directory.removeprefix(INDEX_PREFIX).rstrip("/"))


def is_project_name(directory: str) -> bool:
    """Whether a directory under simple/ is named as a project can be (ASCII, PEP 508)."""
    try:
        canonicalize_name(directory, validate=True)
    except InvalidName:
        return False
    return directory.isascii()
