"""Values that carry how they were derived: the vocabulary of the lifecycle analyses.

A ``rule`` string starts with its kind of source, then says which field or formula:

``api:``       read from a Kubernetes API field (1 s precision unless a MicroTime)
``event:``     read from a core/v1 Event (node or controller clock)
``observed:``  our receive time of a watch event (our clock)
``estimate:``  inferred by a named rule; bounds in ``earliest``/``latest``
``assumed:``   a fallback the API does not confirm, said so in the rule
``unknown:``   not observable; the rest of the rule says why
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["PRECISION", "Seconds", "TimePoint"]

# Whole-second API timestamps: allow this much in every comparison.
PRECISION = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class TimePoint:
    """An instant and how it was derived.

    ``at`` None means not observable (``rule`` says why). ``estimate`` marks an inferred
    value, which then has ``earliest``/``latest`` bounds (either may be None = unbounded).
    """

    at: datetime | None
    rule: str
    estimate: bool = False
    earliest: datetime | None = None
    latest: datetime | None = None

    @property
    def known(self) -> bool:
        return self.at is not None


@dataclass(frozen=True, slots=True)
class Seconds:
    """A duration in seconds and how it was derived; None = not determinable (see rule)."""

    value: float | None
    rule: str
