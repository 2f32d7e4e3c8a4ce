from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from lifecycle_dash.kubesim.clock import SimClock, format_micro_time, format_time, parse_time


def test_simulated_time_runs_speed_times_faster():
    clock = SimClock(speed=100.0, start=datetime(2026, 1, 1, tzinfo=UTC))
    first = clock.now()
    asyncio.run(asyncio.sleep(0.05))
    elapsed = (clock.now() - first).total_seconds()
    assert 4.0 <= elapsed <= 30.0
    assert clock.loop_delay(10.0) == pytest.approx(0.1)


def test_advance_jumps_simulated_time():
    clock = SimClock(speed=1.0, start=datetime(2026, 1, 1, tzinfo=UTC))
    clock.advance(3600)
    assert clock.now() >= datetime(2026, 1, 1, 1, 0, tzinfo=UTC)


def test_timers_fire_after_the_simulated_interval():
    async def scenario() -> list[str]:
        clock = SimClock(speed=50.0)
        fired: list[str] = []
        clock.call_later(1.0, fired.append, "later")
        handle = clock.call_later(1.0, fired.append, "cancelled")
        handle.cancel()
        await asyncio.sleep(0.1)
        return fired

    assert asyncio.run(scenario()) == ["later"]


def test_time_formats_match_metav1():
    moment = datetime(2026, 3, 1, 12, 0, 5, 123_456, tzinfo=UTC)
    assert format_time(moment) == "2026-03-01T12:00:05Z"
    assert format_micro_time(moment) == "2026-03-01T12:00:05.123456Z"
    assert parse_time("2026-03-01T12:00:05Z") == moment.replace(microsecond=0)


def test_naive_start_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(start=datetime(2026, 1, 1))
