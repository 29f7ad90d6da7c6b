"""What the browse pages tell people about a release, read from its core metadata.

The simple index needs only a file's name, hashes and Requires-Python; a person also wants
the summary, the long description and the dependencies. They are read here from the
METADATA (or PKG-INFO) as written, without validating them: they are only ever shown,
escaped or sanitized, so a field that packaging would refuse is shown as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packaging.metadata import parse_email

# The most of a long description a project's record keeps. The record is the JSON page
# that pip and uv read behind CloudFront, so an endless README must not ride along on
# every resolve; a description cut here says so on its page.
DESCRIPTION_LIMIT = 128 * 1024
SUMMARY_LIMIT = 512
REQUIREMENT_LIMIT = 512
REQUIREMENTS_LIMIT = 200


@dataclass(frozen=True)
class ReleaseDetails:
    """One release as its browse page describes it."""

    version: str
    summary: str = ""
    description: str = ""
    # The Description-Content-Type as written ("" when there is none: PyPI reads reST).
    description_content_type: str = ""
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None
    # Whether `description` was cut at DESCRIPTION_LIMIT.
    description_cut: bool = False

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "version": self.version,
            "summary": self.summary,
            "description": self.description,
            "description-content-type": self.description_content_type,
            "requires-dist": list(self.requires_dist),
            "requires-python": self.requires_python,
        }
        if self.description_cut:
            document["description-cut"] = True
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ReleaseDetails:
        return cls(
            version=str(document["version"]),
            summary=str(document.get("summary", "")),
            description=str(document.get("description", "")),
            description_content_type=str(document.get("description-content-type", "")),
            requires_dist=tuple(str(item) for item in document.get("requires-dist", ())),
            requires_python=_optional(document.get("requires-python")),
            description_cut=bool(document.get("description-cut", False)),
        )


def release_details(metadata: bytes, version: str) -> ReleaseDetails:
    """The details of the release whose METADATA or PKG-INFO is `metadata`."""
    raw, _ = parse_email(metadata)
    description = raw.get("description", "")
    cut = len(description) > DESCRIPTION_LIMIT
    if cut:
        # At a line's end where there is one, so no line is shown half.
        end = description.rfind("\n", 0, DESCRIPTION_LIMIT)
        description = description[: end if end > 0 else DESCRIPTION_LIMIT]
    requirements = raw.get("requires_dist", [])[:REQUIREMENTS_LIMIT]
    return ReleaseDetails(
        version=version,
        summary=_line(raw.get("summary", ""), SUMMARY_LIMIT),
        description=description,
        description_content_type=_line(raw.get("description_content_type", ""), 200),
        requires_dist=tuple(_line(item, REQUIREMENT_LIMIT) for item in requirements),
        requires_python=raw.get("requires_python"),
        description_cut=cut,
    )


def _line(text: str, limit: int) -> str:
    """One line of at most `limit` characters: a summary folded over lines is one line."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _optional(value: object) -> str | None:
    return None if value is None else str(value)
