"""Who may read a private index: a token per reader, their hashes at the edge, their secrets.

Each reader's token is a RandomPassword: stateful, so it survives `pulumi up`, and replaced
exactly when its keeper changes: the creation time kept by the readers' own KeyClock, so
tokens rotate on the deployer key's schedule (`keyRotationDays`, `keyRotation`).
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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.component import Component
from components.github_access import write_actions_secrets
from components.key_clock import KeyClock
from components.settings import GitHubRepository, KeyRotation, Reader
from private_pypi.contract import (
    READER_INDEX_URL_VARIABLE,
    READER_TOKEN_VARIABLE,
    READER_USERNAME_VARIABLE,
)

# 32 of [A-Za-z0-9]: log2(62) * 32 ≈ 190 bits, and nothing a URL, .netrc or shell escapes.
TOKEN_LENGTH = 32


def token_digest(token: str) -> str:
    """What the edge stores for a token: its sha256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IndexReadersArgs:
    # The store's name: unique in the account, at most 64 of [A-Za-z0-9_-].
    store_name: str
    readers: tuple[Reader, ...]
    # The URL readers install from; usually deferred, since the distribution needs the store.
    index_url: pulumi.Input[str]
    key_rotation: KeyRotation


class IndexReaders(Component[IndexReadersArgs]):
    TYPE = "private-pypi:index:IndexReaders"
    store: aws.cloudfront.KeyValueStore
    tokens: dict[str, pulumi.Output[str]]

    def declare(self, name: str, args: IndexReadersArgs) -> Mapping[str, Any]:
        child = self.child_options

        self.store = aws.cloudfront.KeyValueStore(
            f"{name}-store",
            name=args.store_name,
            comment="sha256 of each private-pypi reader's token, by reader name",
            opts=child,
        )
        clock = KeyClock(
            f"{name}-token-clock",
            every_days=args.key_rotation.every_days,
            token=args.key_rotation.token,
            opts=child,
        )
        self.tokens = {}
        for reader in args.readers:
            password = random.RandomPassword(
                f"{name}-{reader.name}-token",
                length=TOKEN_LENGTH,
                special=False,
                # An input, unlike the key's replacement trigger: the engine knows the
                # token needs its clock without depends_on.
                keepers={"created": clock.created_at},
                opts=child,
            )
            self.tokens[reader.name] = pulumi.Output.secret(password.result)
        # Exclusive: a key added by hand, or a removed reader's, is deleted at the next update.
        keys = aws.cloudfront.KeyvaluestoreKeysExclusive(
            f"{name}-keys",
            key_value_store_arn=self.store.arn,
            resource_key_value_pairs=[
                {"key": reader, "value": token.apply(token_digest)}
                for reader, token in self.tokens.items()
            ],
            opts=child,
        )
        # A reader's secrets change only once the edge has its token: should writing the
        # keys fail (docs/how-to/private-reads.md: temporary credentials), the old tokens
        # still work.
        for reader in args.readers:
            if reader.github_repository is not None:
                self._publish_to_github(
                    f"{name}-{reader.name}", reader, reader.github_repository, args.index_url, keys
                )
        return {"storeArn": self.store.arn, "readers": list(self.tokens)}

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
        keys: pulumi.Resource,
    ) -> None:
        secrets: dict[str, pulumi.Input[str]] = {
            READER_INDEX_URL_VARIABLE: index_url,
            READER_USERNAME_VARIABLE: reader.name,
            READER_TOKEN_VARIABLE: self.tokens[reader.name],
        }
        write_actions_secrets(name, repository, secrets, parent=self, after=[keys])
