"""Publishers racing each other: threads or processes, each with its own client, all
released at the same moment.

Kept apart from the tests so that a process can import it without pytest, moto or the
fixtures: a fork server preloads this module, and each publisher process starts at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.synchronize import Barrier
from pathlib import Path

from private_pypi.index import Index
from private_pypi.publish import Publisher, inspect_all
from private_pypi.releases import Release, yank
from private_pypi.storage import LocalStorage, Storage

# What one publisher does, through its own client's index.
Actor = Callable[[Index], None]


def race(storages: Sequence[Storage], actors: list[Actor]) -> None:
    """Each actor on its own thread with its own storage client, all released at once;
    re-raise the first failure."""
    start = threading.Barrier(len(actors))

    def run(actor: Actor, storage: Storage) -> None:
        index = Index(storage)
        start.wait()
        actor(index)

    with ThreadPoolExecutor(len(actors)) as pool:
        futures = [
            pool.submit(run, actor, storage)
            for actor, storage in zip(actors, storages[: len(actors)], strict=True)
        ]
        for future in futures:
            future.result()


def publishes(wheels: list[Path]) -> Actor:
    """Publish the wheels one release at a time, as one CI job after another would."""

    def act(index: Index) -> None:
        for path in wheels:
            Publisher(index).publish(inspect_all([path]))

    return act


def yanks(project: str, versions: list[str]) -> Actor:
    def act(index: Index) -> None:
        for version in versions:
            yank(index, Release.parse(project, version), reason=f"{version} is broken")

    return act


def publish_in_this_process(repository: Path, wheels: list[Path], start: Barrier) -> None:
    """A process's publisher on a local directory: the target of a racing process."""
    index = Index(LocalStorage(repository))
    start.wait()
    publishes(wheels)(index)
