"""The documentation site builds strictly, and its reference leaves nothing out.

The site is built as `uv run invoke docs` builds it (`mkdocs build --strict`): a broken link,
a missing anchor, a page left out of the navigation or any other warning fails. The
reference is then read as a visitor reads it, from the built pages: every command, flag
and environment variable of `private-pypi`, every stack setting, output and GitHub
secret, and every input and output of the Action must be there.
"""

from __future__ import annotations

import ast
import html
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner
from packaging.utils import canonicalize_name

from private_pypi import contract
from private_pypi.cli import app
from private_pypi.index import Index
from private_pypi.pages import ProjectStatus
from private_pypi.publish import Publisher, inspect_all
from private_pypi.storage import LocalStorage
from tests.documentation import DOCS, README, ROOT, pages, recipes
from tests.factory import wheel
from tests.infra.test_docs_recipes import EXPECTED as DEPLOY_RECIPES
from tests.infra.test_project_files import PINNED

# Internal bookkeeping a reader can't see: issue numbers, and names for what the project
# replaced other than what it is (the CloudFormation template and scripts).
UNSPEAKABLE = re.compile(r"\bissue \d|\bissue #|\bstop \d|\bthe seed\b|\bseed's\b", re.I)


# Recipes of the installed command, run as written against a local directory repository
# (tests/infra/test_docs_recipes.py runs the deploy recipes under Pulumi's mocks).
COMMAND_RECIPES = {"status"}


def test_every_recipe_is_run() -> None:
    assert set(recipes()) == set(DEPLOY_RECIPES) | COMMAND_RECIPES


def run_as_written(recipe: str, repository: Path) -> None:
    """Each line of a recipe, `private-pypi …` as typed, against `repository`."""
    for line in recipe.splitlines():
        words = shlex.split(line, comments=True)
        assert words[0] == "private-pypi", line
        result = CliRunner().invoke(
            app, words[1:], env={contract.REPOSITORY_VARIABLE: str(repository)}
        )
        assert result.exit_code == 0, (line, result.output)


def test_the_status_recipe_runs_as_written(tmp_path: Path) -> None:
    index = Index(LocalStorage(tmp_path / "repository"))
    for project in ("acme-hello", "acme-old", "acme-bad"):
        Publisher(index).publish(inspect_all([wheel(tmp_path, project, "1.0")]))

    run_as_written(recipes()["status"], tmp_path / "repository")

    statuses = {}
    for project in ("acme-hello", "acme-old", "acme-bad"):
        page = index.project(canonicalize_name(project))
        assert page is not None
        statuses[project] = (page.status, page.status_reason)
    assert statuses == {
        "acme-hello": (ProjectStatus.DEPRECATED, "use acme-hi"),
        "acme-old": (ProjectStatus.ARCHIVED, "no longer maintained"),
        "acme-bad": (ProjectStatus.ACTIVE, None),  # quarantined, then lifted
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(built)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    return built


def text_of(site: Path, page: str) -> str:
    """A built page's text as a visitor reads it: no tags, one space between words."""
    markup = (site / page / "index.html").read_text(encoding="utf-8")
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def commands() -> dict[str, click.Command]:
    assert isinstance(app, click.Group)
    return dict(app.commands)


def test_the_command_reference_has_every_command_flag_and_variable(site: Path) -> None:
    reference = text_of(site, "reference/cli")
    variables = text_of(site, "reference/environment")
    for name, command in commands().items():
        assert f"Usage: private-pypi {name} " in reference, name
        for parameter in command.params:
            if isinstance(parameter, click.Option):
                for flag in parameter.opts:
                    assert re.search(rf"(^|[\s,]){re.escape(flag)}[\s,]", reference), (name, flag)
                assert f"env var: {parameter.envvar}" in reference, parameter.envvar
                assert str(parameter.envvar) in variables, parameter.envvar
    for status in ("0 done", "1 an error of ours", "2 a usage error", "130 interrupted"):
        assert status in reference, status


def test_every_variable_the_library_reads_is_documented(site: Path) -> None:
    variables = text_of(site, "reference/environment")
    named = {
        value
        for name, value in vars(contract).items()
        if name.endswith("_VARIABLE") and isinstance(value, str)
    }
    assert named
    for variable in named:
        assert variable in variables, variable


def exported_outputs() -> set[str]:
    """Every `pulumi.export(NAME, …)` of the program, a contract constant or a literal."""
    tree = ast.parse((ROOT / "__main__.py").read_text(encoding="utf-8"))
    outputs: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "export":
            first = node.args[0]
            if isinstance(first, ast.Constant):
                outputs.add(str(first.value))
            else:
                assert isinstance(first, ast.Name)
                outputs.add(getattr(contract, first.id))
    return outputs


def read_settings() -> set[str]:
    """Every key components/settings.py reads from the stack's config."""
    source = (ROOT / "components" / "settings.py").read_text(encoding="utf-8")
    return set(re.findall(r"config\.\w+\(\s*\"([\w:]+)\"", source)) | set(
        re.findall(r"_(?:optional|required)\(config, \"(\w+)\"\)", source)
    )


def test_the_stack_reference_has_every_setting_output_and_secret(site: Path) -> None:
    reference = text_of(site, "reference/stack")
    declared = set(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"])
    assert read_settings() - {"readers"} <= declared, read_settings() - declared
    for key in declared | {"readers"}:
        assert key in reference, key
    outputs = exported_outputs()
    assert {"indexUrl", "readerTokens", "githubSecretsByHand"} <= outputs
    for output in outputs:
        assert f" {output} " in reference, output
    for secret in (
        contract.BUCKET_VARIABLE,
        contract.REGION_VARIABLE,
        contract.ACCESS_KEY_ID_VARIABLE,
        contract.SECRET_ACCESS_KEY_VARIABLE,
        contract.ROLE_ARN_VARIABLE,
        contract.DISTRIBUTION_ID_VARIABLE,
        contract.READER_INDEX_URL_VARIABLE,
        contract.READER_USERNAME_VARIABLE,
        contract.READER_TOKEN_VARIABLE,
    ):
        assert secret in reference, secret


def test_the_action_reference_has_every_input_and_output(site: Path) -> None:
    reference = text_of(site, "reference/github-action")
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for name in [*action["inputs"], *action["outputs"]]:
        assert f" {name} " in reference, name


def test_the_readme_is_a_front_door_whose_links_all_land() -> None:
    readme = README.read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    links = re.findall(r"\]\(((?:docs/)[^)#\s]*)(?:#[^)]*)?\)", readme)
    assert len(links) > 20
    for link in links:
        assert (ROOT / link).exists(), link
    # Each of the four things a newcomer comes for is a heading of its own.
    for heading in ("Deploy", "Publish from CI", "Install with pip and uv", "Make it private"):
        assert re.search(rf"^### \d\. {heading}", readme, re.M), heading
    assert "public unless you make it private" in readme.split("## ", 1)[0]


def test_nothing_speaks_of_internal_bookkeeping() -> None:
    texts = {"README.md": README.read_text(encoding="utf-8"), **pages()}
    for name, text in texts.items():
        assert not UNSPEAKABLE.search(text), (name, UNSPEAKABLE.search(text))


def test_every_page_is_markdown_the_site_builds() -> None:
    """Nothing under docs/ but pages, their images, and the build's hooks."""
    others = {
        str(path.relative_to(DOCS))
        for path in DOCS.rglob("*")
        if path.is_file() and path.suffix not in {".md", ".png"} and "__pycache__" not in path.parts
    }
    assert others == {"hooks.py"}


# The actions that publish the site, pinned as the rest are: a commit, its release beside it.
PAGES_PINNED = {
    "actions/configure-pages": ("983d7736d9b0ae728b81ab479565c72886d7745b", "v5.0.0"),
    "actions/upload-pages-artifact": ("fc324d3547104276b827a68afc52ff2a11cc49c9", "v5.0.0"),
    "actions/deploy-pages": ("cd2ce8fcbc39b97be8ca5fce6e763baed58fa128", "v5.0.0"),
}
USES = re.compile(r"^\s*-?\s*uses: ([\w./-]+)@(\S+)(?: # (\S+))?", re.M)


def test_the_docs_workflow_builds_strictly_and_publishes_on_a_tag_with_pinned_actions() -> None:
    text = (ROOT / ".github" / "workflows" / "docs.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    assert workflow[True]["push"]["tags"] == ["v*"]  # YAML 1.1 reads the key `on` as True
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert any("invoke docs" in step.get("run", "") for step in build["steps"])
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    uses = USES.findall(text)
    assert {action for action, _, _ in uses} == {"actions/checkout", "astral-sh/setup-uv"} | set(
        PAGES_PINNED
    )
    for action, sha, release in uses:
        assert (sha, release) == {**PINNED, **PAGES_PINNED}[action], action


def test_every_workflow_the_docs_show_is_whole_and_pins_its_actions_to_a_commit() -> None:
    """A workflow to copy says when it runs, builds from a full clone (each package's last
    commit dates its build), and pins every action it uses."""
    texts = {"README.md": README.read_text(encoding="utf-8"), **pages()}
    shown = 0
    for name, text in texts.items():
        for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
            workflow = yaml.safe_load(block)
            if isinstance(workflow, dict) and "jobs" in workflow:
                assert True in workflow, (name, "no on:")  # YAML 1.1 reads `on` as True
                for job in workflow["jobs"].values():
                    steps = job["steps"]
                    if any(step.get("uses", "").startswith("OWNER/REPO@") for step in steps):
                        (checkout,) = [s for s in steps if "actions/checkout@" in s.get("uses", "")]
                        assert checkout["with"]["fetch-depth"] == 0, name
            for action, ref, release in USES.findall(block):
                shown += 1
                assert re.fullmatch(r"[0-9a-f]{40}", ref) and release, (name, action, ref)
                if action in PINNED:
                    assert (ref, release) == PINNED[action], (name, action)
    assert shown > 10
