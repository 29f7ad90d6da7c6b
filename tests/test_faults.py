"""S3 failing in the middle of a publish: one clear line, no broken page, and a rerun finishes.

Every request goes through a fault-injecting proxy in front of moto. A fault stays until
it is cleared, so botocore's own retries cannot hide it: the publish really fails at
that step, and the same publish, run again, must complete the job.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.config import Config

from private_pypi.aws import Access
from private_pypi.errors import PrivatePypiError
from private_pypi.index import Index
from private_pypi.publish import Outcome, Publisher, inspect_all
from private_pypi.storage import S3Settings, S3Storage
from tests.conftest import REGION
from tests.consistency import read_repository
from tests.factory import sdist, wheel
from tests.faultproxy import Action, Drop, Fault, FaultProxy, Lose, Respond, Stall
from tests.invoking import error_line, invoke

# One attempt, for speed: the `invoke publish` test shows a fault outlasting botocore's own
# retries with the real settings. A read timeout short enough for the stall tests to wait
# out, and long enough for a busy machine's moto.
READ_TIMEOUT = 5
QUICK = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=2,
    read_timeout=READ_TIMEOUT,
)
WHEEL = "acme-1.0-py3-none-any.whl"
SDIST = "acme-1.0.tar.gz"


@dataclass(frozen=True)
class Step:
    method: str
    key: str

    def fault(self, bucket: str, action: Action, *, times: int | None = None) -> Fault:
        path = f"^/{re.escape(bucket)}/{re.escape(self.key)}$"
        return Fault(self.method, path, action, times=times)


# A publish of a new project, in the order it talks to S3.
STEPS = {
    "reading the project page": Step("GET", "simple/acme/index.json"),
    "uploading the metadata": Step("PUT", f"simple/acme/{WHEEL}.metadata"),
    "uploading the second file": Step("PUT", f"simple/acme/{SDIST}"),
    "writing the root JSON page": Step("PUT", "simple/index.json"),
    "writing the root HTML page": Step("PUT", "simple/index.html"),
    "writing the project JSON page": Step("PUT", "simple/acme/index.json"),
    "writing the project HTML page": Step("PUT", "simple/acme/index.html"),
    "writing the project directory page": Step("PUT", "simple/acme/"),
    # A new project's copies need no look; the root page's do.
    "looking at the root HTML page": Step("HEAD", "simple/index.html"),
    "reading the catalog": Step("GET", "project/index.json"),
    "writing the project browse page": Step("PUT", "project/acme/index.html"),
    "writing the catalog": Step("PUT", "project/index.json"),
    "writing the browse root page": Step("PUT", "index.html"),
}
FAULTS: dict[str, Action] = {
    "500": Respond(500, "InternalError", "We encountered an internal error."),
    "dropped": Drop(),
}
STALLED_STEPS = ("uploading the second file", "writing the project JSON page")
WRITES = [name for name, step in STEPS.items() if step.method == "PUT"]


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy(moto_endpoint) as proxy:
        yield proxy


def through(proxy: FaultProxy, bucket: str, config: Config = QUICK) -> S3Storage:
    settings = S3Settings(bucket, Access("testing", "testing", REGION, proxy.url))
    return S3Storage(settings, config=config)


@pytest.fixture
def storage(proxy: FaultProxy, bucket: str) -> S3Storage:
    """The bucket, through the proxy, with no retries and a short read timeout."""
    return through(proxy, bucket)


@pytest.fixture
def distributions(tmp_path: Path) -> list[Path]:
    """acme 1.0, a wheel then an sdist, for a repository that already holds `existing`."""
    return [wheel(tmp_path, "acme", "1.0"), sdist(tmp_path, "acme", "1.0")]


@pytest.fixture(autouse=True)
def existing(storage: S3Storage, tmp_path: Path) -> None:
    """A repository that already holds a project, published before any fault."""
    publish(storage, wheel(tmp_path / "existing", "existing", "2.0"))


def publish(storage: S3Storage, *paths: Path) -> list[Outcome]:
    result = Publisher(Index(storage)).publish(inspect_all(paths))
    return [published.outcome for published in result.files]


def assert_complete(storage: S3Storage) -> None:
    repository = read_repository(storage)
    repository.assert_settled()
    assert repository.root_json == {"acme", "existing"}
    assert repository.files("acme") == {WHEEL, SDIST}
    assert repository.files("existing") == {"existing-2.0-py3-none-any.whl"}


def fail_then_rerun(
    proxy: FaultProxy, storage: S3Storage, distributions: list[Path], fault: Fault
) -> None:
    proxy.inject(fault)
    with pytest.raises(PrivatePypiError) as failed:
        publish(storage, *distributions)

    message = str(failed.value)
    assert "\n" not in message and f"{storage.location}/" in message, message
    assert fault.hits == 1
    read_repository(storage)  # no page links a missing file

    proxy.clear()
    outcomes = publish(storage, *distributions)
    assert len(outcomes) == 2
    assert_complete(storage)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("step", STEPS)
def test_a_publish_that_fails_at_any_step_leaves_no_broken_link_and_a_rerun_completes_it(
    proxy: FaultProxy, storage: S3Storage, distributions: list[Path], step: str, fault: str
) -> None:
    fail_then_rerun(proxy, storage, distributions, STEPS[step].fault(storage.bucket, FAULTS[fault]))


@pytest.mark.parametrize("step", STALLED_STEPS)
def test_a_request_that_times_out_fails_the_publish_and_a_rerun_completes_it(
    proxy: FaultProxy, storage: S3Storage, distributions: list[Path], step: str
) -> None:
    stall = Stall(READ_TIMEOUT + 2)
    fail_then_rerun(proxy, storage, distributions, STEPS[step].fault(storage.bucket, stall))


@pytest.mark.parametrize("step", WRITES)
def test_a_write_whose_answer_was_lost_is_retried_and_the_publish_completes(
    proxy: FaultProxy, bucket: str, distributions: list[Path], step: str
) -> None:
    # botocore sends the write again; S3 already has it, so a conditional write now fails.
    retrying = through(proxy, bucket, Config(retries={"mode": "standard", "max_attempts": 2}))
    fault = proxy.inject(STEPS[step].fault(bucket, Lose(), times=1))

    publish(retrying, *distributions)

    assert fault.seen >= 2, "the write was sent again"
    assert_complete(retrying)


def test_the_file_a_failed_run_stored_is_kept_and_not_uploaded_again(
    proxy: FaultProxy, storage: S3Storage, distributions: list[Path]
) -> None:
    proxy.inject(STEPS["uploading the second file"].fault(storage.bucket, FAULTS["500"]))
    with pytest.raises(PrivatePypiError):
        publish(storage, *distributions)
    assert storage.head(f"simple/acme/{WHEEL}") is not None
    assert read_repository(storage).files("acme") == set()

    proxy.clear()
    assert publish(storage, *distributions) == [Outcome.UNCHANGED, Outcome.UPLOADED]
    assert_complete(storage)


def test_invoke_publish_reports_a_failure_in_one_line_and_exit_code_1(
    proxy: FaultProxy,
    storage: S3Storage,
    s3_env: dict[str, str],
    distributions: list[Path],
    bucket: str,
) -> None:
    env = {**s3_env, "AWS_ENDPOINT_URL": proxy.url}
    step = STEPS["writing the project JSON page"]
    fault = proxy.inject(step.fault(bucket, FAULTS["500"]))

    failed = invoke("publish", "--dist", str(distributions[0].parent), env=env)

    assert fault.hits > 1, "botocore retried the request, in vain"
    assert error_line(failed) == (
        f"error: S3 refused the request for s3://{bucket}/{step.key}: "
        "InternalError We encountered an internal error."
    )
    proxy.clear()
    assert invoke("publish", "--dist", str(distributions[0].parent), env=env).returncode == 0
    assert_complete(storage)
