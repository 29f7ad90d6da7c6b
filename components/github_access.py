"""The GitHub provider that writes Actions secrets, and the token it writes them with.

An explicit provider reads no stack config, so `pulumi config set --secret github:token`
reaches it only if the program passes it on: the token is `github:token`, else the
GITHUB_TOKEN environment variable. It needs Secrets read and write on the repository (a
fine-grained token), or the `repo` scope (a classic token).
"""

from __future__ import annotations

import os

import pulumi
import pulumi_github as github

from components.settings import InvalidSetting

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
