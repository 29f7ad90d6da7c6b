"""`invoke env` and `invoke rotate-keys`, against a stand-in `pulumi` first on PATH."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from private_pypi.stack import StackError, config_exports, rotate_keys, stack_outputs

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# What `pulumi stack output --json` prints for a CDN stack (secrets shown only with
# --show-secrets; this sample has the secret in clear to prove it is never exported).
OUTPUTS = {
    "bucketName": "acme-pypi-production",
    "bucketUrl": "s3://acme-pypi-production",
    "region": "us-east-1",
    "indexUrl": "https://packages.acme.dev/simple/",
    "deploymentUserName": "acme-pypi-deployer-production",
    "deploymentUserArn": "arn:aws:iam::123456789012:user/acme-pypi-deployer-production",
    "distributionId": "E2QWRUHEXAMPLE",
    "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
    "accessKeySecret": SECRET,
}


class FakePulumi:
    """A `pulumi` script that logs its arguments and prints the stack outputs it was given."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.log = directory / "calls.log"
        self.outputs = directory / "outputs.json"
        self.exit_code = directory / "exit_code"
        script = directory / "pulumi"
        script.write_text(
            textwrap.dedent(
                f"""\
                #!/bin/sh
                echo "$@" >> {shlex.quote(str(self.log))}
                code=$(cat {shlex.quote(str(self.exit_code))} 2>/dev/null || echo 0)
                if [ "$code" != 0 ]; then echo "error: no stack named 'nope'" >&2; exit "$code"; fi
                if [ "$1 $2" = "stack output" ]; then cat {shlex.quote(str(self.outputs))}; fi
                """
            )
        )
        script.chmod(0o755)
        self.respond(OUTPUTS)
        monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")

    def respond(self, outputs: object) -> None:
        self.outputs.write_text(json.dumps(outputs))

    def fail(self) -> None:
        self.exit_code.write_text("255")

    @property
    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    return FakePulumi(tmp_path, monkeypatch)


def test_env_exports_what_config_sh_did_and_no_credential():
    exports = config_exports(OUTPUTS)

    assert exports == (
        "export S3_PYPI_BUCKET=acme-pypi-production\n"
        "export AWS_REGION=us-east-1\n"
        "export DEPLOYMENT_USER=acme-pypi-deployer-production\n"
        "export AWS_PYPI_DISTRIBUTION_ID=E2QWRUHEXAMPLE\n"
    )
    assert SECRET not in exports and "AKIA" not in exports


def test_env_is_shell_quoted_and_sources_cleanly():
    hostile = {**OUTPUTS, "bucketName": "a b$(echo pwned)'"}
    del hostile["distributionId"]

    exports = config_exports(hostile)
    result = subprocess.run(
        ["sh", "-c", f'{exports}printf %s "$S3_PYPI_BUCKET"'],
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout == "a b$(echo pwned)'"
    assert "AWS_PYPI_DISTRIBUTION_ID" not in exports


def test_env_names_an_output_the_stack_lacks():
    with pytest.raises(StackError, match="no region output: update it with `pulumi up`"):
        config_exports({key: value for key, value in OUTPUTS.items() if key != "region"})


def test_outputs_come_from_the_named_stack(pulumi: FakePulumi, tmp_path: Path):
    assert stack_outputs("production", project_dir=tmp_path) == OUTPUTS
    assert pulumi.calls == ["stack output --json --stack production"]


def test_a_stack_without_outputs_says_to_deploy_it(pulumi: FakePulumi, tmp_path: Path):
    pulumi.respond({})

    with pytest.raises(StackError, match=r"the selected stack has no outputs: .*`pulumi up`"):
        stack_outputs(project_dir=tmp_path)


def test_a_failing_pulumi_reports_its_error(pulumi: FakePulumi, tmp_path: Path):
    pulumi.fail()

    with pytest.raises(
        StackError, match=r"pulumi stack output --json --stack nope.*no stack named"
    ):
        stack_outputs("nope", project_dir=tmp_path)


def test_a_missing_pulumi_cli_says_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(StackError, match="pulumi CLI is not on PATH: install it"):
        stack_outputs(project_dir=tmp_path)


def test_rotate_keys_sets_a_new_token_then_updates_the_stack(pulumi: FakePulumi, tmp_path):
    now = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)

    token = rotate_keys("production", now=now, project_dir=tmp_path)

    assert token == "2025-06-01T12:30:00Z"
    assert pulumi.calls == [
        "config set keyRotation 2025-06-01T12:30:00Z --stack production",
        "up --yes --stack production",
    ]


def test_rotate_keys_uses_the_selected_stack_by_default(pulumi: FakePulumi, tmp_path):
    rotate_keys(project_dir=tmp_path)

    assert [call.split()[:2] for call in pulumi.calls] == [["config", "set"], ["up", "--yes"]]
    assert not any("--stack" in call for call in pulumi.calls)


def test_rotate_keys_stops_if_the_token_cannot_be_set(pulumi: FakePulumi, tmp_path):
    pulumi.fail()

    with pytest.raises(StackError, match="pulumi config set keyRotation"):
        rotate_keys("nope", project_dir=tmp_path)
    assert len(pulumi.calls) == 1


def test_env_of_an_oidc_stack_names_the_role_and_no_user():
    outputs = {
        key: value
        for key, value in OUTPUTS.items()
        if key not in {"deploymentUserName", "deploymentUserArn", "accessKeyId", "accessKeySecret"}
    }
    outputs["publishRoleArn"] = "arn:aws:iam::123456789012:role/acme-pypi-publisher-production"

    exports = config_exports(outputs)

    assert "DEPLOYMENT_USER" not in exports
    assert (
        "export AWS_PYPI_ROLE_ARN=arn:aws:iam::123456789012:role/acme-pypi-publisher-production\n"
        in exports
    )
