"""Every resource keeps its URN: a changed URN makes `pulumi up` replace the resource.

urns.json holds the URNs each documented recipe declared before components were renamed
(PackageDomain became PackageCdn): a bucket, a distribution or a certificate whose URN
moves is deleted and created again, and the index is down in between.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
