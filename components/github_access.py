"""The GitHub provider that writes Actions secrets, and the token it writes them with.

An explicit provider reads no stack config, so `pulumi config set --secret github:token`
reaches it only if the program passes it on: the token is `github:token`, else the
GITHUB_TOKEN environment variable. It needs Secrets read and write on the repository (a
fine-grained token), or the `repo` scope (a classic token).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pulumi
import pulumi_github as github

from components.settings import GitHubRepository, InvalidSetting

TOKEN_VARIABLE = "GITHUB_TOKEN"


def github_token() -> pulumi.Output[str]:
    """The token for writing Actions secrets, as a Pulumi secret; InvalidSetting if none."""
    configured = pulumi.Config("github").get_secret("token")
    if configured is not None:
        return pulumi.Output.secret(configured)
    from_environment = os.environ.get(TOKEN_VARIABLE, "").strip()
    if from_environment:
        return pulumi.Output.secret(from_environment)
    raise InvalidSetting(
        "github:token",
        f"is not set and {TOKEN_VARIABLE} is empty, so the Actions secrets cannot be written",
        "Run `pulumi config set --secret github:token` with a token that may write the "
        "repository's secrets (fine-grained: Secrets read and write; classic: repo), "
        "or `pulumi config rm githubRepository` to set them by hand",
    )


def github_provider(name: str, owner: str, parent: pulumi.Resource) -> github.Provider:
    """A provider for `owner`'s repositories, authenticated with github_token()."""
    return github.Provider(
        name, owner=owner, token=github_token(), opts=pulumi.ResourceOptions(parent=parent)
    )


def write_actions_secrets(
    name: str,
    repository: GitHubRepository,
    secrets: dict[str, pulumi.Input[str]],
    parent: pulumi.Resource,
    after: Sequence[pulumi.Resource] = (),
) -> None:
    """Set `secrets` in the repository's Actions secrets, as children of `parent`, once
    the resources `after` are in place."""
    provider = github_provider(f"{name}-github", repository.owner, parent=parent)
    for secret_name, value in secrets.items():
        github.ActionsSecret(
            f"{name}-{secret_name.lower().replace('_', '-')}",
            repository=repository.name,
            secret_name=secret_name,
            value=value,
            # Should a provider version replace a secret rather than update it, the new one
            # must not be created first: deleting the old one would delete it too.
            opts=pulumi.ResourceOptions(
                parent=parent,
                provider=provider,
                delete_before_replace=True,
                depends_on=list(after),
            ),
        )
