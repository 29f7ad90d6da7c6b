"""Who may read a private index: a token per reader, their hashes at the edge, their secrets.

Each reader's token is a RandomPassword: stateful, so it survives `pulumi up`, and replaced
exactly when its keepers change, the way the deployer's key rotates (`rotation_trigger`).
The KeyValueStore holds only sha256(token) in hex, keyed by the reader's name; the
viewer-request function hashes what a client sends and compares. The tokens themselves
are in the state (as secrets), in the `readerTokens` output, and in each reader's GitHub
repository, if it names one.

Why sha256 without salt or stretching: a token is 32 characters drawn from 62, about 190
bits, so no dictionary or brute force reaches it, and a salt or a slow hash defends only
guessable passwords. The function must also finish within CloudFront Functions' compute
budget (about a millisecond), where a slow hash cannot run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_github as github
import pulumi_random as random

from components.settings import GitHubRepository, Reader

# 32 of [A-Za-z0-9]: log2(62) * 32 ≈ 190 bits, and nothing a URL, .netrc or shell escapes.
TOKEN_LENGTH = 32
# The GitHub Actions secrets a reader's repository gets, named for what they hold.
INDEX_URL_SECRET = "PRIVATE_PYPI_INDEX_URL"
USERNAME_SECRET = "PRIVATE_PYPI_USERNAME"
TOKEN_SECRET = "PRIVATE_PYPI_TOKEN"


def token_digest(token: str) -> str:
    """What the edge stores for a token: its sha256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def github_provider(name: str, owner: str, parent: pulumi.Resource) -> github.Provider:
    """A GitHub provider for `owner`, authenticated by `github:token`, else GITHUB_TOKEN."""
    return github.Provider(
        name,
        owner=owner,
        token=pulumi.Config("github").get_secret("token"),
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass(frozen=True)
class IndexReadersArgs:
    # The store's name: unique in the account, at most 64 of [A-Za-z0-9_-].
    store_name: str
    readers: tuple[Reader, ...]
    # The URL readers install from; usually deferred, since the distribution needs the store.
    index_url: pulumi.Input[str]
    rotation_trigger: str


class IndexReaders(pulumi.ComponentResource):
    store: aws.cloudfront.KeyValueStore
    tokens: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        args: IndexReadersArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("private-pypi:index:IndexReaders", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.store = aws.cloudfront.KeyValueStore(
            f"{name}-store",
            name=args.store_name,
            comment="sha256 of each private-pypi reader's token, by reader name",
            opts=child,
        )
        self.tokens = {}
        for reader in args.readers:
            password = random.RandomPassword(
                f"{name}-{reader.name}-token",
                length=TOKEN_LENGTH,
                special=False,
                keepers={"rotation": args.rotation_trigger},
                opts=child,
            )
            self.tokens[reader.name] = pulumi.Output.secret(password.result)
            if reader.github_repository is not None:
                self._publish_to_github(
                    f"{name}-{reader.name}", reader, reader.github_repository, args.index_url
                )
        # Exclusive: a key added by hand, or a removed reader's, is deleted at the next update.
        aws.cloudfront.KeyvaluestoreKeysExclusive(
            f"{name}-keys",
            key_value_store_arn=self.store.arn,
            resource_key_value_pairs=[
                {"key": reader, "value": token.apply(token_digest)}
                for reader, token in self.tokens.items()
            ],
            opts=child,
        )
        self.register_outputs({"storeArn": self.store.arn, "readers": list(self.tokens)})

    @property
    def reader_tokens(self) -> pulumi.Output[dict[str, str]]:
        """Reader name -> token, one secret."""
        names = list(self.tokens)
        tokens = pulumi.Output.all(*self.tokens.values())
        return pulumi.Output.secret(
            tokens.apply(lambda values: dict(zip(names, values, strict=True)))
        )

    def _publish_to_github(
        self,
        name: str,
        reader: Reader,
        repository: GitHubRepository,
        index_url: pulumi.Input[str],
    ) -> None:
        provider = github_provider(f"{name}-github", repository.owner, self)
        secrets: dict[str, pulumi.Input[str]] = {
            INDEX_URL_SECRET: index_url,
            USERNAME_SECRET: reader.name,
            TOKEN_SECRET: self.tokens[reader.name],
        }
        for secret_name, value in secrets.items():
            github.ActionsSecret(
                f"{name}-{secret_name.lower().replace('_', '-')}",
                repository=repository.name,
                secret_name=secret_name,
                value=value,
                opts=pulumi.ResourceOptions(parent=self, provider=provider),
            )
