"""`private-pypi TASK`: this project's publishing tasks, installed as a command.

The same task functions as `invoke TASK` in the checkout, bundled into an invoke Program,
so the command has a fixed set of subcommands and needs no tasks.py where it runs.
"""

from __future__ import annotations

from importlib.metadata import version

from invoke.collection import Collection
from invoke.program import Program

from .tasks import build, delete, mirror, publish, reindex, unyank, verify, yank

program = Program(
    namespace=Collection(publish, build, mirror, yank, unyank, delete, reindex, verify),
    name="private-pypi",
    binary="private-pypi",
    version=version("private-pypi"),
)
