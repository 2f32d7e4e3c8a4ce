"""Engine tests: a played scenario (``tests/support/scenario_play``) with helpers to read it,
schema validation and the kubectl columns."""

from __future__ import annotations

import functools
import importlib
from datetime import datetime
from pathlib import Path
from typing import Any

import kubernetes_validate

from lifecycle_dash.kubesim.clock import parse_time
from tests.support import scenario_play

SCHEMA_VERSION = kubernetes_validate.latest_version()

# kubernetes-validate re-reads and re-parses the schema files on every call (~20 ms); the files
# do not change, so memoize the reader to validate thousands of objects per test run.
_utils: Any = importlib.import_module("kubernetes_validate.utils")
if not hasattr(_utils.schema_contents, "cache_info"):
    _utils.schema_contents = functools.lru_cache(maxsize=None)(_utils.schema_contents)


class Run(scenario_play.Play):
    @property
    def changes(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(event type, kind, object) for every change, in order."""
        return [(t, k, o) for _, t, k, o in self.received]

    @property
    def origin(self) -> datetime:
        return self.sim.timeline.origin

    def pod_history(self, namespace: str, name: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (t, o)
            for t, k, o in self.changes
            if k == "pods"
            and o["metadata"]["namespace"] == namespace
            and o["metadata"]["name"] == name
        ]

    def pod(self, namespace: str, name: str) -> dict[str, Any]:
        pod = self.store.get("pods", namespace, name)
        assert pod is not None, f"{namespace}/{name} is not in the store"
        return pod

    def pods(self, namespace: str, prefix: str = "") -> list[dict[str, Any]]:
        return [
            p
            for p in self.store.list("pods", namespace)
            if p["metadata"]["name"].startswith(prefix)
        ]

    def events(self, *, uid: str | None = None, reason: str | None = None) -> list[dict[str, Any]]:
        """Final state of each Event object ever written (deleted ones included)."""
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for _, kind, obj in self.changes:
            if kind == "events":
                latest[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
        result = list(latest.values())
        if uid is not None:
            result = [e for e in result if e["involvedObject"]["uid"] == uid]
        if reason is not None:
            result = [e for e in result if e["reason"] == reason]
        return result

    def truth(self, what: str | None = None, pod: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.sim.truth.records
            if (what is None or r["what"] == what) and (pod is None or r["pod"] == pod)
        ]

    def offset(self, stamp: str) -> float:
        return (parse_time(stamp) - self.origin).total_seconds()


def play(
    scenario: str,
    seconds: float,
    *,
    seed: int = 1,
    truth_path: Path | None = None,
    **options: Any,
) -> Run:
    """``scenario_play.play``, with the helpers above."""
    played = scenario_play.play(scenario, seconds, seed=seed, truth_path=truth_path, **options)
    return Run(played.sim, played.store, played.clock, played.received)


def validate(obj: dict[str, Any]) -> None:
    kubernetes_validate.validate(obj, SCHEMA_VERSION, strict=True)


def validate_all(run: Run) -> int:
    count = 0
    for _, _, obj in run.changes:
        validate(obj)
        count += 1
    return count


def kubectl_status(pod: dict[str, Any], now: datetime) -> tuple[str, str, str]:
    """(STATUS, READY, RESTARTS) from the product's kubectl rules, once they have landed."""
    import pytest

    try:
        from lifecycle_dash.lifecycle.kubectl import kubectl_columns

        columns = kubectl_columns(pod, now=now)
    except (ImportError, NotImplementedError) as error:
        pytest.skip(f"lifecycle.kubectl_columns not available yet: {error}")
    return columns.status, columns.ready, columns.restarts.split(" ")[0]


def container_status(pod: dict[str, Any], name: str) -> dict[str, Any]:
    status = pod.get("status") or {}
    for entry in [*status.get("initContainerStatuses", []), *status.get("containerStatuses", [])]:
        if entry["name"] == name:
            return dict(entry)
    raise KeyError(name)  # pragma: no cover


def maybe_condition(pod: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for entry in (pod.get("status") or {}).get("conditions") or []:
        if entry["type"] == type_:
            return dict(entry)
    return None


def condition(pod: dict[str, Any], type_: str) -> dict[str, Any]:
    found = maybe_condition(pod, type_)
    assert found is not None, f"no {type_} condition"
    return found
