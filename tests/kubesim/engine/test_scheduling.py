"""The scheduler: binding, Unschedulable with series-aggregated FailedScheduling, delay,
preemption."""

from __future__ import annotations

import pytest

from tests.kubesim.engine.support import Run, condition, kubectl_status, maybe_condition, play


@pytest.fixture(scope="module")
def run() -> Run:
    return play("unschedulable", 40)


def test_a_pod_too_big_for_every_node_stays_pending_unschedulable(run):
    pod = run.pod("unschedulable", "too-big")
    scheduled = condition(pod, "PodScheduled")
    assert scheduled["status"] == "False"
    assert scheduled["reason"] == "Unschedulable"
    assert scheduled["message"].startswith("0/3 nodes are available: 3 Insufficient cpu.")
    assert "nodeName" not in pod["spec"]
    assert kubectl_status(pod, run.clock.now())[0] == "Pending"


def test_failed_scheduling_uses_the_new_events_api_with_a_series(run):
    pod = run.pod("unschedulable", "too-big")
    (event,) = run.events(uid=pod["metadata"]["uid"], reason="FailedScheduling")
    assert event["type"] == "Warning"
    assert event["reportingComponent"] == "default-scheduler"
    assert event["action"] == "Scheduling"
    assert event["eventTime"].endswith("Z")
    assert "." in event["eventTime"]
    assert event["firstTimestamp"] is None
    assert event["source"] == {}
    # The second attempt (after a pod was deleted at 20 s) turned it into a series.
    assert event["series"]["count"] == 2


def test_a_node_selector_nobody_matches_is_reported(run):
    pod = run.pod("unschedulable", "no-ssd")
    message = condition(pod, "PodScheduled")["message"]
    assert "3 node(s) didn't match Pod's node affinity/selector" in message
    assert "Preemption is not helpful for scheduling" in message


def test_scheduling_delay_postpones_the_binding(run):
    history = run.pod_history("unschedulable", "slow-schedule")
    bound = next(o for _, o in history if o["spec"].get("nodeName"))
    scheduled = condition(bound, "PodScheduled")
    assert scheduled["status"] == "True"
    assert run.offset(scheduled["lastTransitionTime"]) >= 4
    (event,) = run.events(uid=bound["metadata"]["uid"], reason="Scheduled")
    node = bound["spec"]["nodeName"]
    assert event["message"] == f"Successfully assigned unschedulable/slow-schedule to {node}"
    assert event["action"] == "Binding"
    assert "series" not in event


def test_preemption_marks_victims_and_binds_the_preemptor():
    run = play("preemption", 40)
    victims = [
        o
        for _, k, o in run.changes
        if k == "pods"
        and o["metadata"]["name"].startswith("low-")
        and (maybe_condition(o, "DisruptionTarget") or {}).get("reason") == "PreemptionByScheduler"
    ]
    names = {v["metadata"]["name"] for v in victims}
    assert len(names) == 2
    for name in names:
        history = run.pod_history("preemption", name)
        assert history[-1][0] == "DELETED"
        (event,) = run.events(uid=history[0][1]["metadata"]["uid"], reason="Preempted")
        assert event["message"].startswith("Preempted by pod ")
        assert event["action"] == "Preempting"
        assert event["related"]["name"] == "critical"
    critical = run.pod("preemption", "critical")
    assert critical["spec"]["nodeName"] == "node-1"
    assert critical["status"]["phase"] == "Running"
    nominated = [
        o
        for _, o in run.pod_history("preemption", "critical")
        if o["status"].get("nominatedNodeName")
    ]
    assert nominated
    assert nominated[0]["status"]["nominatedNodeName"] == "node-1"
