"""Node loss and kubelet eviction (reference §3.6)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kubesim.engine.support import Run, condition, container_status, kubectl_status, play


@pytest.fixture(scope="module")
def nodeloss() -> Run:
    return play("nodeloss", 110)


def _lost_pods(run: Run) -> list[dict[str, Any]]:
    return [p for p in run.pods("nodeloss") if p["spec"].get("nodeName") == "node-2"]


def test_pods_on_a_lost_node_turn_not_ready_after_the_grace(nodeloss):
    lost = _lost_pods(nodeloss)
    assert len(lost) == 2
    for pod in lost:
        ready = condition(pod, "Ready")
        assert ready["status"] == "False"
        # node lost at 20 s + node-monitor grace 40 s
        assert 59 <= nodeloss.offset(ready["lastTransitionTime"]) <= 61
        assert pod["status"]["phase"] == "Running"
        (event,) = nodeloss.events(uid=pod["metadata"]["uid"], reason="NodeNotReady")
        assert event["message"] == "Node is not ready"
        assert event["source"]["component"] == "node-controller"


def test_the_taint_manager_deletes_them_and_they_stay_terminating_as_unknown(nodeloss):
    for pod in _lost_pods(nodeloss):
        meta = pod["metadata"]
        assert meta.get("deletionTimestamp")
        target = condition(pod, "DisruptionTarget")
        assert target["reason"] == "DeletionByTaintManager"
        assert pod["status"]["reason"] == "NodeLost"
        assert kubectl_status(pod, nodeloss.clock.now())[0] == "Unknown"
        (event,) = nodeloss.events(uid=meta["uid"], reason="TaintManagerEviction")
        assert event["message"] == f"Marking for deletion Pod nodeloss/{meta['name']}"
        # toleration 30 s after NotReady at 60 s
        (truth,) = nodeloss.truth("taint_eviction", meta["name"])
        assert truth["offset"] == pytest.approx(90, abs=0.01)
        # The kubelet is gone: no container ever stops.
        assert "running" in container_status(pod, "api")["state"]
        assert nodeloss.truth("sigterm", meta["name"]) == []


def test_replacements_run_on_the_surviving_node(nodeloss):
    running = [
        p
        for p in nodeloss.pods("nodeloss")
        if p["spec"].get("nodeName") == "node-1" and p["status"].get("phase") == "Running"
    ]
    assert len(running) == 4


def test_kubelet_eviction_fails_the_pod_without_deleting_it():
    run = play("eviction", 40)
    evicted = [p for p in run.pods("eviction") if p["status"].get("reason") == "Evicted"]
    assert len(evicted) == 1
    pod = evicted[0]
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["message"].startswith("The node was low on resource: memory.")
    assert "deletionTimestamp" not in pod["metadata"]
    target = condition(pod, "DisruptionTarget")
    assert target["reason"] == "TerminationByKubelet"
    assert target["status"] == "True"
    terminated = container_status(pod, "cache")["state"]["terminated"]
    assert terminated["exitCode"] in (137, 143)
    (event,) = run.events(uid=pod["metadata"]["uid"], reason="Evicted")
    assert event["type"] == "Warning"
    # kubectl prefers a container's terminated reason over status.reason, so an evicted pod
    # whose container was stopped reads "Error" (as on current clusters), not "Evicted".
    assert kubectl_status(pod, run.clock.now())[0] == "Error"
    running = [p for p in run.pods("eviction") if p["status"].get("phase") == "Running"]
    assert len(running) == 2
