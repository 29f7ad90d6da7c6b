"""The exceptions publishing raises: each one is a message a user can act on."""

from __future__ import annotations


class PublishError(Exception):
    """Base class: a problem the user can fix. str(error) is the one-line message."""


class InvalidDistribution(PublishError):
    """A file is not a valid wheel or sdist. The message names the file and the reason."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason


class FileConflict(PublishError):
    """A file of the same name but different content is already in the repository."""


class FileChanged(PublishError):
    """A file's bytes changed after inspection: the store refused them, nothing was stored."""

    def __init__(self, key: str) -> None:
        filename = key.rsplit("/", 1)[-1]
        super().__init__(
            f"{filename}: the file changed after it was inspected, so the store refused its "
            "bytes and nothing was published; let the build finish, then publish again"
        )


class PreconditionFailed(PublishError):
    """A conditional write lost a race: the object changed since it was read."""


class StorageError(PublishError):
    """The storage backend failed: credentials, permissions, missing bucket, network."""


class ConfigurationError(PublishError):
    """Settings are missing or malformed: the message names the setting and the fix."""
