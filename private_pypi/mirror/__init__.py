"""A curated mirror: copy exactly the files a lock pins from an upstream index into this
one, hash-checked, so that every install reads one index.

`locks` is the model of what a lock pins, and `read_lock` tells a lock's format;
`requirements`, `uvlock` and `pylock` read each format. `upstream` reads the upstream index
(pypi-simple over the project's HTTP client) with the `credentials` pip and uv would use.
`copying` finds, downloads, checks and publishes the files through publish's Publisher,
and carries the upstream's yanks over; `report` holds what was done; `command` is the
command that the faces run.

It needs pypi-simple, the `mirror` extra: the publish path's install goes without it.
"""

from .command import mirror
from .locks import Lock, LockError, PinnedFile, SkippedPackage, read_lock
from .report import MirroredFile, MirrorResult, Outcome

__all__ = [
    "Lock",
    "LockError",
    "MirrorResult",
    "MirroredFile",
    "Outcome",
    "PinnedFile",
    "SkippedPackage",
    "mirror",
    "read_lock",
]
