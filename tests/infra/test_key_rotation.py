"""keyRotationDays: the key is replaced N days after it was created, as the engine runs it.

The KeyClock's provider is driven as the engine drives a dynamic provider: `create` on the
first `pulumi up`, then `diff` on every later one, and `create` again (a replacement) when
the diff names `created_at`. Then the whole program, previewed and updated over a stack
that an earlier run deployed (harness.CloudMocks answers the clocks as the engine does):
the preview must plan exactly what the update does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.key_clock import KeyClockProvider, format_moment

from .harness import FIRST_DEPLOY, KEY_CLOCK, Declared, Run, is_unknown

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
        # Never an update: in a preview it would leave the creation time unknown.
        assert diff.changes == bool(diff.replaces)
        if diff.replaces:
            self.state = provider.create(news).outs
            self.keys_created.append(self.now)
            return True
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


def test_a_new_clock_records_when_it_was_created_and_no_due_date():
    outs = KeyClockProvider(clock=lambda: START).create({"every_days": 30, "token": "t"}).outs

    assert outs == {"every_days": 30, "token": "t", "created_at": "2025-01-01T09:30:00Z"}


@given(
    every_days=st.integers(1, 400),
    new_every_days=st.integers(1, 400),
    token=st.sampled_from(["", "2025-02-01T00:00:00Z"]),
    new_token=st.sampled_from(["", "2025-02-01T00:00:00Z"]),
    elapsed=st.timedeltas(timedelta(0), timedelta(days=500)),
)
def test_the_diff_answers_no_change_or_a_replacement_and_replaces_exactly_when_due(
    every_days, new_every_days, token, new_token, elapsed
):
    olds = (
        KeyClockProvider(clock=lambda: START)
        .create({"every_days": every_days, "token": token})
        .outs
    )
    provider = KeyClockProvider(clock=lambda: START + elapsed)

    diff = provider.diff("id", olds, {"every_days": new_every_days, "token": new_token})

    due = new_token != token or elapsed >= timedelta(days=new_every_days)
    assert (diff.changes, diff.replaces) == (due, ["created_at"] if due else [])


def test_daily_updates_over_a_year_rotate_every_n_days_exactly():
    stack = Stack()
    stack.up(every_days=7)
    for _ in range(365):
        stack.wait(1)
        stack.up(every_days=7)

    gaps = {b - a for a, b in zip(stack.keys_created, stack.keys_created[1:], strict=False)}
    assert gaps == {timedelta(days=7)}
    assert len(stack.keys_created) == 1 + 365 // 7


# --- The program, previewed and updated ------------------------------------------------------

# Everything a rotation reaches: the deployer's key and secrets, and readers' tokens, their
# hashes at the edge and their secrets.
STACK = {
    "projectName": "acme",
    "aws:region": "eu-west-1",
    "cdn": "true",
    "access": "private",
    "readers": json.dumps([{"name": "ci", "githubRepository": "acme/app"}, {"name": "laptop"}]),
    "githubRepository": "acme/python-packages",
    "github:token": "ghp_example",
}
CLOCKS = {"deployer-key-clock", "readers-token-clock"}
# What the engine passes on to dynamic providers and never compares itself.
PROVIDER_INPUT = "__provider"


def replaced_by_trigger(before: Declared, after: Declared) -> bool:
    """As the engine decides (pkg/resource/deploy/step_generator.go, shouldTriggerReplace):
    an unknown trigger counts as changed; a missing one never replaces."""
    old, new = before.replacement_trigger, after.replacement_trigger
    if is_unknown(old) or is_unknown(new):
        return True
    return old is not None and new is not None and old != new


def changed_inputs(before: Declared, after: Declared) -> set[str]:
    """The inputs a provider's diff is asked about: those that differ or are not known yet."""
    names = (set(before.inputs) | set(after.inputs)) - {PROVIDER_INPUT}
    return {
        name
        for name in names
        if is_unknown(after.inputs.get(name)) or after.inputs.get(name) != before.inputs.get(name)
    }


def differences(before: Run, after: Run) -> dict[str, set[str]]:
    """Each resource the engine would have to diff, with what differs: its changed inputs,
    and `replacement_trigger` where the trigger alone replaces it."""
    previous = {resource.urn: resource for resource in before.declared}
    found: dict[str, set[str]] = {}
    for resource in after.declared:
        old = previous[resource.urn]
        changed = changed_inputs(old, resource)
        if replaced_by_trigger(old, resource):
            changed.add("replacement_trigger")
        if changed:
            found[resource.name] = changed
    return found


def clock_answers(run: Run) -> dict[str, tuple[bool, list[str]]]:
    """What each key clock's diff answered: (changes, replaced properties)."""
    assert run.mocks is not None
    return {
        name: (bool(diff.changes), list(diff.replaces or []))
        for name, diff in run.mocks.diffs.items()
    }


def clock_ids(run: Run) -> dict[str, str]:
    return {clock.name: clock.id for clock in run.of_type(KEY_CLOCK)}


def key_trigger(run: Run) -> Any:
    return run.one("aws:iam/accessKey:AccessKey").replacement_trigger


@pytest.fixture
def deployed(run_program):
    """The stack as the first `pulumi up` left it, rotating every 90 days."""
    return run_program({**STACK, "keyRotationDays": "90"}, now=FIRST_DEPLOY)


@pytest.mark.parametrize(
    ("days", "day"), [(30, 10), (180, 10), (91, 89)], ids=["shorter", "longer", "a-day-more"]
)
def test_a_preview_of_a_new_rotation_period_replaces_nothing(run_program, deployed, days, day):
    config = {**STACK, "keyRotationDays": str(days)}
    now = FIRST_DEPLOY + timedelta(days=day)

    preview = run_program(config, preview=True, prior=deployed, now=now)

    # Only the clocks' period differs, and nothing that reads their creation time is unknown:
    # their providers answer no change, so the engine keeps their state as it was.
    assert differences(deployed, preview) == {name: {"every_days"} for name in CLOCKS}
    assert key_trigger(preview) == key_trigger(deployed)
    assert clock_answers(preview) == {name: (False, []) for name in CLOCKS}
    due = format_moment(FIRST_DEPLOY + timedelta(days=days))
    assert preview.outputs["accessKeyRotatesAfter"] == due
    # And `pulumi up` does just that.
    up = run_program(config, prior=deployed, now=now)
    assert differences(deployed, up) == differences(deployed, preview)
    assert clock_ids(up) == clock_ids(deployed)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"keyRotationDays": "90"}, id="due"),
        pytest.param({"keyRotationDays": "30"}, id="shortened-past-due"),
        pytest.param({"keyRotationDays": "90", "keyRotation": "2025-02-10T00:00:00Z"}, id="token"),
    ],
)
def test_a_due_rotation_is_previewed_as_the_replacements_the_update_makes(
    run_program, deployed, change
):
    config = {**STACK, **change}
    now = FIRST_DEPLOY + timedelta(days=90 if "keyRotation" not in change else 40)

    preview = run_program(config, preview=True, prior=deployed, now=now)
    up = run_program(config, prior=deployed, now=now)

    assert clock_answers(preview) == {name: (True, ["created_at"]) for name in CLOCKS}
    assert clock_answers(up) == clock_answers(preview)
    # The preview can't know the new creation time; the update records it.
    assert is_unknown(key_trigger(preview))
    assert key_trigger(up) == format_moment(now) != key_trigger(deployed)
    for run in (preview, up):
        changed = differences(deployed, run)
        assert "replacement_trigger" in changed["deployer-access-key"]
        for reader in ("ci", "laptop"):
            assert "keepers" in changed[f"readers-{reader}-token"]


def test_an_unchanged_stack_previews_no_change_at_all(run_program, deployed):
    config = {**STACK, "keyRotationDays": "90"}
    now = FIRST_DEPLOY + timedelta(days=89)

    preview = run_program(config, preview=True, prior=deployed, now=now)

    assert differences(deployed, preview) == {}
    assert not any(is_unknown(r.inputs) for r in preview.declared)


def test_the_key_and_the_reader_tokens_depend_on_their_clocks(deployed):
    clocks = {r.name: r.urn for r in deployed.of_type(KEY_CLOCK)}

    assert clocks["deployer-key-clock"] in deployed.named("deployer-access-key").dependencies
    for reader in ("ci", "laptop"):
        token = deployed.named(f"readers-{reader}-token")
        assert clocks["readers-token-clock"] in token.dependencies
