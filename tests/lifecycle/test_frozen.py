"""fast_new builds the same frozen objects as the dataclass constructor, only faster."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from lifecycle_dash.lifecycle import PodCondition, Transition, TransitionKind
from lifecycle_dash.lifecycle.frozen import fast_new
from lifecycle_dash.lifecycle.transitions import TimeSource, freeze_detail

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_fast_new_builds_an_equal_frozen_instance_of_the_class():
    args = (
        "uid-1",
        TransitionKind.PHASE,
        "",
        "Pending",
        "Running",
        AT,
        "k",
        None,
        TimeSource.OBSERVED,
        freeze_detail({"a": 1}),
    )
    fast = fast_new(Transition)(*args)
    slow = Transition(*args)
    assert type(fast) is Transition
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    assert dataclasses.replace(fast, new="Failed").new == "Failed"
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.new = "Failed"  # type: ignore[misc]


def test_fast_new_requires_every_field():
    with pytest.raises(TypeError):
        fast_new(PodCondition)("Ready")


def test_fast_new_falls_back_to_the_class_for_anything_else():
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    assert fast_new(NoSlots) is NoSlots
