"""Pulumi.yaml, the example stack and the publish workflow agree with the program."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {
    "projectName": "string",
    "environment": "string",
    "domainName": "string",
    "hostedZoneId": "string",
    "certificateArn": "string",
    "cdn": "boolean",
    "githubRepository": "string",
    "keyRotationDays": "integer",
    "keyRotation": "string",
    "forceDestroy": "boolean",
    "publishWith": "string",
    "githubOidcProviderArn": "string",
    "publishRef": "string",
    "adoptExisting": "boolean",
}
SECRETS = [
    "AWS_PYPI_ACCESS_KEY_ID",
    "AWS_PYPI_SECRET_ACCESS_KEY",
    "AWS_PYPI_REGION",
    "AWS_PYPI_BUCKET",
    "AWS_PYPI_DISTRIBUTION_ID",
]


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def test_pulumi_yaml_types_and_describes_every_setting():
    project = load("Pulumi.yaml")

    assert project["name"] == "private-pypi"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "uv", "typechecker": "pyright"},
    }
    config = project["config"]
    assert config.pop("aws:region") == {"value": "us-east-1"}
    assert {key: spec["type"] for key, spec in config.items()} == SETTINGS
    assert all(spec["description"] for spec in config.values())
    # Only projectName is required; every other setting has a default.
    assert [key for key, spec in config.items() if "default" not in spec] == ["projectName"]
    assert config["keyRotationDays"]["default"] == 90
    assert config["forceDestroy"]["default"] is False


def test_the_example_stack_holds_no_secret_and_only_known_settings():
    stack = load("Pulumi.production.yaml")

    assert "encryptionsalt" not in stack and "secretsprovider" not in stack
    for key, value in stack["config"].items():
        namespace, _, name = key.partition(":")
        assert namespace == "aws" or (namespace == "private-pypi" and name in SETTINGS), key
        assert not isinstance(value, dict), f"{key} is a secure value"
    assert stack["config"]["private-pypi:projectName"]


def test_the_workflow_publishes_on_tags_with_the_five_secrets():
    workflow = load(".github/workflows/publish.yml")

    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["tags"] and "workflow_dispatch" in triggers
    steps = workflow["jobs"]["publish"]["steps"]
    assert any(step.get("uses", "").startswith("astral-sh/setup-uv@") for step in steps)
    (publish,) = [step for step in steps if "invoke publish" in step.get("run", "")]
    assert publish["run"] == "uv run --no-default-groups invoke publish"
    assert publish["env"] == {name: f"${{{{ secrets.{name} }}}}" for name in SECRETS}
