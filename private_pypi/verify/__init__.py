"""Check a live index as pip and uv see it: every page, link, file and hash.

Verify reads only what any client can read, the pages and files under `simple/` and the
browse pages beside it, over HTTP(S) or file://, with no credentials. Given a repository
(s3://BUCKET or a directory) rather than an index URL, it also lists `simple/` through the
storage, to find what no page shows: a project directory missing from the root page, a
stored file missing from its project page, a yank marker that the page does not show.

`invoke reindex` rebuilds the pages from what is stored, so it repairs every problem
verify finds on a page; a file whose bytes are gone it can only take off the page.

A private index is the exception: verify reads it as the reader that PRIVATE_PYPI_USERNAME
and PRIVATE_PYPI_TOKEN name, and sends those to the index's own origin only.

The modules: `client` reads URLs, `parsers` reads pages as a client does, `checker` runs
the check, `browse` holds the browse pages to the client pages, `listing` compares a
repository's listing with its pages, `report` holds what was found.
"""

from .checker import IndexFormats, Verifier, open_verifier
from .client import Limits, ReaderCredentials, Retry
from .report import Problem, ProblemKind, VerifyError, VerifyReport, next_step

__all__ = [
    "IndexFormats",
    "Limits",
    "Problem",
    "ProblemKind",
    "ReaderCredentials",
    "Retry",
    "Verifier",
    "VerifyError",
    "VerifyReport",
    "next_step",
    "open_verifier",
]
