"""What a stack's state holds of this code keeps its meaning.

Every resource keeps its URN: a changed URN makes `pulumi up` replace the resource.
urns.json holds the URNs each documented recipe declared before components were renamed
(PackageDomain became PackageCdn): a bucket, a distribution or a certificate whose URN
moves is deleted and created again, and the index is down in between.

The key clocks' provider is pickled into the state by module and name: a renamed module,
class or function leaves existing stacks unable to `pulumi destroy` their clocks.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic.dynamic import PROVIDER_KEY

from components.key_clock import KeyClockProvider, utc_now

RECORDED = Path(__file__).with_name("urns.json")
S3_ONLY = {"projectName": "acme", "aws:region": "eu-west-1"}
GITHUB = {"githubRepository": "acme/python-packages", "github:token": "ghp_example"}
RECIPES = {
    "s3-only": S3_ONLY,
    "cdn": {**S3_ONLY, "cdn": "true"},
    "domain": {**S3_ONLY, "domainName": "packages.acme.dev"},
    "private": {
        **S3_ONLY,
        **GITHUB,
        "cdn": "true",
        "access": "private",
        "readers": json.dumps([{"name": "ci", "githubRepository": "acme/app"}]),
    },
    "oidc": {**S3_ONLY, **GITHUB, "publishWith": "oidc"},
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_every_resource_keeps_its_urn(run_program, recipe):
    run = run_program(RECIPES[recipe])

    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))[recipe]
    assert sorted(resource.urn for resource in run.declared) == recorded


# A KeyClock's provider, pickled as Pulumi keeps it in the state (`__provider`, written when
# the clock was created and read back by `pulumi destroy` and later diffs): this one is from
# a stack deployed before the clock stopped answering with updates.
EARLIER_PICKLED_CLOCK = (
    "gASVSgAAAAAAAACMFGNvbXBvbmVudHMua2V5X2Nsb2NrlIwQS2V5Q2xvY2tQcm92aWRlcpSTlCmBlH2UjAVjbG9ja5Ro"
    "AIwHdXRjX25vd5STlHNiLg=="
)
# What every pickled clock names, and so what must stay importable under these names.
PICKLED_NAMES = {"components.key_clock.KeyClockProvider", "components.key_clock.utc_now"}
# The outputs such a stack's clock holds.
EARLIER_CLOCK_STATE = {
    "every_days": 90,
    "token": "",
    "created_at": "2025-01-01T00:00:00Z",
    "due_at": "2025-04-01T00:00:00Z",
}


class _NamesRead(pickle.Unpickler):
    """Unpickles as the dynamic provider's host does, noting every name it imports."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.names: set[str] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.names.add(f"{module}.{name}")
        return super().find_class(module, name)


def unpickled(encoded: str) -> tuple[Any, set[str]]:
    reader = _NamesRead(base64.b64decode(encoded))
    return reader.load(), reader.names


def test_every_key_clock_pickles_its_provider_by_the_same_names(run_program):
    run = run_program(RECIPES["private"])

    for clock in run.of_type("pulumi-python:dynamic:Resource"):
        provider, names = unpickled(clock.inputs[PROVIDER_KEY])
        assert names == PICKLED_NAMES, clock.name
        assert type(provider) is KeyClockProvider


def test_a_clock_pickled_by_an_earlier_version_still_diffs_and_deletes():
    provider, names = unpickled(EARLIER_PICKLED_CLOCK)

    assert names == PICKLED_NAMES
    assert isinstance(provider, KeyClockProvider) and provider.clock is utc_now
    # Its creation time is long past the 90 days: the next update replaces it.
    news = {"every_days": 90, "token": ""}
    assert provider.diff("id", EARLIER_CLOCK_STATE, news).replaces == ["created_at"]
    provider.delete("id", EARLIER_CLOCK_STATE)  # what `pulumi destroy` calls
