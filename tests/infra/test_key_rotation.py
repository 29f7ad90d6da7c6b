"""keyRotationDays: the key is replaced N days after it was created, as the engine runs it.

The KeyClock's provider is driven as the engine drives a dynamic provider: `create` on the
first `pulumi up`, then `diff` on every later one, and `create` again (a replacement) when
the diff names `created_at`, or `update` when it reports a change without replacement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from components.key_clock import KeyClockProvider

START = datetime(2025, 1, 1, 9, 30, tzinfo=UTC)


@dataclass
class Stack:
    """A stack's KeyClock state across `pulumi up`s, with a clock the test moves."""

    now: datetime = START
    state: dict[str, Any] = field(default_factory=dict)
    keys_created: list[datetime] = field(default_factory=list)

    def provider(self) -> KeyClockProvider:
        return KeyClockProvider(clock=lambda: self.now)

    def up(self, *, every_days: int = 90, token: str = "") -> bool:
        """One `pulumi up`; whether it replaced the access key."""
        news = {"every_days": every_days, "token": token}
        provider = self.provider()
        if not self.state:
            self.state = provider.create(news).outs
            self.keys_created.append(self.now)
            return False
        diff = provider.diff("id", self.state, news)
        if diff.replaces:
            self.state = provider.create(news).outs
            self.keys_created.append(self.now)
            return True
        if diff.changes:
            self.state = provider.update("id", self.state, news).outs
        return False

    def wait(self, days: float) -> None:
        self.now += timedelta(days=days)


def test_the_first_rotation_is_n_days_after_the_first_deploy():
    stack = Stack()
    stack.up(every_days=30)

    for _ in range(29):
        stack.wait(1)
        assert not stack.up(every_days=30)
    stack.wait(1)
    assert stack.up(every_days=30)
    assert stack.keys_created == [START, START + timedelta(days=30)]
    assert stack.state["created_at"] == "2025-01-31T09:30:00Z"
    assert stack.state["due_at"] == "2025-03-02T09:30:00Z"


def test_a_late_update_counts_the_next_period_from_the_new_key():
    stack = Stack()
    stack.up(every_days=30)

    stack.wait(45)  # nobody ran `pulumi up` for a while
    assert stack.up(every_days=30)
    stack.wait(29)
    assert not stack.up(every_days=30)
    stack.wait(1)
    assert stack.up(every_days=30)
    assert [b - a for a, b in zip(stack.keys_created, stack.keys_created[1:], strict=False)] == [
        timedelta(days=45),
        timedelta(days=30),
    ]


@pytest.mark.parametrize(
    ("before", "after", "days_so_far", "rotates_now", "then_rotates_after"),
    [
        (90, 30, 10, False, 20),  # shorter: due 30 days after the key, not at once
        (90, 30, 40, True, None),  # shorter and already past: due now
        (30, 90, 20, False, 70),  # longer: the key lives on to day 90
        (90, 91, 0, False, 91),
    ],
)
def test_changing_n_moves_the_due_date_without_rotating_early(
    before, after, days_so_far, rotates_now, then_rotates_after
):
    stack = Stack()
    stack.up(every_days=before)
    stack.wait(days_so_far)

    assert stack.up(every_days=after) is rotates_now
    if then_rotates_after is not None:
        assert stack.state["every_days"] == after
        stack.wait(then_rotates_after - 0.01)
        assert not stack.up(every_days=after)
        stack.wait(0.01)
        assert stack.up(every_days=after)


def test_a_new_token_rotates_at_once_and_restarts_the_period():
    stack = Stack()
    stack.up(every_days=30, token="")
    stack.wait(10)

    assert stack.up(every_days=30, token="2025-01-11T09:30:00Z")
    assert not stack.up(every_days=30, token="2025-01-11T09:30:00Z")
    stack.wait(29)
    assert not stack.up(every_days=30, token="2025-01-11T09:30:00Z")
    stack.wait(1)
    assert stack.up(every_days=30, token="2025-01-11T09:30:00Z")


def test_daily_updates_over_a_year_rotate_every_n_days_exactly():
    stack = Stack()
    stack.up(every_days=7)
    for _ in range(365):
        stack.wait(1)
        stack.up(every_days=7)

    gaps = {b - a for a, b in zip(stack.keys_created, stack.keys_created[1:], strict=False)}
    assert gaps == {timedelta(days=7)}
    assert len(stack.keys_created) == 1 + 365 // 7
