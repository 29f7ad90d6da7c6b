"""`verify`: read the live index as pip does, and say what a client would trip over."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..advice import Extra
from ..errors import ConfigurationError
from .events import Began, Reporter
from .repository import Surroundings, require_repository, traced

if TYPE_CHECKING:
    from ..verify import VerifyReport


@dataclass(frozen=True)
class VerifyOutcome:
    index_url: str
    # The repository listed beside the pages (s3://BUCKET or a directory), if one was named.
    listed: str | None
    report: VerifyReport


class MissingExtra(ConfigurationError):
    """An optional dependency of a command is not installed."""


def verify(repository: str | None, surroundings: Surroundings, reporter: Reporter) -> VerifyOutcome:
    """Check the index that `repository` names (an index URL, or a repository to read and
    list); the report's problems are the result, not an error."""
    try:
        # pypi-simple is the `verify` extra, which a publish-only install leaves out.
        from ..verify import open_verifier
    except ModuleNotFoundError as error:
        if error.name != "pypi_simple":
            raise
        raise MissingExtra(
            "verify reads the index with pypi-simple, which this environment lacks: use ",
            Extra("verify"),
        ) from None
    verifier = open_verifier(surroundings.repository(repository), surroundings.env)
    if verifier.storage is not None:
        require_repository(verifier.storage)
        verifier = replace(verifier, storage=traced(verifier.storage, reporter))
    listing = f", listing {verifier.storage.location}" if verifier.storage else ""
    reporter.event(Began(f"verifying {verifier.index_url}{listing}"))
    report = verifier.run()
    return VerifyOutcome(
        verifier.index_url, verifier.storage.location if verifier.storage else None, report
    )
