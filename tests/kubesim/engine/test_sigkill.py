"""A SIGTERM-ignoring container: the served objects and the ground truth tell the same story."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle_dash.kubesim.clock import format_time, parse_time
from tests.kubesim.engine.support import Run, container_status, kubectl_status, play


@pytest.fixture(scope="module")
def run() -> Run:
    return play("sigkill", 40)


def _terminal(run: Run, name: str) -> dict[str, Any]:
    """The terminal-status write: the last MODIFIED before the final grace-0 delete."""
    history = run.pod_history("sigkill", name)
    terminal = [o for t, o in history if o["status"].get("phase") in ("Succeeded", "Failed")]
    assert terminal, f"{name} never reached a terminal phase"
    return terminal[0]


def _requested_at(pod: dict[str, Any]) -> float:
    meta = pod["metadata"]
    grace = float(meta["deletionGracePeriodSeconds"])
    return parse_time(meta["deletionTimestamp"]).timestamp() - grace


def test_ignored_sigterm_ends_in_sigkill_at_the_end_of_the_grace_period(run):
    pod = _terminal(run, "shell-app")
    terminated = container_status(pod, "app")["state"]["terminated"]
    assert terminated["exitCode"] == 137
    assert terminated["reason"] == "Error"
    assert pod["status"]["phase"] == "Failed"
    finished = parse_time(terminated["finishedAt"]).timestamp()
    # Whole-second timestamps from two writers: equal to the grace within a second.
    assert abs(finished - _requested_at(pod) - 10) <= 1


def test_the_truth_sigkill_instant_is_the_served_finished_at(run):
    pod = _terminal(run, "shell-app")
    (sigkill,) = run.truth("sigkill", "shell-app")
    (sigterm,) = run.truth("sigterm", "shell-app")
    (start,) = run.truth("termination_start", "shell-app")
    assert sigkill["offset"] - start["offset"] == pytest.approx(10)
    assert sigterm["offset"] == pytest.approx(start["offset"])
    finished_at = container_status(pod, "app")["state"]["terminated"]["finishedAt"]
    assert format_time(parse_time(sigkill["at"])) == finished_at
    (exit_,) = run.truth("exit", "shell-app")
    assert exit_["exit_code"] == 137
    assert exit_["offset"] == sigkill["offset"]


def test_prestop_overrunning_the_grace_gets_the_two_second_extension(run):
    pod = _terminal(run, "slow-prestop")
    terminated = container_status(pod, "app")["state"]["terminated"]
    assert terminated["exitCode"] == 137
    finished = parse_time(terminated["finishedAt"]).timestamp()
    assert abs(finished - _requested_at(pod) - 12) <= 1
    (start,) = run.truth("termination_start", "slow-prestop")
    (abandoned,) = run.truth("prestop_abandoned", "slow-prestop")
    (sigterm,) = run.truth("sigterm", "slow-prestop")
    (sigkill,) = run.truth("sigkill", "slow-prestop")
    assert abandoned["offset"] - start["offset"] == pytest.approx(10)
    assert sigterm["offset"] == pytest.approx(abandoned["offset"])
    assert sigkill["offset"] - start["offset"] == pytest.approx(12)
    assert run.truth("prestop_end", "slow-prestop") == []


def test_a_graceful_app_exits_zero_and_the_pod_succeeds(run):
    pod = _terminal(run, "graceful")
    assert container_status(pod, "app")["state"]["terminated"]["exitCode"] == 0
    assert pod["status"]["phase"] == "Succeeded"
    assert run.truth("sigkill", "graceful") == []
    (start,) = run.truth("termination_start", "graceful")
    (exit_,) = run.truth("exit", "graceful")
    assert exit_["offset"] - start["offset"] == pytest.approx(3)


def test_the_pod_is_deleted_only_after_terminal_status_and_a_grace_zero_update(run):
    history = run.pod_history("sigkill", "shell-app")
    types = [t for t, _ in history]
    assert types[-1] == "DELETED"
    before_delete = history[-2][1]
    assert types[-2] == "MODIFIED"
    assert before_delete["metadata"]["deletionGracePeriodSeconds"] == 0
    assert history[-3][1]["status"]["phase"] == "Failed"
    assert history[-3][1]["metadata"]["deletionGracePeriodSeconds"] == 10


def test_killing_is_recorded_before_the_kill_with_the_container_field_path(run):
    pod = _terminal(run, "shell-app")
    (killing,) = run.events(uid=pod["metadata"]["uid"], reason="Killing")
    assert killing["message"] == "Stopping container app"
    assert killing["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert killing["source"] == {"component": "kubelet", "host": pod["spec"]["nodeName"]}
    assert killing["reportingComponent"] == "kubelet"
    assert killing["eventTime"] is None
    assert run.offset(killing["firstTimestamp"]) <= run.offset(
        container_status(pod, "app")["state"]["terminated"]["finishedAt"]
    )


def test_kubectl_shows_terminating_then_the_pod_is_gone(run):
    history = run.pod_history("sigkill", "shell-app")
    marked = next(o for _, o in history if o["metadata"].get("deletionTimestamp"))
    assert kubectl_status(marked, run.clock.now())[0] == "Terminating"
    assert run.store.get("pods", "sigkill", "shell-app") is None
