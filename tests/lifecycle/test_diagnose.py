from __future__ import annotations

from typing import Any

from lifecycle_dash.lifecycle.diagnose import (
    DiagnosisId,
    PodEvidence,
    Severity,
    diagnose_workload,
)
from lifecycle_dash.lifecycle.diff import diff
from lifecycle_dash.lifecycle.events import event_from_raw
from lifecycle_dash.lifecycle.snapshot import snapshot_from_pod
from lifecycle_dash.lifecycle.startup import analyze_startup
from lifecycle_dash.lifecycle.termination import analyze_termination
from lifecycle_dash.lifecycle.transitions import Transition, TransitionKind, freeze_detail
from tests.lifecycle import podfactory as f
from tests.lifecycle.test_events import kubelet_event
from tests.lifecycle.test_termination import (
    GRACE,
    NOW,
    REQUESTED,
    deleted_pod,
    deleted_transitions,
    endpoint,
    killing,
)

UID = "3f1e6a52-8c1b-4d7e-9a0f-2b4c6d8e0f11"


def termination(pod, *, events=(), endpoints=()):
    result = analyze_termination(
        pod=pod, transitions=deleted_transitions(), events=events, endpoints=endpoints, now=NOW
    )
    assert result is not None
    return result


def ended(uid: str, *, exit_code: int, finished_s: float, pre_stop=None, endpoints=()):
    """A deleted pod's evidence; the analysis is built for the factory uid then relabelled."""
    analysis = termination(
        deleted_pod(exit_code=exit_code, finished_s=finished_s, pre_stop=pre_stop),
        events=[killing("app", REQUESTED)],
        endpoints=endpoints,
    )
    return PodEvidence(uid, termination=analysis)


def ids(diagnoses):
    return [d.id for d in diagnoses]


def test_every_termination_ending_in_sigkill_means_sigterm_is_ignored():
    pods = [ended(f"pod-{i}", exit_code=137, finished_s=REQUESTED + GRACE) for i in range(3)]

    [finding] = diagnose_workload(owner_kind="Deployment", owner_name="web", pods=pods)

    assert finding.id is DiagnosisId.IGNORES_SIGTERM
    assert finding.severity is Severity.CRITICAL
    assert finding.sentence.startswith("Every termination of Deployment web (3 decided) ends")
    assert "ignores SIGTERM" in finding.sentence
    assert "exec" in finding.next_step.lower()
    assert finding.counts["sigkill_after_grace"] == 3


def test_some_sigkills_are_reported_as_a_fraction_and_unknowns_do_not_count():
    pods = [
        ended("a", exit_code=137, finished_s=REQUESTED + GRACE),
        ended("b", exit_code=0, finished_s=REQUESTED + 2),
        ended("c", exit_code=137, finished_s=REQUESTED + 5),  # unknown: too early
    ]

    [finding] = diagnose_workload(owner_kind="Deployment", owner_name="web", pods=pods)

    assert finding.id is DiagnosisId.IGNORES_SIGTERM
    assert finding.severity is Severity.WARNING
    assert finding.sentence.startswith("1 of 2 decided terminations")
    assert finding.pod_uids == ("a",)


def test_a_prestop_that_outlasts_the_grace_is_its_own_diagnosis():
    pods = [
        ended(f"p{i}", exit_code=137, finished_s=REQUESTED + GRACE + 2, pre_stop=f.sleep_hook(40))
        for i in range(2)
    ]

    [finding] = diagnose_workload(owner_kind="Deployment", owner_name="web", pods=pods)

    assert finding.id is DiagnosisId.PRESTOP_OUTLASTS_GRACE
    assert "about 2 s" in finding.sentence


def test_endpoints_withdrawn_after_sigterm_suggest_a_prestop_sleep():
    racing = [endpoint(10), endpoint(REQUESTED + 1.5, ready=False, terminating=True)]
    pods = [
        ended("a", exit_code=0, finished_s=REQUESTED + 2, endpoints=racing),
        ended("b", exit_code=0, finished_s=REQUESTED + 2),  # race unknown: not judged
    ]

    [finding] = diagnose_workload(owner_kind="Deployment", owner_name="web", pods=pods)

    assert finding.id is DiagnosisId.TRAFFIC_RACE
    assert finding.sentence.startswith("In 1 of 1 terminations")
    assert "preStop sleep" in finding.next_step
    assert finding.pod_uids == ("a",)


def ready_toggle(old: bool, new: bool, at_s: float) -> Transition:
    return Transition(
        pod_uid=UID,
        kind=TransitionKind.POD_READY,
        subject="",
        old=old,
        new=new,
        observed_at=f.at(at_s),
        key=f"{UID}|pod_ready||{at_s}",
    )


def unhealthy(message: str, at_s: float, count: int = 1):
    return event_from_raw(
        kubelet_event(
            "Unhealthy", message, at=f.at(at_s), type_="Warning", count=count, first=f.at(at_s - 60)
        )
    )


def test_a_flapping_readiness_probe_is_found_from_ready_drops():
    transitions = [
        ready_toggle(False, True, 10),
        ready_toggle(True, False, 70),
        ready_toggle(False, True, 90),
        ready_toggle(True, False, 150),
    ]
    events = [unhealthy("Readiness probe failed: HTTP probe failed with statuscode: 503", 150, 6)]
    pod = PodEvidence(
        "a", transitions=transitions, events=events, snapshot=snapshot_from_pod(f.pod())
    )

    [finding] = diagnose_workload(owner_kind="Deployment", owner_name="web", pods=[pod])

    assert finding.id is DiagnosisId.READINESS_FLAPS
    assert finding.counts == {"pods": 1, "ready_drops": 2, "failures": 6}


def test_readiness_failures_while_terminating_are_not_a_flap():
    transitions = [ready_toggle(False, True, 10), ready_toggle(True, False, REQUESTED + 1)]
    events = [unhealthy("Readiness probe failed: connection refused", REQUESTED + 5, 3)]
    analysis = termination(deleted_pod(exit_code=0), events=[killing("app", REQUESTED)])
    pod = PodEvidence("a", termination=analysis, transitions=transitions, events=events)

    assert diagnose_workload(owner_kind="Deployment", owner_name="web", pods=[pod]) == []


def restart(container: str, number: int, exit_code: int, reason: str, at_s: float) -> Transition:
    return Transition(
        pod_uid=UID,
        kind=TransitionKind.CONTAINER_RESTART,
        subject=container,
        old=number - 1,
        new=number,
        observed_at=f.at(at_s),
        key=f"{UID}|container_restart|{container}|restart={number}",
        detail=freeze_detail(
            {"in_gap": False, "last_state": {"exit_code": exit_code, "reason": reason}}
        ),
    )


def test_crash_loops_with_the_same_exit_code_across_pods():
    pods = [
        PodEvidence(
            f"pod-{i}",
            snapshot=snapshot_from_pod(f.crashloop_pod(restarts=4)),
            transitions=[restart("app", n, 1, "Error", 100 + n * 20) for n in range(1, 5)],
        )
        for i in range(2)
    ]

    [finding] = diagnose_workload(owner_kind="Deployment", owner_name="web", pods=pods)

    assert finding.id is DiagnosisId.CRASH_LOOP_SAME_EXIT
    assert "exit code 1 (8 of 8 recorded exits, 2 pods)" in finding.sentence
    assert "kubectl logs --previous" in finding.next_step
    assert finding.counts["exit_code"] == 1


def test_a_crash_loop_is_read_from_last_state_without_transitions():
    pod = PodEvidence("a", snapshot=snapshot_from_pod(f.crashloop_pod(restarts=5)))

    [finding] = diagnose_workload(owner_kind="StatefulSet", owner_name="db", pods=[pod])

    assert finding.id is DiagnosisId.CRASH_LOOP_SAME_EXIT
    assert "StatefulSet db" in finding.sentence


def test_few_restarts_are_not_a_crash_loop():
    pod = PodEvidence("a", snapshot=snapshot_from_pod(f.crashloop_pod(restarts=1)))

    assert diagnose_workload(owner_kind="Deployment", owner_name="web", pods=[pod]) == []


def test_oom_kills_suggest_raising_the_memory_limit():
    oom_restarts = PodEvidence(
        "a",
        snapshot=snapshot_from_pod(f.crashloop_pod(restarts=2)),
        transitions=[
            restart("app", 1, 137, "OOMKilled", 100),
            restart("app", 2, 137, "OOMKilled", 200),
        ],
    )
    oom_on_shutdown = PodEvidence(
        "b",
        termination=termination(
            deleted_pod(exit_code=137, reason="OOMKilled", finished_s=REQUESTED + 3),
            events=[killing("app", REQUESTED)],
        ),
    )

    [finding] = diagnose_workload(
        owner_kind="Deployment", owner_name="web", pods=[oom_restarts, oom_on_shutdown]
    )

    assert finding.id is DiagnosisId.OOM_KILLED
    assert finding.sentence.startswith("Deployment web was OOM-killed 3 times on 2 pods")
    assert "memory limit" in finding.next_step
    assert finding.pod_uids == ("a", "b")


def test_liveness_kills_are_counted_from_killing_events():
    kill = event_from_raw(
        kubelet_event(
            "Killing",
            "Container app failed liveness probe, will be restarted",
            at=f.at(300),
            count=3,
            first=f.at(100),
        )
    )

    [finding] = diagnose_workload(
        owner_kind="Deployment", owner_name="web", pods=[PodEvidence("a", events=[kill])]
    )

    assert finding.id is DiagnosisId.LIVENESS_KILLS
    assert "3 times on 1 pod" in finding.sentence


def test_slow_pulls_and_slow_starts():
    pending = f.pending_unscheduled_pod()
    running = f.pod(container_statuses=[f.running("app", started_at=50)])
    first = snapshot_from_pod(pending)
    last = snapshot_from_pod(running)
    transitions = [
        *diff(None, first, observed_at=f.at(0.1)),
        *diff(first, last, observed_at=f.at(50.5)),
    ]
    events = [
        event_from_raw(
            kubelet_event(
                "Pulling",
                'Pulling image "registry.example.com/team/app:1.4.2"',
                at=f.at(2),
                pod_uid=UID,
            )
        ),
        event_from_raw(
            kubelet_event(
                "Pulled",
                'Successfully pulled image "registry.example.com/team/app:1.4.2" in 40.5s '
                "(41s including waiting). Image size: 912345678 bytes.",
                at=f.at(43),
                pod_uid=UID,
            )
        ),
    ]
    startup = analyze_startup(pod=last, transitions=transitions, events=events)

    findings = diagnose_workload(
        owner_kind="Deployment", owner_name="web", pods=[PodEvidence("a", startup=startup)]
    )

    assert ids(findings) == [DiagnosisId.SLOW_STARTS, DiagnosisId.SLOW_IMAGE_PULLS]
    slow_start, slow_pull = findings
    assert "1 of 1 measured pods" in slow_start.sentence
    assert "slowest 9.5s" in slow_start.sentence
    assert slow_start.severity is Severity.WARNING
    assert "slowest 41.0s for registry.example.com/team/app:1.4.2" in slow_pull.sentence
    assert slow_pull.severity is Severity.INFO


def test_a_healthy_workload_has_no_findings():
    pods = [
        ended(f"p{i}", exit_code=0, finished_s=REQUESTED + 2, pre_stop=f.sleep_hook(5))
        for i in range(3)
    ]

    assert diagnose_workload(owner_kind="Deployment", owner_name="web", pods=pods) == []


def test_findings_are_ordered_by_severity():
    pods = [
        ended(
            "a",
            exit_code=137,
            finished_s=REQUESTED + GRACE,
            endpoints=[endpoint(10), endpoint(REQUESTED + 2, ready=False, terminating=True)],
        ),
        ended("b", exit_code=137, finished_s=REQUESTED + GRACE),
    ]

    findings = diagnose_workload(owner_kind="", owner_name="", pods=pods)

    assert ids(findings) == [DiagnosisId.IGNORES_SIGTERM, DiagnosisId.TRAFFIC_RACE]
    assert "this workload" in findings[0].sentence


def test_findings_and_analyses_serialize_for_storage():
    import orjson

    pods = [ended(f"pod-{i}", exit_code=137, finished_s=REQUESTED + GRACE) for i in range(2)]
    findings = diagnose_workload(owner_kind="Deployment", owner_name="web", pods=pods)

    decoded = orjson.loads(orjson.dumps(findings))
    termination_record = orjson.loads(orjson.dumps(pods[0].termination))

    assert decoded[0]["id"] == "ignores_sigterm"
    assert decoded[0]["counts"] == {"decided_terminations": 2, "sigkill_after_grace": 2}
    assert termination_record["containers"][0]["verdict"] == "sigkill_after_grace"
    assert termination_record["containers"][0]["sigterm"]["rule"].startswith("estimate:")


def _history(states: list[tuple[float, dict[str, Any]]]) -> list[Transition]:
    """Transitions of a pod observed in each of ``states`` (observed second, pod object)."""
    found: list[Transition] = []
    before = None
    for second, raw in states:
        snapshot = snapshot_from_pod(raw)
        found.extend(diff(before, snapshot, observed_at=f.at(second)))
        before = snapshot
    return found


def _read(
    second: float, rv: int, status: dict[str, Any], *, ready: bool, ready_at: float
) -> tuple[float, dict[str, Any]]:
    """The pod as read at ``second``: its app container's status and the Ready condition."""
    conditions = f.standard_conditions(ready=ready, ready_at=ready_at)
    pod = f.pod(resource_version=str(rv), container_statuses=[status], conditions=conditions)
    return second, pod


def _crash_cycle(restarts: int, t: float) -> list[tuple[float, dict[str, Any]]]:
    """One crash of the app container: it exits, backs off, runs again, becomes Ready."""
    last = f.term(1, reason="Error", started=t - 30, finished=t)
    rv = 1000 + restarts * 3
    before = restarts - 1
    exited = f.terminated(
        "app", 1, reason="Error", started_at=t - 30, finished_at=t, restart_count=before
    )
    backoff = f.waiting("app", "CrashLoopBackOff", restart_count=before, last_terminated=last)
    again = f.running("app", started_at=t + 18, restart_count=restarts, last_terminated=last)
    return [
        _read(t + 1, rv, exited, ready=False, ready_at=t),
        _read(t + 5, rv + 1, backoff, ready=False, ready_at=t),
        _read(t + 20, rv + 2, again, ready=True, ready_at=t + 19),
    ]


def test_ready_drops_of_a_crash_loop_are_the_crashes_not_readiness_flaps() -> None:
    states = [(0.0, f.pod(resource_version="1000"))]
    for n in range(1, 5):
        states.extend(_crash_cycle(n, 100.0 * n))
    transitions = _history(states)
    assert sum(1 for t in transitions if t.kind is TransitionKind.POD_READY and t.new is False) == 4
    pod = PodEvidence("a", transitions=transitions, snapshot=snapshot_from_pod(states[-1][1]))

    found = diagnose_workload(owner_kind="Deployment", owner_name="web", pods=[pod])

    assert DiagnosisId.READINESS_FLAPS not in ids(found)
    assert DiagnosisId.CRASH_LOOP_SAME_EXIT in ids(found)


def test_a_restart_between_two_reads_explains_the_ready_drop_seen_with_it() -> None:
    # Running and Ready, then (one read later) running again with one more restart and not
    # Ready yet: the crash happened between the reads, the drop is its doing.
    last = f.term(137, reason="OOMKilled", started=5, finished=95)
    unready = f.running("app", started_at=97, ready=False, restart_count=1, last_terminated=last)
    ready = f.running("app", started_at=97, restart_count=1, last_terminated=last)
    states = [
        (0.0, f.pod(resource_version="1000")),
        _read(100, 1001, unready, ready=False, ready_at=95),
        _read(120, 1002, ready, ready=True, ready_at=110),
        _read(200, 1003, unready, ready=False, ready_at=195),
    ]
    transitions = _history(states)
    pod = PodEvidence("a", transitions=transitions, snapshot=snapshot_from_pod(states[-1][1]))

    all_drops = [t for t in transitions if t.kind is TransitionKind.POD_READY and t.new is False]
    assert len(all_drops) == 2
    found = diagnose_workload(owner_kind="Deployment", owner_name="web", pods=[pod])

    # One drop is the OOM kill's, one is the probe's: below the flap threshold.
    assert DiagnosisId.READINESS_FLAPS not in ids(found)
    assert DiagnosisId.OOM_KILLED in ids(found)
