"""When the deployer's access key was created, kept in the stack's state.

A replacement trigger computed from the clock alone (`floor(days / N)`) counts from 1970:
the first rotation would come 0 to N days after the key, and changing N would rotate at
once. This resource remembers the key's creation time instead. Its diff, run by every
`pulumi preview` and `pulumi up`, answers one of two things: no change, or a replacement,
when `every_days` days have passed since the creation time (with the current
`every_days`, so changing N moves the date without rotating early) or when the rotation
token changed. A replacement records a new creation time, and the access key, whose
replacement trigger is that time, is replaced with it.

The diff never answers with an update. A dynamic provider has no preview of its own, so
in a preview the engine gives an updated resource no outputs, and an unknown replacement
trigger counts as changed: the preview would show the key, every reader token and every
secret made from them replaced, while `pulumi up` replaced nothing (and `pulumi up --plan`
would refuse a plan saved by `pulumi preview --save-plan`). With no update, a preview sees
the state's own creation time whenever nothing is due. So the due date is not an output
either: the program derives it from the creation time and the current `every_days`
(`KeyClock.due_at`).

The state keeps this module by name. Pulumi pickles the provider into it when the clock is
created, and `pulumi destroy` (and every diff whose new provider is unknown) unpickles
that copy, which names `components.key_clock.KeyClockProvider` and its `clock`,
`components.key_clock.utc_now`. Moving or renaming any of them breaks existing stacks
(tests/infra/test_urns.py keeps an earlier version's pickle working).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pulumi.dynamic

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def due(created: datetime, every_days: int) -> datetime:
    """When a key created at `created` is due, rotated every `every_days` days."""
    return created + timedelta(days=every_days)


class KeyClockProvider(pulumi.dynamic.ResourceProvider):
    def __init__(self, clock: Clock = utc_now) -> None:
        self.clock = clock

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(
            id_=uuid.uuid4().hex, outs={**props, "created_at": format_moment(self.clock())}
        )

    def diff(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.DiffResult:
        """No change, or a replacement; never an update (see the module's docstring).

        `olds` are the state's outputs, kept as they were when the clock was created: only
        `created_at` and `token` are read from them, the period is the stack's own."""
        created = parse_moment(olds["created_at"])
        replace = news["token"] != olds["token"] or self.clock() >= due(created, news["every_days"])
        return pulumi.dynamic.DiffResult(
            changes=replace, replaces=["created_at"] if replace else [], delete_before_replace=False
        )


class KeyClock(pulumi.dynamic.Resource):
    """The creation time of the current access key, and when it is due for replacement."""

    created_at: pulumi.Output[str]
    due_at: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        every_days: int,
        token: str,
        opts: pulumi.ResourceOptions | None = None,
        provider: KeyClockProvider | None = None,
    ) -> None:
        super().__init__(
            provider or KeyClockProvider(),
            name,
            {"every_days": every_days, "token": token, "created_at": None},
            opts,
        )
        # From the next `pulumi up` on, the key is replaced at the first one on or after this.
        self.due_at = self.created_at.apply(
            lambda created: format_moment(due(parse_moment(created), every_days))
        )
