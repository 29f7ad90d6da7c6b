"""When the deployer's access key was created, kept in the stack's state, and when it is due.

A replacement trigger computed from the clock alone (`floor(days / N)`) counts from 1970:
the first rotation would come 0 to N days after the key, and changing N would rotate at
once. This resource remembers the key's creation time instead. Its diff, run by every
`pulumi preview` and `pulumi up`, asks for a replacement when `every_days` days have
passed since then (with the current `every_days`, so changing N moves the date without
rotating early), or when the rotation token changed. A replacement records a new creation
time, and the access key, whose replacement trigger is that time, is replaced with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pulumi.dynamic

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Schedule:
    """A key created at `created`, replaced `every_days` later or when `token` changes."""

    created: datetime
    every_days: int
    token: str

    @property
    def due(self) -> datetime:
        return self.created + timedelta(days=self.every_days)

    def replaced_by(self, every_days: int, token: str, now: datetime) -> bool:
        """Whether the next `pulumi up`, with these settings at `now`, replaces the key."""
        return token != self.token or now >= Schedule(self.created, every_days, token).due


class KeyClockProvider(pulumi.dynamic.ResourceProvider):
    def __init__(self, clock: Clock = utc_now) -> None:
        self.clock = clock

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        created = self.clock()
        return pulumi.dynamic.CreateResult(
            id_=uuid.uuid4().hex,
            outs={
                **props,
                **_schedule_outputs(Schedule(created, props["every_days"], props["token"])),
            },
        )

    def diff(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.DiffResult:
        schedule = Schedule(_parse(olds["created_at"]), olds["every_days"], olds["token"])
        replace = schedule.replaced_by(news["every_days"], news["token"], self.clock())
        changed = replace or news["every_days"] != olds["every_days"]
        return pulumi.dynamic.DiffResult(
            changes=changed, replaces=["created_at"] if replace else [], delete_before_replace=False
        )

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.UpdateResult:
        """A new every_days moves the due date; the key and its creation time stay."""
        schedule = Schedule(_parse(olds["created_at"]), news["every_days"], olds["token"])
        return pulumi.dynamic.UpdateResult(outs={**news, **_schedule_outputs(schedule)})


def _schedule_outputs(schedule: Schedule) -> dict[str, str]:
    return {"created_at": _format(schedule.created), "due_at": _format(schedule.due)}


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
            {"every_days": every_days, "token": token, "created_at": None, "due_at": None},
            opts,
        )
