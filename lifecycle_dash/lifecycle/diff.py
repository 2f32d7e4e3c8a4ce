"""Diff two snapshots of one pod into typed transitions."""

from __future__ import annotations

from datetime import datetime

from lifecycle_dash.lifecycle.snapshot import PodSnapshot
from lifecycle_dash.lifecycle.transitions import Transition

__all__ = ["diff"]


def diff(
    before: PodSnapshot | None,
    after: PodSnapshot | None,
    *,
    observed_at: datetime,
    deleted: bool = False,
) -> tuple[Transition, ...]:
    raise NotImplementedError
