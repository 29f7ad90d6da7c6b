"""The scheduled mirror: the workflow that runs it, and what it needs installed."""

from __future__ import annotations

import re

import yaml

from tests.documentation import page
from tests.infra.test_project_files import PINNED, ROOT, SECRETS, load

WORKFLOW = ".github/workflows/mirror.yml"


def test_the_workflow_mirrors_the_lock_daily_and_when_it_changes_with_publishs_credentials():
    workflow = load(WORKFLOW)
    publish = load(".github/workflows/publish.yml")

    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"]
    assert triggers["push"]["paths"] == ["uv.lock"] and "workflow_dispatch" in triggers
    assert workflow["permissions"] == publish["permissions"]
    job = workflow["jobs"]["mirror"]
    assert job["env"] == publish["jobs"]["publish"]["env"]
    assume = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    published = publish["jobs"]["publish"]["steps"]
    assert assume == [s for s in published if "configure-aws-credentials" in s.get("uses", "")]
    mirror = job["steps"][-1]
    assert mirror["run"] == (
        "uv run --frozen --no-default-groups --extra mirror private-pypi mirror --from uv.lock"
    )
    assert mirror["env"] == {name: f"${{{{ secrets.{name} }}}}" for name in SECRETS}


def test_the_workflows_actions_are_pinned_to_publishs_commits():
    lines = (ROOT / WORKFLOW).read_text().splitlines()
    uses = [line.split("uses:", 1)[1].strip() for line in lines if "uses:" in line]
    assert len(uses) == 3
    for use in uses:
        action, _, rest = use.partition("@")
        sha, _, comment = rest.partition(" # ")
        assert (sha, comment) == PINNED[action], use


def test_the_documented_workflow_for_another_repository_runs_the_mirror_from_a_fork():
    (text,) = re.findall(r"```yaml\n(.*?)```", page("how-to/mirror.md"), re.S)
    workflow = yaml.safe_load(text)

    assert workflow[True]["push"]["paths"] == ["uv.lock"] and workflow[True]["schedule"]
    steps = workflow["jobs"]["mirror"]["steps"]
    for line in text.splitlines():
        if "uses:" in line:
            action, _, rest = line.split("uses:", 1)[1].strip().partition("@")
            assert tuple(rest.split(" # ")) == PINNED[action]
    (run,) = [step for step in steps if "run" in step]
    assert run["run"].startswith("uvx --from 'private-pypi-aws[mirror] @ git+https://github.com/")
    assert run["run"].endswith(" private-pypi mirror --from uv.lock")
    assert set(run["env"]) == set(SECRETS)
