"""Every deploy recipe of the documentation, run as written on a new stack, under mocks.

A recipe is the shell block after a `<!-- recipe: NAME -->` line, on any page of docs/
(tests/documentation.py finds them). `pulumi stack init S` starts from Pulumi.S.yaml when
the repository has one, as the CLI does; each `pulumi config set` is applied on top (with
`--path`, into the structured setting it names); `pulumi up` runs the program; and
`pulumi stack output NAME` must name an output the run exported. A recipe without
`pulumi stack init` adds to the stack of the getting-started recipe (`quickstart`). A
command the reader would type but that is not Pulumi's (`uv run invoke …`) is tested
elsewhere, and any other line fails the test, so a recipe cannot drift out of what is
tested.
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.documentation import README, page, recipes

from .harness import Run

ROOT = Path(__file__).resolve().parents[2]
# What the reader pastes at `pulumi config set --secret KEY`'s prompt.
PROMPTED = {"github:token": "github_pat_example"}
TESTED_ELSEWHERE = ("uv run invoke reindex", "uv run invoke verify", "pulumi login")
# The change "Moving from CloudFormation" makes to the template before its stack goes.
RETAIN = re.compile(r"<!-- cloudformation: retain -->\n\s*```yaml\n(.*?)```", re.DOTALL)
# The CloudFormation template's resources (pypi-s3.yaml, as the scripts' README lists
# them). Deleting the stack deletes each one that isn't retained: the bucket policy gone,
# the S3-only index answers 403; DeploymentPolicy gone, the old CI key can do nothing.
TEMPLATE_RESOURCES = {"PyPIBucket", "PyPIBucketPolicy", "DeploymentUser", "DeploymentPolicy"}

CLOUDFRONT = "aws:cloudfront/distribution:Distribution"
CERTIFICATE = "aws:acm/certificate:Certificate"
SECRET = "github:index/actionsSecret:ActionsSecret"
USER = "aws:iam/user:User"
KEY = "aws:iam/accessKey:AccessKey"
ROLE = "aws:iam/role:Role"
VARY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
READERS_STORE = "aws:cloudfront/keyValueStore:KeyValueStore"

# recipe -> (types it must declare, types it must not declare)
EXPECTED = {
    "quickstart": ({SECRET, USER, KEY}, {CLOUDFRONT, ROLE}),
    "s3-only": ({USER, KEY}, {CLOUDFRONT, CERTIFICATE, SECRET, ROLE}),
    "domain": ({CLOUDFRONT, CERTIFICATE, VARY, USER, KEY}, {SECRET, ROLE}),
    "cdn": ({CLOUDFRONT, VARY, USER, KEY}, {CERTIFICATE, SECRET, ROLE}),
    "github": ({SECRET, USER, KEY}, {CLOUDFRONT, ROLE}),
    "oidc": ({SECRET, ROLE}, {USER, KEY, CLOUDFRONT}),
    "adopt": ({USER, KEY}, {CLOUDFRONT, SECRET}),
    "private": ({CLOUDFRONT, READERS_STORE, SECRET}, {CERTIFICATE}),
}


def set_path(config: dict[str, str], path: str, value: str) -> None:
    """`pulumi config set --path 'readers[0].name' ci`: into the setting's JSON."""
    key, index, field = re.fullmatch(r"(\w+)\[(\d+)\]\.(\w+)", path).groups()  # type: ignore[union-attr]
    entries = json.loads(config.get(key, "[]"))
    while len(entries) <= int(index):
        entries.append({})
    entries[int(index)][field] = value
    config[key] = json.dumps(entries)


def stack_config(recipe: str) -> tuple[str, dict[str, str], list[str]]:
    """The stack a recipe makes, its config as the CLI would hold them, and the outputs it
    reads."""
    stack, config = "", {}
    outputs: list[str] = []
    if "pulumi stack init" not in recipe:
        recipe = recipes()["quickstart"] + recipe
    for line in recipe.splitlines():
        words = shlex.split(line, comments=True)
        if not words or line.strip().startswith(TESTED_ELSEWHERE) or words == ["pulumi", "up"]:
            continue
        match words:
            case ["pulumi", "stack", "output", *flags, name] if set(flags) <= {"--show-secrets"}:
                outputs.append(name)
            case ["pulumi", "config", "set", "--path", path, value]:
                set_path(config, path, value)
            case ["pulumi", "stack", "init", name]:
                stack, config = name, {}
                stack_file = ROOT / f"Pulumi.{name}.yaml"
                if stack_file.exists():
                    config = {
                        key.removeprefix("private-pypi:"): str(value)
                        for key, value in yaml.safe_load(stack_file.read_text())["config"].items()
                    }
            case ["pulumi", "config", "set", "--secret", key]:
                config[key] = PROMPTED[key]
            case ["pulumi", "config", "set", "--secret", key, value] | [
                "pulumi",
                "config",
                "set",
                key,
                value,
            ]:
                config[key] = value
            case _:
                raise AssertionError(f"a recipe line the test cannot run: {line!r}")
    return stack, config, outputs


def test_the_readmes_five_minute_path_is_the_tested_recipes() -> None:
    """The README shows the getting-started recipe and the private-reads recipe as they are."""
    readme = README.read_text(encoding="utf-8")
    for name in ("quickstart", "private"):
        assert f"```sh\n{recipes()[name]}```" in readme, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_recipe_deploys_what_its_section_says(run_program, monkeypatch, name):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    stack, config, outputs = stack_config(recipes()[name])
    must, must_not = EXPECTED[name]

    run: Run = run_program(config, stack=stack)

    assert must <= run.types, must - run.types
    assert not run.types & must_not, run.types & must_not
    assert run.outputs["indexUrl"].endswith("/simple/")
    assert set(outputs) <= set(run.outputs), set(outputs) - set(run.outputs)


def test_the_s3_only_recipe_is_the_example_production_stack_with_its_own_project():
    stack, config, _ = stack_config(recipes()["s3-only"])

    assert stack == "production"
    assert config == {
        "aws:region": "us-east-1",
        "projectName": "acme",
        "environment": "production",
    }


def test_the_adopt_recipe_imports_the_templates_bucket_and_user_and_keeps_them(run_program):
    stack, config, _ = stack_config(recipes()["adopt"])

    run = run_program(config, stack=stack)

    assert run.one("aws:s3/bucket:Bucket").import_id == "my-company-pypi-production"
    assert run.one(USER).import_id == "my-company-pypi-deployer-production"
    assert run.one("aws:s3/bucket:Bucket").retain_on_delete and run.one(USER).retain_on_delete


def test_moving_from_cloudformation_retains_all_the_templates_resources():
    (block,) = RETAIN.findall(page("how-to/migrate.md"))

    resources = yaml.safe_load(textwrap.dedent(block))["Resources"]
    assert {name: resource["DeletionPolicy"] for name, resource in resources.items()} == {
        name: "Retain" for name in TEMPLATE_RESOURCES
    }
