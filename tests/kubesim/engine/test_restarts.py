"""Crashes, OOM kills, liveness kills and postStart failures restart containers in place."""

from __future__ import annotations

import pytest

from tests.kubesim.engine.support import Run, container_status, kubectl_status, play


@pytest.fixture(scope="module")
def crashloop() -> Run:
    return play("crashloop", 200)


def test_crash_loop_back_off_follows_the_kubelet_schedule(crashloop):
    exits = [r["offset"] for r in crashloop.truth("exit", "crasher")]
    restarts = [r["offset"] for r in crashloop.truth("restart", "crasher")]
    waits = [round(r - e, 6) for e, r in zip(exits, restarts, strict=False)]
    # First restart right away (next sync), then 10 s, 20 s, 40 s, 80 s after each exit.
    assert waits[:5] == [1.0, 10.0, 20.0, 40.0, 80.0]


def test_crash_loop_back_off_is_shown_between_restarts(crashloop):
    history = crashloop.pod_history("crashloop", "crasher")
    in_backoff = [
        o
        for _, o in history
        if o["status"].get("containerStatuses")
        and container_status(o, "worker")["state"].get("waiting", {}).get("reason")
        == "CrashLoopBackOff"
    ]
    backoffs = [container_status(o, "worker")["state"]["waiting"] for o in in_backoff]
    assert backoffs[0]["message"].startswith("back-off 10s restarting failed container=worker ")
    assert backoffs[1]["message"].startswith("back-off 20s ")
    pod = in_backoff[0]
    status = container_status(pod, "worker")
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert pod["status"]["phase"] == "Running"
    assert kubectl_status(pod, crashloop.clock.now())[0] == "CrashLoopBackOff"


def test_every_incarnation_has_a_new_container_id(crashloop):
    ids = []
    for _, pod in crashloop.pod_history("crashloop", "crasher"):
        for status in pod["status"].get("containerStatuses") or []:
            if "running" in status["state"] and status["containerID"] not in ids:
                ids.append(status["containerID"])
    restarts = crashloop.truth("restart", "crasher")
    assert len(ids) == len(restarts) + 1
    assert all(i.startswith("containerd://") for i in ids)


def test_back_off_events_are_aggregated_with_a_count(crashloop):
    (backoff,) = crashloop.events(reason="BackOff")
    assert backoff["type"] == "Warning"
    assert backoff["count"] >= 3
    assert backoff["message"].startswith("Back-off restarting failed container worker in pod")
    assert crashloop.offset(backoff["lastTimestamp"]) > crashloop.offset(backoff["firstTimestamp"])


def test_oom_killed_job_pods_fail_with_137():
    run = play("oom", 45)
    pods = run.pods("oom", "nightly-report-")
    assert len(pods) == 2
    for pod in pods:
        terminated = container_status(pod, "report")["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (137, "OOMKilled")
        assert pod["status"]["phase"] == "Failed"
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
        assert pod["metadata"]["labels"]["job-name"] == "nightly-report"
        assert kubectl_status(pod, run.clock.now())[0] == "OOMKilled"
    assert len(run.truth("oom")) == 2


def test_liveness_failures_emit_unhealthy_then_killing_then_restart():
    run = play("liveness", 60)
    pod = run.pod("liveness", "unhealthy")
    uid = pod["metadata"]["uid"]
    (unhealthy,) = run.events(uid=uid, reason="Unhealthy")
    assert unhealthy["count"] >= 3
    assert unhealthy["message"] == "Liveness probe failed: HTTP probe failed with statuscode: 500"
    killing = run.events(uid=uid, reason="Killing")
    assert killing[0]["message"] == "Container app failed liveness probe, will be restarted"
    assert container_status(pod, "app")["restartCount"] >= 1
    last = container_status(pod, "app")["lastState"]["terminated"]
    assert last["exitCode"] == 143
    (kill,) = run.truth("liveness_kill", "unhealthy")[:1]
    (first_start,) = run.truth("start", "unhealthy")
    # Failing from 15 s, probes every 5 s, threshold 3: killed at the third failure.
    assert kill["offset"] - first_start["offset"] == pytest.approx(25)


def test_failed_post_start_hook_kills_and_crash_loops():
    run = play("poststart", 40)
    pod = run.pod("poststart", "hooked")
    uid = pod["metadata"]["uid"]
    assert run.events(uid=uid, reason="FailedPostStartHook")[0]["message"] == "PostStartHook failed"
    killing = run.events(uid=uid, reason="Killing")
    assert killing[0]["message"] == "FailedPostStartHook"
    reasons = [
        o["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("reason")
        for _, o in run.pod_history("poststart", "hooked")
        if o["status"].get("containerStatuses")
    ]
    assert "PostStartHookError" in reasons
    assert "CrashLoopBackOff" in reasons
    assert reasons.index("PostStartHookError") < reasons.index("CrashLoopBackOff")
    started = [
        o["status"]["containerStatuses"][0]["started"]
        for _, o in run.pod_history("poststart", "hooked")
        if o["status"].get("containerStatuses")
    ]
    assert not any(started)
