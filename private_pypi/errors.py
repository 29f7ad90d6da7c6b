"""The exceptions the library raises: each one is a message a user can act on.

Every command catches PrivatePypiError and prints its one line. PreconditionFailed and
ConditionalConflict are not among them: they are the storage's signals that a conditional
write did not take effect, which the index retries and never lets reach a user.
"""

from __future__ import annotations

from .advice import Part, Program, Text


class PrivatePypiError(Exception):
    """Base class: a problem the user can fix. str(error) is the one-line message.

    A message that advises a command holds it as a Command, which `render` spells as the
    face that shows the error is run (`private-pypi reindex`, `uv run invoke reindex`).
    """

    def __init__(self, *message: Part) -> None:
        self.text = Text(*message)
        super().__init__(self.text)

    def render(self, program: Program) -> str:
        return self.text.render(program)


class PreconditionFailed(Exception):
    """A conditional write lost a race: the object changed since it was read (If-Match), or
    it exists already (If-None-Match: *)."""


class ConditionalConflict(Exception):
    """A conditional write met a conflicting request on the same key (S3's 409
    ConditionalRequestConflict) and did not take effect: it says nothing of the object, so
    the writer tries again, re-reading the object first where it wrote If-Match."""


class InvalidDistribution(PrivatePypiError):
    """A file is not a valid wheel or sdist. The message names the file and the reason."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason


class FileConflict(PrivatePypiError):
    """A file of the same name but different content is already in the repository."""


class FileChanged(PrivatePypiError):
    """A file's bytes changed after inspection: the store refused them, nothing was stored."""

    def __init__(self, key: str) -> None:
        filename = key.rsplit("/", 1)[-1]
        super().__init__(
            f"{filename}: the file changed after it was inspected, so the store refused its "
            "bytes and nothing was published; let the build finish, then publish again"
        )


class StorageError(PrivatePypiError):
    """The storage backend failed: credentials, permissions, missing bucket, network."""


class ConfigurationError(PrivatePypiError):
    """Settings are missing or malformed: the message names the setting and the fix."""
