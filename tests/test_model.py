"""A randomized model test of the whole index: whatever runs at once, nothing is lost.

Hypothesis draws rounds of jobs that start at the same moment, each with its own client:
publishes of new files and re-runs of old ones, yanks, unyanks and deletes, some of them
killed at a random request. On S3 (moto, and LocalStack's) every request goes through
the fault proxy, which now and then fails one request (botocore retries it), or answers
S3's 409 ConditionalRequestConflict to a conditional write or a delete (which we retry).
After each round:

- verify passes, or what it names is repaired by reindex, after which verify passes;
- each killed job is run again, as its user would, and verify passes;
- the index's state (each file live, yanked or deleted) is one that running the round's
  jobs one at a time, in some order, gives the model (a killed job may count as run at
  any point, and its re-run after all of them).

`PRIVATE_PYPI_MODEL_EXAMPLES=500 uv run pytest tests/test_model.py` runs many more (a
third as many on LocalStack, whose tier is kept short).
A failure prints the rounds as Python and `@reproduce_failure`, which replays the same
jobs and kill points (thread scheduling is the machine's).
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from packaging.utils import NormalizedName

from private_pypi import layout
from private_pypi.aws import Access
from private_pypi.distributions import Distribution
from private_pypi.errors import PrivatePypiError
from private_pypi.index import Index
from private_pypi.pages import parse_project_json
from private_pypi.publish import Publisher, inspect_all
from private_pypi.reindex import Reindexer
from private_pypi.releases import Release, ReleaseNotFound, delete, unyank, yank
from private_pypi.storage import LocalStorage, RetryPolicy, S3Settings, S3Storage, Storage
from private_pypi.verify import Retry, Verifier
from tests.conftest import LOCALSTACK, REGION, admin_client, new_bucket
from tests.factory import wheel
from tests.faultproxy import CONFLICT, Fault, FaultProxy, Respond, conflicts

EXAMPLES = int(os.environ.get("PRIVATE_PYPI_MODEL_EXAMPLES", "15"))
ROUNDS = 7  # per example: 15 examples x 7 rounds x 2 backends > 200 interleavings
# LocalStack checks the model against a second S3; a third of the examples keeps its
# tier short.
EXAMPLES_ON = {"local": EXAMPLES, "s3": EXAMPLES, "localstack": max(1, EXAMPLES // 3)}
CLIENTS = 3
RELEASES = [("m", "1.0"), ("m", "2.0"), ("n", "1.0")]
FAST = RetryPolicy(base_delay=0.002, max_delay=0.05)
S3_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=20
)

Live, Yanked, Deleted = "live", "yanked", "deleted"
State = dict[str, str]  # file name -> live, yanked or deleted; absent: never published


class Killed(Exception):
    """The job's process died before this request."""


class Killable:
    """A storage client whose job dies at its n-th request, for any backend."""

    def __init__(self, storage: Storage, kill_at: int | None) -> None:
        self._storage, self._left = storage, kill_at

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._storage, name)
        if name not in {"read", "head", "write", "upload", "sha256", "delete", "list"}:
            return attribute

        def request(*args: Any, **kwargs: Any) -> Any:
            if self._left is not None:
                self._left -= 1
                if self._left < 0:
                    raise Killed
            return attribute(*args, **kwargs)

        return request


@dataclass(frozen=True)
class Job:
    kind: str  # publish, yank, unyank, delete
    files: tuple[str, ...] = ()  # publish
    release: tuple[str, str] = ("", "")  # yank, unyank, delete
    kill_at: int | None = None

    def apply(self, state: State) -> State:
        """What the job does to the model, run alone."""
        state = dict(state)
        if self.kind == "publish":
            deleted = {_release(f) for f, status in state.items() if status == Deleted}
            if any(_release(f) in deleted for f in self.files):
                return state  # refused: a deleted release is never published again
            for filename in self.files:
                state.setdefault(filename, Live)
            return state
        mine = [f for f, status in state.items() if _release(f) == self.release]
        present = [f for f in mine if state[f] != Deleted]
        new = {"yank": Yanked, "unyank": Live, "delete": Deleted}[self.kind]
        for filename in present:
            state[filename] = new
        return state

    def partial(self) -> list[Job]:
        """What reindex may have indexed of a killed job's work: any of a publish's files."""
        if self.kind != "publish":
            return [Job("publish", ())]
        subsets = itertools.chain.from_iterable(
            itertools.combinations(self.files, size) for size in range(len(self.files) + 1)
        )
        return [Job("publish", subset) for subset in subsets]

    def run(self, storage: Storage, dists: dict[str, Distribution]) -> None:
        index = Index(Killable(storage, self.kill_at), FAST)  # type: ignore[arg-type]
        try:
            if self.kind == "publish":
                Publisher(index).publish([dists[f] for f in self.files])
                return
            release = Release.parse(*self.release)
            {"yank": yank, "unyank": unyank, "delete": delete}[self.kind](index, release)
        except ReleaseNotFound:
            pass  # yanked, unyanked or deleted a release that a delete took first
        except PrivatePypiError as error:
            if "was deleted from the index" not in str(error):
                raise


def _release(filename: str) -> tuple[str, str]:
    name, version = filename.split("-")[:2]
    return name, version


def files_of(project: str, version: str) -> list[str]:
    return [f"{project}-{version}-py3-none-any.whl", f"{project}-{version}-1-py3-none-any.whl"]


ALL_FILES = [f for project, version in RELEASES for f in files_of(project, version)]

jobs = st.one_of(
    st.builds(
        Job,
        st.just("publish"),
        files=st.lists(st.sampled_from(ALL_FILES), min_size=1, max_size=2, unique=True).map(tuple),
        kill_at=st.none() | st.integers(0, 12),
    ),
    st.builds(
        Job,
        st.sampled_from(["yank", "unyank", "delete"]),
        release=st.sampled_from(RELEASES),
        kill_at=st.none() | st.integers(0, 6),
    ),
)


@dataclass
class Backend:
    """Clients on one repository, opened once; `reset` empties it for the next example."""

    clients: list[Storage]
    reset: Callable[[], None]
    faults: Callable[[int], None] = lambda _: None


def stored_state(storage: Storage) -> State:
    state: State = {}
    for project in {project for project, _ in RELEASES}:
        stored = storage.read(layout.project_json(NormalizedName(project)))
        if stored is None:
            continue
        page = parse_project_json(stored.body)
        state |= {f: Deleted for f in page.deleted}
        state |= {e.filename: Yanked if e.yanked is not None else Live for e in page.files}
    return state


class IndexModel(RuleBasedStateMachine):
    backend: Backend
    dists: dict[str, Distribution]

    @initialize()
    def empty_repository(self) -> None:
        self.backend.reset()
        self.state: State = {}

    @rule(round_=st.lists(jobs, min_size=1, max_size=CLIENTS), fault=st.integers(0, 40))
    def a_round(self, round_: list[Job], fault: int) -> None:
        self.backend.faults(fault)
        start = threading.Barrier(len(round_))
        failures: list[BaseException] = []

        def run(job: Job, storage: Storage) -> None:
            start.wait()
            try:
                job.run(storage, self.dists)
            except Killed:
                pass
            except BaseException as error:  # re-raised below, in the test's thread
                failures.append(error)

        threads = [
            threading.Thread(target=run, args=(job, storage))
            for job, storage in zip(round_, self.backend.clients, strict=False)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.backend.faults(-1)
        if failures:
            raise failures[0]

        storage = self.backend.clients[0]
        self.check_repairable(storage)
        killed = [job for job in round_ if job.kill_at is not None]
        for job in killed:
            Job(job.kind, job.files, job.release).run(storage, self.dists)
        report = Verifier(storage.index_url, storage, retry=Retry(1, 0)).run()
        assert report.ok, [str(problem) for problem in report.problems]

        outcomes = []
        # A killed job may have done its work before it died, at any point of the round,
        # or reindex may finish it, before the job is run again: a killed publish's stored
        # files are indexed even if its re-run is refused.
        finished = [job for job in round_ if job.kill_at is None]
        took_effect = [
            [*finished, *subset]
            for size in range(len(killed) + 1)
            for subset in itertools.combinations(killed, size)
        ]
        indexed_by_reindex = [job.partial() for job in killed]
        for order, reruns, partial in itertools.product(
            [order for jobs in took_effect for order in itertools.permutations(jobs)],
            itertools.permutations(killed),
            itertools.product(*indexed_by_reindex),
        ):
            state = self.state
            for job in [*order, *partial, *reruns]:
                state = job.apply(state)
            outcomes.append(state)
        actual = stored_state(storage)
        assert actual in outcomes, f"{actual} is none of {outcomes}"
        self.state = actual

    @staticmethod
    def check_repairable(storage: Storage) -> None:
        report = Verifier(storage.index_url, storage, retry=Retry(1, 0)).run()
        if report.ok:
            return
        Reindexer(Index(storage, FAST), workers=4).run()
        repaired = Verifier(storage.index_url, storage, retry=Retry(1, 0)).run()
        assert repaired.ok, (
            [str(p) for p in report.problems],
            "after reindex:",
            [str(p) for p in repaired.problems],
        )


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Distribution]:
    directory = tmp_path_factory.mktemp("model-dists")
    paths = []
    for project, version in RELEASES:
        plain, tagged = files_of(project, version)
        built = wheel(directory / project / version, project, version)
        paths += [built, Path(shutil.copy(built, directory / tagged))]
        assert built.name == plain
    return {d.filename: d for d in inspect_all(paths)}


@pytest.fixture(scope="module")
def local_backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    root = tmp_path_factory.mktemp("model") / "repository"

    def reset() -> None:
        shutil.rmtree(root, ignore_errors=True)

    return Backend([LocalStorage(root) for _ in range(CLIENTS)], reset)


@pytest.fixture(scope="module")
def s3_backend(moto_endpoint: str) -> Iterator[Backend]:
    yield from proxied_backend(moto_endpoint)


@pytest.fixture(scope="module")
def localstack_backend(localstack_endpoint: str) -> Iterator[Backend]:
    yield from proxied_backend(localstack_endpoint)


def proxied_backend(endpoint: str) -> Iterator[Backend]:
    """Clients on a new bucket at `endpoint`, through a fault proxy."""
    bucket = new_bucket(endpoint, prefix="pypi-model")
    admin = admin_client(endpoint)

    def reset() -> None:
        listed = admin.list_objects_v2(Bucket=bucket).get("Contents", [])
        if listed:
            keys = [{"Key": item["Key"]} for item in listed]
            admin.delete_objects(Bucket=bucket, Delete={"Objects": keys})

    with FaultProxy(endpoint) as proxy:
        settings_ = S3Settings(bucket, Access("testing", "testing", REGION, proxy.url))

        def faults(draw: int) -> None:
            proxy.clear()
            if 0 <= draw < 6:  # now and then, one request fails once and is retried
                method = ["PUT", "GET", "HEAD"][draw % 3]
                proxy.inject(Fault(method, r"/simple/", Respond(500, "InternalError"), times=1))
            elif draw == 6:  # S3's 409: to one conditional write, or one delete
                proxy.inject(conflicts(r"/simple/", times=1))
            elif draw == 7:
                proxy.inject(Fault("DELETE", r"/simple/", CONFLICT, times=1))
            elif draw == 8:  # writers racing on S3: a third of the conditional writes
                proxy.inject(conflicts(r"/simple/", share=1 / 3))

        storages = [S3Storage(settings_, config=S3_CONFIG, retry=FAST) for _ in range(CLIENTS)]
        yield Backend(storages, reset, faults)


@pytest.mark.parametrize("backend_name", ["local", "s3", LOCALSTACK])
def test_interleaved_jobs_leave_an_index_that_verifies_and_matches_the_model(
    backend_name: str, request: pytest.FixtureRequest, dists: dict[str, Distribution]
) -> None:
    machine = type(
        f"IndexModelOn{backend_name.capitalize()}",
        (IndexModel,),
        {"backend": request.getfixturevalue(f"{backend_name}_backend"), "dists": dists},
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES_ON[backend_name],
            stateful_step_count=ROUNDS,
            deadline=None,
            database=None,
            print_blob=True,
            # Shrinking replays rounds whose threads interleave differently each time: it
            # takes minutes and rarely helps. The failing rounds are printed as they ran.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_the_model_is_the_index_run_one_job_at_a_time() -> None:
    """The model's own rules, on one release: yank, unyank and delete, and a tombstone."""
    plain, tagged = files_of("m", "1.0")
    state = Job("publish", (plain,)).apply({})
    state = Job("yank", release=("m", "1.0")).apply(state)
    state = Job("publish", (tagged,)).apply(state)
    assert state == {plain: Yanked, tagged: Live}
    state = Job("delete", release=("m", "1.0")).apply(state)
    assert Job("publish", (plain, tagged)).apply(state) == {plain: Deleted, tagged: Deleted}
