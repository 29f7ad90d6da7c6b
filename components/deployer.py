"""Who CI publishes as, and the GitHub secrets that say so.

Access-key mode (the default): an IAM user with a rotating access key. The key's
replacement trigger is its creation time, kept by a KeyClock (key_clock.py), which is
replaced `every_days` after it or when the rotation token changes. Pulumi creates the new
key, then updates the GitHub secrets (they read the new key), then deletes the old key,
all in one `pulumi up`. IAM allows two keys per user, and for that moment the user holds
both, so a key added by hand makes the rotation fail at CreateAccessKey, before anything
changed.

OIDC mode: no user and no key. A role that only GitHub Actions runs of one repository (and
optionally one ref) may assume through the account's OIDC provider for GitHub.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.component import Component
from components.github_access import write_actions_secrets
from components.key_clock import KeyClock
from components.policies import deployer_policy, github_oidc_trust_policy
from components.settings import (
    GITHUB_OIDC_AUDIENCE,
    GITHUB_OIDC_HOST,
    GitHubRepository,
    KeyRotation,
    OidcPublishing,
)
from private_pypi.contract import (
    ACCESS_KEY_ID_OUTPUT,
    ACCESS_KEY_ID_VARIABLE,
    BUCKET_VARIABLE,
    DISTRIBUTION_ID_VARIABLE,
    REGION_VARIABLE,
    ROLE_ARN_VARIABLE,
    SECRET_ACCESS_KEY_OUTPUT,
    SECRET_ACCESS_KEY_VARIABLE,
)


@dataclass(frozen=True)
class CdnRef:
    """The CloudFront distribution the deployer invalidates: its id and its ARN."""

    id: pulumi.Input[str]
    arn: pulumi.Input[str]


@dataclass(frozen=True)
class DeployerArgs:
    user_name: str
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    region: str
    key_rotation: KeyRotation
    cdn: CdnRef | None = None
    github_repository: GitHubRepository | None = None
    # OIDC mode when set: a role instead of the user and its key.
    oidc: OidcPublishing | None = None
    # Import the user of this name (the seed's deployer) instead of creating it, and keep it
    # on `pulumi destroy`.
    adopt_user: bool = False


class Deployer(Component[DeployerArgs]):
    TYPE = "private-pypi:index:Deployer"
    user: aws.iam.User | None
    role: aws.iam.Role | None
    access_key: aws.iam.AccessKey | None
    key_clock: KeyClock | None
    access_key_id: pulumi.Output[str] | None
    secret_access_key: pulumi.Output[str] | None
    github_secrets: dict[str, pulumi.Input[str]]

    def declare(self, name: str, args: DeployerArgs) -> Mapping[str, Any]:
        cdn = args.cdn
        policy = pulumi.Output.all(args.bucket_arn, cdn.arn if cdn else None).apply(
            lambda arns: json.dumps(deployer_policy(arns[0], arns[1]))
        )

        self.user = self.role = self.access_key = self.key_clock = None
        self.access_key_id = self.secret_access_key = None
        if args.oidc is None:
            key_id, secret = self._user_with_key(name, args, policy)
            credentials: dict[str, pulumi.Input[str]] = {
                ACCESS_KEY_ID_VARIABLE: key_id,
                SECRET_ACCESS_KEY_VARIABLE: secret,
            }
        else:
            self.role = self._role(name, args.oidc, policy)
            credentials = {ROLE_ARN_VARIABLE: self.role.arn}

        self.github_secrets = {
            **credentials,
            REGION_VARIABLE: args.region,
            BUCKET_VARIABLE: args.bucket_name,
        }
        if cdn is not None:
            self.github_secrets[DISTRIBUTION_ID_VARIABLE] = cdn.id
        if args.github_repository is not None:
            write_actions_secrets(name, args.github_repository, self.github_secrets, parent=self)
        return {
            "userName": self.user.name if self.user else None,
            "roleArn": self.role.arn if self.role else None,
            "accessKeyId": self.access_key_id,
            "secretAccessKey": self.secret_access_key,
        }

    def _user_with_key(
        self, name: str, args: DeployerArgs, policy: pulumi.Output[str]
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The user, its policy and its rotating key; returns the key's id and secret."""
        child = self.child_options
        self.user = aws.iam.User(
            f"{name}-user",
            name=args.user_name,
            opts=pulumi.ResourceOptions(
                parent=self,
                import_=args.user_name if args.adopt_user else None,
                retain_on_delete=args.adopt_user,
            ),
        )
        aws.iam.UserPolicy(f"{name}-policy", user=self.user.name, policy=policy, opts=child)
        self.key_clock = KeyClock(
            f"{name}-key-clock",
            every_days=args.key_rotation.every_days,
            token=args.key_rotation.token,
            opts=child,
        )
        self.access_key = aws.iam.AccessKey(
            f"{name}-access-key",
            user=self.user.name,
            opts=pulumi.ResourceOptions(
                parent=self,
                replacement_trigger=self.key_clock.created_at,
                # A replacement trigger is not an input: without this, the engine would not
                # know the key needs its clock (for ordering, destroy, --target).
                depends_on=[self.key_clock],
                additional_secret_outputs=["secret"],
            ),
        )
        key_id, secret = self.access_key.id, pulumi.Output.secret(self.access_key.secret)
        self.access_key_id, self.secret_access_key = key_id, secret
        return key_id, secret

    def _role(self, name: str, oidc: OidcPublishing, policy: pulumi.Output[str]) -> aws.iam.Role:
        child = self.child_options
        provider_arn: pulumi.Input[str]
        if oidc.provider_arn is not None:
            provider_arn = oidc.provider_arn
        else:
            provider_arn = aws.iam.OpenIdConnectProvider(
                f"{name}-github-oidc",
                url=f"https://{GITHUB_OIDC_HOST}",
                client_id_lists=[GITHUB_OIDC_AUDIENCE],
                opts=child,
            ).arn
        role = aws.iam.Role(
            f"{name}-role",
            name=oidc.role_name,
            description=f"GitHub Actions of {oidc.repository} publishing packages",
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: json.dumps(github_oidc_trust_policy(arn, oidc.subject))
            ),
            opts=child,
        )
        aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=child)
        return role

    def secrets_by_hand(self) -> pulumi.Output[str]:
        """How to set the GitHub secrets without githubRepository: `gh` commands, no secret.

        Only access-key mode gets here: OIDC mode needs githubRepository (settings.py)."""
        from_outputs = {
            ACCESS_KEY_ID_VARIABLE: f"pulumi stack output {ACCESS_KEY_ID_OUTPUT}",
            SECRET_ACCESS_KEY_VARIABLE: (
                f"pulumi stack output --show-secrets {SECRET_ACCESS_KEY_OUTPUT}"
            ),
        }
        plain_values = {
            name: value for name, value in self.github_secrets.items() if name not in from_outputs
        }

        def instructions(values: dict[str, str]) -> str:
            commands = [
                f'gh secret set {name} --body "$({command})"'
                for name, command in from_outputs.items()
            ] + [f"gh secret set {name} --body {value}" for name, value in values.items()]
            return (
                "Set these GitHub Actions secrets in the publishing repository "
                "(or `pulumi config set githubRepository owner/name` and `pulumi up` "
                "to have Pulumi set and rotate them): " + "; ".join(commands)
            )

        return pulumi.Output.all(**plain_values).apply(instructions)
