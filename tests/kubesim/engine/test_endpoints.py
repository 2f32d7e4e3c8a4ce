"""EndpointSlices follow readiness and termination (reference §3.2), with a tunable delay."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kubesim.engine.support import Run, play


@pytest.fixture(scope="module")
def run() -> Run:
    return play("prestop", 45)


def _slices(run: Run) -> list[dict[str, Any]]:
    return [o for _, k, o in run.changes if k == "endpointslices"]


def _victim(run: Run) -> str:
    (start,) = [r for r in run.truth("termination_start") if r["pod"].startswith("web-")]
    return str(start["pod"])


def test_one_slice_per_service_labelled_with_the_service_name(run):
    slices = run.store.list("endpointslices", "prestop")
    assert len(slices) == 1
    meta = slices[0]["metadata"]
    assert meta["labels"]["kubernetes.io/service-name"] == "web"
    assert meta["name"].startswith("web-")
    assert slices[0]["addressType"] == "IPv4"
    assert slices[0]["ports"] == [{"port": 8080, "protocol": "TCP", "name": "http"}]


def test_a_deleted_pod_goes_terminating_then_is_removed(run):
    victim = _victim(run)
    states: list[dict[str, Any] | None] = []
    for obj in _slices(run):
        for endpoint in obj["endpoints"]:
            if endpoint["targetRef"]["name"] == victim:
                states.append(dict(endpoint["conditions"]))
                break
        else:
            if states:
                states.append(None)
    assert {"ready": True, "serving": True, "terminating": False} in states
    terminating = {"ready": False, "serving": True, "terminating": True}
    assert terminating in states
    assert states.index(terminating) < states.index(None)
    assert states[-1] is None


def test_endpoint_withdrawal_lags_by_the_controller_delay_and_prestop_covers_it(run):
    victim = _victim(run)
    (start,) = run.truth("termination_start", victim)
    (terminating,) = run.truth("endpoint_terminating", victim)
    (prestop,) = run.truth("prestop_start", victim)
    (sigterm,) = run.truth("sigterm", victim)
    (removed,) = run.truth("endpoint_removed", victim)
    (exit_,) = run.truth("exit", victim)
    assert terminating["offset"] - start["offset"] == pytest.approx(1.0)
    assert prestop["offset"] == pytest.approx(start["offset"])
    assert sigterm["offset"] - start["offset"] == pytest.approx(5.0)
    assert terminating["offset"] < sigterm["offset"]
    assert exit_["exit_code"] == 0
    assert removed["offset"] > exit_["offset"]


def test_a_failing_prestop_hook_records_failed_pre_stop_hook(run):
    uid = run.truth("termination_start", "drain-fails")[0]["uid"]
    (event,) = run.events(uid=uid, reason="FailedPreStopHook")
    assert event["message"] == "PreStopHook failed"
    assert event["type"] == "Warning"
    (failed,) = run.truth("prestop_failed", "drain-fails")
    (sigterm,) = run.truth("sigterm", "drain-fails")
    assert sigterm["offset"] == pytest.approx(failed["offset"])


def test_readiness_flaps_flip_serving_and_emit_unhealthy():
    run = play("readiness", 80)
    pod = run.pod("readiness", "flappy")
    ready: list[str] = []
    for _, obj in run.pod_history("readiness", "flappy"):
        for cond in obj["status"].get("conditions") or []:
            if cond["type"] == "Ready" and (not ready or ready[-1] != cond["status"]):
                ready.append(cond["status"])
    assert ready[:4] == ["False", "True", "False", "True"]
    (unhealthy,) = run.events(uid=pod["metadata"]["uid"], reason="Unhealthy")
    assert unhealthy["message"].startswith("Readiness probe failed: ")
    assert unhealthy["count"] >= 2
    serving = [
        e["conditions"]["serving"]
        for o in (obj for _, k, obj in run.changes if k == "endpointslices")
        for e in o["endpoints"]
    ]
    assert False in serving
    assert True in serving
    assert run.truth("endpoint_not_serving", "flappy")
