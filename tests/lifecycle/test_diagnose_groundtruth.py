"""Workload diagnoses and startup analyses over kubesim scenarios (what a watcher receives)."""

from __future__ import annotations

import functools

import pytest

from lifecycle_dash.lifecycle.diagnose import DiagnosisId, PodEvidence, diagnose_workload
from lifecycle_dash.lifecycle.startup import analyze_startup
from lifecycle_dash.lifecycle.termination import analyze_termination
from tests.lifecycle.test_termination_groundtruth import Watched, watch


@functools.cache
def played(scenario: str, seconds: float) -> Watched:
    return watch(scenario, seconds)


def evidence(watched: Watched) -> list[PodEvidence]:
    result = []
    for uid, snapshot in watched.last.items():
        transitions = watched.transitions[uid]
        events = watched.events[uid]
        result.append(
            PodEvidence(
                uid,
                termination=analyze_termination(
                    pod=snapshot,
                    transitions=transitions,
                    events=events,
                    endpoints=watched.endpoints[uid],
                    now=watched.end,
                ),
                startup=analyze_startup(pod=snapshot, transitions=transitions, events=events),
                events=events,
                snapshot=snapshot,
                transitions=transitions,
            )
        )
    return result


@pytest.mark.parametrize(
    ("scenario", "seconds", "expected"),
    [
        ("crashloop", 150, DiagnosisId.CRASH_LOOP_SAME_EXIT),
        ("oom", 60, DiagnosisId.OOM_KILLED),
        ("readiness", 100, DiagnosisId.READINESS_FLAPS),
        ("liveness", 60, DiagnosisId.LIVENESS_KILLS),
    ],
)
def test_each_behaviour_is_diagnosed(scenario, seconds, expected):
    watched = played(scenario, seconds)

    findings = diagnose_workload(owner_kind="", owner_name="", pods=evidence(watched))

    assert expected in [f.id for f in findings], [f.sentence for f in findings]
    finding = next(f for f in findings if f.id is expected)
    assert set(finding.pod_uids) <= set(watched.last)


def test_a_crash_loop_names_its_exit_code():
    watched = played("crashloop", 150)

    findings = diagnose_workload(owner_kind="", owner_name="", pods=evidence(watched))

    [crash] = [f for f in findings if f.id is DiagnosisId.CRASH_LOOP_SAME_EXIT]
    assert crash.counts["exit_code"] == 1


def test_startup_of_simulated_pods_has_every_step_and_a_plausible_sli():
    watched = played("demo", 30)

    measured = 0
    for uid, snapshot in watched.last.items():
        result = analyze_startup(
            pod=snapshot, transitions=watched.transitions[uid], events=watched.events[uid]
        )
        sli = result.api_sli
        if sli.pod_startup_sli.value is None:
            continue
        measured += 1
        assert result.created.known
        assert result.scheduled.known
        assert sli.excluded.value is not None
        assert 0 <= sli.excluded.value <= (sli.pod_startup.value or 0) + 1e-6
        assert -1 <= sli.pod_startup_sli.value <= 30
        if result.watch_sli is not None:
            assert result.watch_sli.run_to_watch.value == 0
    assert measured > 0
