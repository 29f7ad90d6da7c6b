"""Pulumi.yaml, the example stack and the publish workflow agree with the program."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.documentation import section

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
    "access": "string",
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


def test_the_workflow_publishes_on_tags_with_the_five_secrets_through_its_own_action():
    workflow = load(".github/workflows/publish.yml")

    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["tags"] and "workflow_dispatch" in triggers
    steps = workflow["jobs"]["publish"]["steps"]
    (publish,) = [step for step in steps if step.get("uses") == "./"]
    assert steps[-1] == publish and "with" not in publish
    assert publish["env"] == {name: f"${{{{ secrets.{name} }}}}" for name in SECRETS}
    action_steps = load("action.yml")["runs"]["steps"]
    assert action_steps[0]["uses"].startswith("astral-sh/setup-uv@")


def test_the_workflow_checks_out_full_history_so_unchanged_packages_rebuild_identically():
    steps = load(".github/workflows/publish.yml")["jobs"]["publish"]["steps"]

    (checkout,) = [step for step in steps if step.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0


def test_with_a_role_arn_the_workflow_assumes_it_through_oidc_before_publishing():
    workflow = load(".github/workflows/publish.yml")
    job = workflow["jobs"]["publish"]

    assert workflow["permissions"] == {"contents": "read", "id-token": "write"}
    assert job["env"] == {"AWS_PYPI_ROLE_ARN": "${{ secrets.AWS_PYPI_ROLE_ARN }}"}
    names = [step.get("uses", step.get("run", "")).split("@")[0] for step in job["steps"]]
    (assume,) = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert assume["if"] == "env.AWS_PYPI_ROLE_ARN != ''"
    assert assume["with"] == {
        "role-to-assume": "${{ secrets.AWS_PYPI_ROLE_ARN }}",
        "aws-region": "${{ secrets.AWS_PYPI_REGION }}",
    }
    assert names.index("aws-actions/configure-aws-credentials") < len(names) - 1


# Release tags and their commits, read from the actions' repositories.
PINNED = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "astral-sh/setup-uv": ("20cfd1bf945f4377ade1205e4dbc17946fc9a30d", "v10.0.1"),
    "aws-actions/configure-aws-credentials": (
        "e6de054238d6b7531b4efff3b6587d9aade6a06c",
        "v6.2.3",
    ),
}


def test_every_action_is_pinned_to_a_commit_with_its_version_beside_it():
    files = (".github/workflows/publish.yml", "action.yml")
    lines = [line for name in files for line in (ROOT / name).read_text().splitlines()]
    keys = [line.strip().removeprefix("- ") for line in lines]
    uses = [key.split(":", 1)[1].strip() for key in keys if key.startswith("uses:")]
    uses.remove("./")  # the workflow's step that runs action.yml

    assert len(uses) == len(PINNED)
    for use in uses:
        action, _, rest = use.partition("@")
        sha, _, comment = rest.partition(" # ")
        assert (sha, comment) == PINNED[action], use


def test_how_it_is_built_lists_every_module_of_the_components_and_the_library():
    """The development page's tree names every file of components/ and private_pypi/, and no
    other."""
    tree = section("development.md", "## How it is built").split("```", 2)[1]
    listed: set[str] = set()
    parents: list[str] = []
    for line in tree.splitlines():
        names = line.strip().split("  ", 1)[0]
        depth = (len(line) - len(line.lstrip())) // 2
        if not names or depth > 4:  # a description carried onto the next line
            continue
        parents[depth:] = []
        for name in names.split(", "):
            listed.add("".join(parents) + name)
        if names.endswith("/"):
            parents.append(names)

    # storage/ is listed without its files: it stands for all of them.
    whole = {
        d for d in listed if d.endswith("/") and not any(n != d and n.startswith(d) for n in listed)
    }
    for top in ("components/", "private_pypi/"):
        on_disk = {
            str(path.relative_to(ROOT))
            for path in (ROOT / top).rglob("*")
            if path.suffix in {".py", ".js"} and path.name != "__init__.py"
        }
        unlisted = {f for f in on_disk if f not in listed and not f.startswith(tuple(whole))}
        gone = {n for n in listed if n.startswith(top) and not n.endswith("/")} - on_disk
        assert (unlisted, gone) == (set(), set())
