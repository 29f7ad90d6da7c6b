"""The IAM user CI publishes with, its rotating access key, and the GitHub secrets holding it.

Rotation: the access key is replaced whenever `key_rotation_trigger` changes. Pulumi
creates the new key, then updates the GitHub secrets (they read the new key), then deletes
the old key, all in one `pulumi up`. IAM allows two keys per user, and for that moment the
user holds both, so a key added by hand makes the rotation fail at CreateAccessKey, before
anything changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from components.policies import deployer_policy
from components.settings import GitHubRepository

# The stack outputs that hold the key; the by-hand instructions point at them.
ACCESS_KEY_ID_OUTPUT = "accessKeyId"
SECRET_ACCESS_KEY_OUTPUT = "accessKeySecret"


@dataclass(frozen=True)
class Distribution:
    id: pulumi.Input[str]
    arn: pulumi.Input[str]


@dataclass(frozen=True)
class DeployerArgs:
    user_name: str
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    region: str
    key_rotation_trigger: str
    distribution: Distribution | None = None
    github_repository: GitHubRepository | None = None


class Deployer(pulumi.ComponentResource):
    user: aws.iam.User
    access_key: aws.iam.AccessKey
    access_key_id: pulumi.Output[str]
    secret_access_key: pulumi.Output[str]
    github_secrets: dict[str, pulumi.Input[str]]

    def __init__(
        self,
        name: str,
        args: DeployerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("private-pypi:index:Deployer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        distribution = args.distribution

        self.user = aws.iam.User(f"{name}-user", name=args.user_name, opts=child)
        aws.iam.UserPolicy(
            f"{name}-policy",
            user=self.user.name,
            policy=pulumi.Output.all(
                args.bucket_arn, distribution.arn if distribution else None
            ).apply(lambda arns: json.dumps(deployer_policy(arns[0], arns[1]))),
            opts=child,
        )
        self.access_key = aws.iam.AccessKey(
            f"{name}-access-key",
            user=self.user.name,
            opts=pulumi.ResourceOptions(
                parent=self,
                replacement_trigger=args.key_rotation_trigger,
                additional_secret_outputs=["secret"],
            ),
        )
        self.access_key_id = self.access_key.id
        self.secret_access_key = pulumi.Output.secret(self.access_key.secret)

        self.github_secrets = {
            "AWS_PYPI_ACCESS_KEY_ID": self.access_key_id,
            "AWS_PYPI_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_PYPI_REGION": args.region,
            "AWS_PYPI_BUCKET": args.bucket_name,
        }
        if distribution is not None:
            self.github_secrets["AWS_PYPI_DISTRIBUTION_ID"] = distribution.id
        if args.github_repository is not None:
            self._publish_to_github(name, args.github_repository)

        self.register_outputs(
            {
                "userName": self.user.name,
                "userArn": self.user.arn,
                "accessKeyId": self.access_key_id,
                "secretAccessKey": self.secret_access_key,
            }
        )

    def secrets_by_hand(self) -> pulumi.Output[str]:
        """How to set the GitHub secrets without githubRepository: `gh` commands, no secret."""
        from_outputs = {
            "AWS_PYPI_ACCESS_KEY_ID": f"pulumi stack output {ACCESS_KEY_ID_OUTPUT}",
            "AWS_PYPI_SECRET_ACCESS_KEY": (
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

    def _publish_to_github(self, name: str, repository: GitHubRepository) -> None:
        provider = github.Provider(
            f"{name}-github", owner=repository.owner, opts=pulumi.ResourceOptions(parent=self)
        )
        for secret_name, value in self.github_secrets.items():
            github.ActionsSecret(
                f"{name}-{secret_name.lower().replace('_', '-')}",
                repository=repository.name,
                secret_name=secret_name,
                value=value,
                opts=pulumi.ResourceOptions(parent=self, provider=provider),
            )
