"""Fixtures that run the Pulumi program or one component under mocks (see harness.py)."""

from __future__ import annotations

import runpy
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest

from .harness import PROGRAM, Run, run_under_mocks


class ProgramRunner:
    """Runs __main__.py with a stack's config (keys without `private-pypi:`)."""

    def __init__(self) -> None:
        self.last = Run([])

    def __call__(self, config: dict[str, str], stack: str = "staging", **options: Any) -> Run:
        """`options`: run_under_mocks's, e.g. engine_version, or preview, prior and now."""
        self.last = Run([])
        return run_under_mocks(self._program, stack=stack, config=config, into=self.last, **options)

    @staticmethod
    def _program() -> None:
        runpy.run_path(str(PROGRAM))


@pytest.fixture
def run_program() -> Iterator[ProgramRunner]:
    yield ProgramRunner()
    pulumi.runtime.reset_options()


@pytest.fixture
def run_component() -> Iterator[Callable[[Callable[[], object]], Run]]:
    """Declare one component (the callable builds it) and record its resources; the
    component itself is the run's `component`."""

    def run(build: Callable[[], object]) -> Run:
        built = Run([])
        return run_under_mocks(
            lambda: setattr(built, "component", build()), stack="staging", config={}, into=built
        )

    yield run
    pulumi.runtime.reset_options()
