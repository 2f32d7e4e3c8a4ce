"""Every object the engine writes validates strictly against the newest Kubernetes schema."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle_dash.kubesim.engine import SCENARIOS
from tests.kubesim.engine.support import play, validate

SECONDS = {"demo": 400, "nodeloss": 100, "scale": 5}


@pytest.mark.parametrize("scenario", sorted(set(SCENARIOS) - {"none"}))
def test_every_written_object_is_schema_valid(scenario):
    options: dict[str, Any] = {"pods": 300, "churn": 200} if scenario == "scale" else {}
    run = play(scenario, SECONDS.get(scenario, 60), **options)
    kinds = set()
    for _, kind, obj in run.changes:
        validate(obj)
        kinds.add(kind)
    assert "pods" in kinds
    if scenario not in ("scale", "unschedulable"):
        assert "events" in kinds
