"""The deployed Pulumi stack, as the tasks see it: `invoke env` and `invoke rotate-keys`.

Both drive the `pulumi` CLI and never import the Pulumi SDK, which the publish
environment does not install.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from private_pypi.contract import (
    BUCKET_NAME_OUTPUT,
    DEPLOYMENT_USER_OUTPUT,
    DISTRIBUTION_ID_OUTPUT,
    DISTRIBUTION_ID_VARIABLE,
    KEY_ROTATION_SETTING,
    PUBLISH_ROLE_ARN_OUTPUT,
    REGION_OUTPUT,
    ROLE_ARN_VARIABLE,
    SEED_BUCKET_VARIABLE,
)
from private_pypi.errors import PrivatePypiError

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Shell variable <- stack output, as the seed's infrastructure/config.sh had them, plus the
# distribution the publish task invalidates. Never the access key: the secret stays in Pulumi.
# With publishWith oidc there is no deployer user, only the role CI assumes.
REQUIRED_EXPORTS = {
    SEED_BUCKET_VARIABLE: BUCKET_NAME_OUTPUT,
    "AWS_REGION": REGION_OUTPUT,
}
OPTIONAL_EXPORTS = {
    "DEPLOYMENT_USER": DEPLOYMENT_USER_OUTPUT,
    ROLE_ARN_VARIABLE: PUBLISH_ROLE_ARN_OUTPUT,
    DISTRIBUTION_ID_VARIABLE: DISTRIBUTION_ID_OUTPUT,
}


class StackError(PrivatePypiError):
    """The pulumi CLI is missing or failed, or the stack lacks the outputs asked for."""


def stack_outputs(stack: str | None = None, project_dir: Path = PROJECT_DIR) -> dict[str, object]:
    """`pulumi stack output --json` of the given (default: the selected) stack."""
    result = _pulumi(["stack", "output", "--json"], stack, project_dir)
    try:
        outputs = json.loads(result.stdout or "{}")
    except json.JSONDecodeError as error:
        raise StackError(
            f"`pulumi stack output --json` printed something not JSON: {error}"
        ) from error
    if not isinstance(outputs, dict) or not outputs:
        raise StackError(
            f"{_describe(stack)} has no outputs: deploy it first with `pulumi up`"
            f"{f' --stack {stack}' if stack else ''}"
        )
    # A JSON object's keys are strings.
    return cast("dict[str, object]", outputs)


def config_exports(outputs: Mapping[str, object]) -> str:
    """Shell lines exporting the stack's settings, for `eval "$(invoke env)"`."""
    missing = [output for output in REQUIRED_EXPORTS.values() if outputs.get(output) is None]
    if missing:
        raise StackError(
            f"the stack has no {', '.join(missing)} output: update it with `pulumi up`"
        )
    exports = {variable: outputs[output] for variable, output in REQUIRED_EXPORTS.items()}
    exports |= {
        variable: outputs[output]
        for variable, output in OPTIONAL_EXPORTS.items()
        if outputs.get(output) is not None
    }
    return "".join(
        f"export {variable}={shlex.quote(str(value))}\n" for variable, value in exports.items()
    )


def rotate_keys(
    stack: str | None = None, now: datetime | None = None, project_dir: Path = PROJECT_DIR
) -> str:
    """Replace the deployer's access key now; returns the new rotation token.

    Setting keyRotation changes the key's replacement trigger, so `pulumi up` creates a new
    key, updates the GitHub secrets, then deletes the old key.
    """
    token = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _pulumi(["config", "set", KEY_ROTATION_SETTING, token], stack, project_dir)
    _pulumi(["up", "--yes"], stack, project_dir, show_output=True)
    return token


def _pulumi(
    args: list[str], stack: str | None, project_dir: Path, *, show_output: bool = False
) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("pulumi")
    if executable is None:
        raise StackError(
            "the pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/) "
            "and log in to the backend that holds the stack"
        )
    command = [*args, *(["--stack", stack] if stack else [])]
    result = subprocess.run(
        [executable, *command],
        cwd=project_dir,
        stdin=subprocess.DEVNULL,
        capture_output=not show_output,
        text=True,
    )
    if result.returncode != 0:
        reason = (result.stderr or "").strip().splitlines()
        raise StackError(
            f"`pulumi {shlex.join(command)}` failed"
            f"{f': {reason[-1]}' if reason else f' with exit code {result.returncode}'}"
        )
    return result


def _describe(stack: str | None) -> str:
    return f"stack {stack!r}" if stack else "the selected stack"
