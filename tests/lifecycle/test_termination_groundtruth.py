"""The termination analysis against kubesim's ground truth.

kubesim plays pods that ignore SIGTERM, overrun their preStop, or shut down cleanly, and logs
the instants the API never shows (SIGTERM, SIGKILL). Feeding what a watcher would receive
(pods, Events, EndpointSlices, each with its receive time) through snapshot, diff and the
analysis must give the right verdicts, and every estimate's bounds must contain the truth.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from lifecycle_dash.lifecycle.diff import diff
from lifecycle_dash.lifecycle.endpoints import EndpointObservation, diff_endpoint_slices
from lifecycle_dash.lifecycle.events import PodEvent, event_from_raw
from lifecycle_dash.lifecycle.snapshot import PodSnapshot, snapshot_from_pod
from lifecycle_dash.lifecycle.termination import (
    TerminationAnalysis,
    TerminationCause,
    Verdict,
    analyze_termination,
)
from lifecycle_dash.lifecycle.transitions import Transition
from tests.support.scenario_play import play

SLACK = timedelta(seconds=1)  # whole-second API times


@dataclass
class Watched:
    """What a watcher of pods, Events and EndpointSlices would hold afterwards."""

    truth: list[dict[str, Any]]
    end: datetime
    last: dict[str, PodSnapshot] = field(default_factory=dict)
    transitions: dict[str, list[Transition]] = field(default_factory=lambda: defaultdict(list))
    events: dict[str, list[PodEvent]] = field(default_factory=lambda: defaultdict(list))
    endpoints: dict[str, list[EndpointObservation]] = field(
        default_factory=lambda: defaultdict(list)
    )
    uids: dict[str, str] = field(default_factory=dict)

    def analysis(self, name: str) -> TerminationAnalysis:
        uid = self.uids[name]
        result = analyze_termination(
            pod=self.last[uid],
            transitions=self.transitions[uid],
            events=self.events[uid],
            endpoints=self.endpoints[uid],
            now=self.end,
        )
        assert result is not None
        return result

    def instant(self, what: str, pod: str) -> datetime:
        (record,) = [r for r in self.truth if r["what"] == what and r["pod"] == pod]
        return datetime.fromisoformat(record["at"].replace("Z", "+00:00"))


def watch(scenario: str, seconds: float) -> Watched:
    """What a watcher of ``scenario`` received, each change at the instant it was made."""
    played = play(scenario, seconds)
    watched = Watched(truth=list(played.sim.truth.records), end=played.clock.now())
    slices: dict[str, dict[str, Any]] = {}
    for at, change, kind, obj in played.received:
        if kind == "pods":
            snapshot = snapshot_from_pod(obj)
            uid = snapshot.uid
            watched.uids[snapshot.name] = uid
            deleted = change == "DELETED"
            watched.transitions[uid] += diff(
                watched.last.get(uid), snapshot, observed_at=at, deleted=deleted
            )
            watched.last[uid] = snapshot
        elif kind == "events":
            event = event_from_raw(obj)
            watched.events[event.involved_uid].append(event)
        elif kind == "endpointslices":
            key = obj["metadata"]["name"]
            deleted = change == "DELETED"
            for o in diff_endpoint_slices(slices.get(key), obj, observed_at=at, deleted=deleted):
                watched.endpoints[o.pod_uid].append(o)
            slices[key] = obj
    return watched


@pytest.fixture(scope="module")
def sigkill() -> Watched:
    return watch("sigkill", 40)


def test_a_pod_ignoring_sigterm_is_judged_sigkilled_after_its_grace(sigkill):
    analysis = sigkill.analysis("shell-app")

    [app] = analysis.containers
    assert analysis.grace_period.value == 10
    assert app.verdict is Verdict.SIGKILL_AFTER_GRACE
    assert app.pre_stop_overran is False


def test_a_prestop_overrunning_the_grace_is_judged_with_the_extension(sigkill):
    analysis = sigkill.analysis("slow-prestop")

    [app] = analysis.containers
    assert app.verdict is Verdict.SIGKILL_AFTER_GRACE
    assert app.pre_stop_overran is True
    assert "about 2 s before SIGKILL" in app.verdict_sentence


def test_a_graceful_pod_is_a_clean_exit(sigkill):
    [app] = sigkill.analysis("graceful").containers

    assert app.verdict is Verdict.CLEAN_EXIT


@pytest.mark.parametrize("name", ["shell-app", "slow-prestop", "graceful"])
def test_sigterm_bounds_contain_the_true_instant(sigkill, name):
    [app] = sigkill.analysis(name).containers
    truth = sigkill.instant("sigterm", name)

    assert app.sigterm.earliest is not None
    assert app.sigterm.earliest - SLACK <= truth
    assert app.sigterm.latest is not None
    assert truth <= app.sigterm.latest + SLACK


@pytest.mark.parametrize("name", ["shell-app", "slow-prestop"])
def test_the_expected_sigkill_is_the_true_instant_within_a_second(sigkill, name):
    [app] = sigkill.analysis(name).containers
    truth = sigkill.instant("sigkill", name)

    assert app.expected_sigkill.earliest is not None
    assert app.expected_sigkill.latest is not None
    assert app.expected_sigkill.earliest - SLACK <= truth <= app.expected_sigkill.latest + SLACK


@pytest.mark.parametrize("name", ["shell-app", "slow-prestop", "graceful"])
def test_the_deletion_request_is_the_true_start_within_a_second(sigkill, name):
    analysis = sigkill.analysis(name)
    truth = sigkill.instant("termination_start", name)

    assert analysis.deletion_requested.at is not None
    assert abs((analysis.deletion_requested.at - truth).total_seconds()) <= 1


def _names(watched: Watched, what: str, prefix: str = "") -> list[str]:
    return sorted(
        {r["pod"] for r in watched.truth if r["what"] == what and r["pod"].startswith(prefix)}
    )


@pytest.fixture(scope="module")
def prestop() -> Watched:
    return watch("prestop", 60)


def test_a_prestop_sleep_longer_than_endpoint_withdrawal_avoids_the_traffic_race(prestop):
    [name] = _names(prestop, "termination_start", "web-")
    analysis = prestop.analysis(name)

    [web] = analysis.containers
    assert web.verdict is Verdict.CLEAN_EXIT
    assert web.pre_stop_sleep_seconds == 5
    assert analysis.endpoint_terminating.known
    assert analysis.endpoint_withdrawn.known
    assert analysis.traffic_race is False
    truth = prestop.instant("sigterm", name)
    assert web.sigterm.earliest is not None
    assert web.sigterm.latest is not None
    assert web.sigterm.earliest - SLACK <= truth <= web.sigterm.latest + SLACK


def test_a_failed_prestop_widens_the_sigterm_bounds_to_contain_the_truth(prestop):
    [api] = prestop.analysis("drain-fails").containers
    truth = prestop.instant("sigterm", "drain-fails")

    assert api.pre_stop_failed
    assert api.sigterm.at is None
    assert api.sigterm.earliest is not None
    assert api.sigterm.latest is not None
    assert api.sigterm.earliest - SLACK <= truth <= api.sigterm.latest + SLACK


@pytest.mark.parametrize(
    ("scenario", "seconds", "what", "cause"),
    [
        ("eviction", 40, "evicted", TerminationCause.KUBELET_EVICTION),
        ("preemption", 40, "preempted", TerminationCause.SCHEDULER_PREEMPTION),
        ("nodeloss", 120, "taint_eviction", TerminationCause.TAINT_MANAGER),
    ],
)
def test_endings_that_are_not_plain_deletes_are_recognised(scenario, seconds, what, cause):
    watched = watch(scenario, seconds)
    names = _names(watched, what)

    assert names
    for name in names:
        analysis = watched.analysis(name)
        assert analysis.cause is cause, (name, analysis.cause_rule)
        assert analysis.started.known
